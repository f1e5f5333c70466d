package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/server"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// testConfig has one environment with one service, and a preview
// environment.
const testConfig = `{
  "environments": [
    {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
      {"id": "api", "name": "API", "type": "web", "startCommand": "./api"}
    ]},
    {"id": "preview", "name": "Preview", "source": {"pr": true}, "services": [
      {"id": "api", "name": "API", "type": "web", "startCommand": "./api"}
    ]}
  ]
}`

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

// running is a server started with server.Run, as liftoff serve runs it.
type running struct {
	base  string // http://<api address>
	proxy string // <proxy address>
	logs  *syncBuffer
	stop  func()
}

// baseConfig is a server on free ports, with no engine, on a fresh store of
// the dialect, allowing repositories in the temporary directory (where
// gittest makes them; the default policy refuses them).
func baseConfig(t *testing.T, dialect string) server.Config {
	t.Helper()
	cfg := server.Config{Addr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", DataDir: t.TempDir(), Workers: -1,
		AllowedRepos: []string{filepath.Join(os.TempDir(), "**")}}
	if dialect == "postgres" {
		cfg.DatabaseURL = storetest.DatabaseURL(t)
	}
	return cfg
}

// start runs a server until the test ends (or stop is called).
func start(t *testing.T, cfg server.Config) *running {
	t.Helper()
	r := &running{logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(r.logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan server.Ready, 1)
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg, log, func(rd server.Ready) { ready <- rd }) }()
	select {
	case rd := <-ready:
		r.base, r.proxy = "http://"+rd.Addr, rd.ProxyAddr
	case err := <-done:
		cancel()
		t.Fatalf("server stopped: %v\n%s", err, r.logs)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server: %v", err)
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// fixture is what setUp made: an API key, a project, and a hook of its
// production environment.
type fixture struct {
	key     string
	secret  string // the production hook's
	hookID  string
	env     int64 // production
	preview int64
	project string
	repo    *gittest.Repo // the project's
}

// setUp creates an API key on the store of cfg, then a project and a hook
// through a server started with cfg's store and default timeouts, which is
// stopped before setUp returns.
func setUp(t *testing.T, cfg server.Config) fixture {
	t.Helper()
	ctx := context.Background()
	st, err := server.OpenStore(ctx, cfg.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := apikey.NewService(st, cuid.New).Create(ctx, apikey.CreateParams{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	plain := cfg
	plain.ReadTimeout, plain.WriteTimeout, plain.IdleTimeout, plain.ReadHeaderTimeout = 0, 0, 0, 0
	srv := start(t, plain)
	defer srv.stop()
	repo := gittest.New(t)
	repo.Commit("init", map[string]string{"liftoff.json": testConfig, "api/main.go": "package main"})
	c := client.New(srv.base, key)
	p, err := c.CreateProject(ctx, "shop", repo.Dir, "")
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{key: key, project: p.ProjectID, repo: repo}
	for _, e := range p.Environments {
		switch e.GivenID {
		case "production":
			f.env = e.EnvironmentID
		case "preview":
			f.preview = e.EnvironmentID
		}
	}
	h, err := c.CreateHook(ctx, f.env, "CI")
	if err != nil {
		t.Fatal(err)
	}
	f.secret, f.hookID = h.Secret, h.ID
	return f
}

// raw sends a request over a new connection with its method and path
// exactly as written: no cleaning, no re-escaping, no redirect followed.
func raw(t *testing.T, method, base, path string, header http.Header) (int, http.Header, string) {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, path, host)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func hookPath(env int64, secret string) string {
	return fmt.Sprintf("/api/deploy-hook/%d/%s", env, secret)
}

func bearer(key string) http.Header { return http.Header{"Authorization": {"Bearer " + key}} }
