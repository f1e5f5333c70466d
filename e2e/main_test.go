// Package e2e runs the real liftoff binary against real git repositories and
// real databases, over real HTTP.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// binary is the liftoff binary built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "liftoff-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "liftoff")
	build := exec.Command("go", "build", "-o", binary, "../cmd/liftoff")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build liftoff:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// instance is one running `liftoff serve`.
type instance struct {
	t        *testing.T
	cmd      *exec.Cmd
	addr     string
	logs     *logLines
	exited   chan error
	exitOnce sync.Once
}

// logLines keeps every log line the server wrote.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// storeFlags points a command at the dialect's store for this test.
func storeFlags(t *testing.T, dialect, dataDir string) []string {
	if dialect == "postgres" {
		return []string{"--data-dir", dataDir, "--database-url", storetest.DatabaseURL(t)}
	}
	return []string{"--data-dir", dataDir}
}

// start runs `liftoff serve` with the flags and waits until it listens.
func start(t *testing.T, flags []string, logs *logLines) *instance {
	t.Helper()
	in := &instance{t: t, logs: logs, exited: make(chan error, 1)}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0", "--log-format", "json"}, flags...)
	in.cmd = exec.Command(binary, args...)
	in.cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	stderr, err := in.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logs.add(line)
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "listening" {
				listening <- rec["addr"].(string)
			}
		}
		in.exited <- in.cmd.Wait()
	}()
	t.Cleanup(func() { in.kill() })
	select {
	case in.addr = <-listening:
	case err := <-in.exited:
		t.Fatalf("liftoff serve exited before listening: %v\n%s", err, strings.Join(logs.all(), "\n"))
	case <-time.After(60 * time.Second):
		t.Fatalf("liftoff serve did not listen within 60s\n%s", strings.Join(logs.all(), "\n"))
	}
	return in
}

func (in *instance) url() string { return "http://" + in.addr }

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() error {
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	return in.wait()
}

// kill sends SIGKILL: a crash.
func (in *instance) kill() {
	_ = in.cmd.Process.Signal(syscall.SIGKILL)
	_ = in.wait()
}

func (in *instance) wait() error {
	var err error
	in.exitOnce.Do(func() {
		select {
		case err = <-in.exited:
		case <-time.After(60 * time.Second):
			err = fmt.Errorf("liftoff did not exit within 60s")
		}
	})
	return err
}

// liftoffCLI runs a liftoff CLI command and returns its stdout.
func liftoffCLI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("liftoff %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

// bootstrapKey creates an API key on the store directly, as a newcomer does.
func bootstrapKey(t *testing.T, flags []string) string {
	t.Helper()
	var k struct{ ID, Name, Key string }
	out := liftoffCLI(t, append([]string{"apikeys", "create", "--name", "e2e", "--json"}, flags...)...)
	if err := json.Unmarshal([]byte(out), &k); err != nil || !strings.HasPrefix(k.Key, "lfk_") {
		t.Fatalf("apikeys create printed %q: %v", out, err)
	}
	return k.Key
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
