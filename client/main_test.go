package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/server"
)

// What the examples talk to, set once by TestMain before any runs: a real
// Liftoff server with one project, an admin API key, and a deploy hook of
// each of its environments.
var (
	liftoffURL    string // e.g. http://127.0.0.1:8080
	apiKey        string // an admin API key
	environmentID int64  // production's
	hookURL       string // production's deploy hook
	// The staging environment's hook, which only ExampleCallHook calls:
	// the deployment it starts runs on while the other examples deploy
	// production.
	stagingHookURL, stagingHookSecret string
)

// exampleConfig is the project's liftoff.json: a static site in two
// environments, built in a second.
const exampleConfig = `{"environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
    {"id": "site", "name": "Site", "type": "static", "buildCommand": "mkdir -p public && cp index.html public/", "outputDirectory": "public"}
  ]},
  {"id": "staging", "name": "Staging", "source": {"branch": "main"}, "services": [
    {"id": "site", "name": "Site", "type": "static", "buildCommand": "mkdir -p public && cp index.html public/", "outputDirectory": "public"}
  ]}
]}`

// TestMain starts a Liftoff server (server.Run, as liftoff serve runs it)
// on a temporary data directory with SQLite, for the examples, and stops
// it after them.
func TestMain(m *testing.M) {
	os.Exit(runExamples(m))
}

func runExamples(m *testing.M) int {
	dir, err := os.MkdirTemp("", "liftoff-client-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	var logs syncBuffer
	stop, err := startServer(dir, &logs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "start the examples' server: %v\n%s", err, logs.String())
		return 1
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop the examples' server: %v\n", err)
		code = 1
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "the examples' server logged:\n%s", logs.String())
	}
	return code
}

// startServer runs a server with its data in dir, makes the project, the
// key and the hooks the examples use, and returns how to stop it.
func startServer(dir string, logs *syncBuffer) (stop func() error, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	repo := filepath.Join(dir, "repo")
	if err := makeRepo(repo, map[string]string{"liftoff.json": exampleConfig, "index.html": "<h1>Hello</h1>\n"}); err != nil {
		return nil, err
	}
	cfg := server.Config{Addr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"),
		Sandbox: "none", AllowedRepos: []string{repo}}
	st, err := server.OpenStore(ctx, cfg.WithDefaults())
	if err != nil {
		return nil, err
	}
	_, apiKey, err = apikey.NewService(st, cuid.New).Create(ctx, apikey.CreateParams{Name: "examples"})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}

	runCtx, stopRun := context.WithCancel(context.Background())
	ready := make(chan server.Ready, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(runCtx, cfg, slog.New(slog.NewTextHandler(logs, nil)), func(r server.Ready) { ready <- r })
	}()
	stop = func() error {
		stopRun()
		return <-done
	}
	select {
	case r := <-ready:
		liftoffURL = "http://" + r.Addr
	case err := <-done:
		stopRun()
		return nil, fmt.Errorf("the server stopped: %w", err)
	case <-ctx.Done():
		return nil, errors.Join(errors.New("the server did not start in a minute"), stop())
	}

	c := client.New(liftoffURL, apiKey)
	p, err := c.CreateProject(ctx, "shop", repo, "")
	if err != nil {
		return nil, errors.Join(err, stop())
	}
	for _, e := range p.Environments {
		h, err := c.CreateHook(ctx, e.EnvironmentID, "CI")
		if err != nil {
			return nil, errors.Join(err, stop())
		}
		switch e.GivenID {
		case "production":
			environmentID, hookURL = e.EnvironmentID, h.URL
		case "staging":
			stagingHookURL, stagingHookSecret = h.URL, h.Secret
		}
	}
	return stop, nil
}

// makeRepo makes a git repository in dir with one commit of files on
// main, with the git binary (as internal/gittest does for a testing.TB).
func makeRepo(dir string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"config", "user.name", "Liftoff Example"},
		{"config", "user.email", "example@liftoff.invalid"},
		{"config", "commit.gpgsign", "false"},
		{"add", "-A"},
		{"commit", "-q", "-m", "init"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// syncBuffer is the server's log, written from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
