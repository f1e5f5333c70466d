package local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/procgroup"
	"github.com/liftoffhq/liftoff/internal/target"
)

// serverBin is testdata/server, built once by TestMain.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "liftoff-local-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "server")
	build := exec.Command("go", "build", "-o", serverBin, "./testdata/server")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build testdata/server:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if leaked := leakedGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines of the package still running after the tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines returns the stacks of goroutines started by this
// package that outlive every test (each test closes its Target), after
// giving them a moment to finish.
func leakedGoroutines() string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "internal/target/local.") && !strings.Contains(g, "local.TestMain") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var (
	production = target.Instance{ProjectID: "p1", EnvironmentID: 1, EnvGivenID: "production"}
	preview12  = target.Instance{ProjectID: "p1", EnvironmentID: 2, EnvGivenID: "preview", PRNumber: 12}
)

// hostsOf are the host names the engine gives a service of the first
// project deployed there: the short one, then the one with the project's
// slug ("shop").
func hostsOf(inst target.Instance, service string) []string {
	short, long := target.HostNames(inst, service, "shop")
	return []string{short, long}
}

// harness is a Target with its proxy served on a test server.
type harness struct {
	t      *testing.T
	tg     *Target
	dir    string
	proxy  *httptest.Server
	client *http.Client
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	var logs lockedBuffer
	cfg := Config{
		Dir:          t.TempDir(),
		ProxyAddr:    "127.0.0.1:8000",
		StopGrace:    10 * time.Second,
		DrainTimeout: 20 * time.Second,
		WorkerGrace:  300 * time.Millisecond,
		StopTimeout:  30 * time.Second,
		Log:          slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	tg, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, tg: tg, dir: cfg.Dir}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := tg.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("target log:\n%s", logs.String())
		}
	})
	h.proxy = httptest.NewServer(tg.Handler())
	t.Cleanup(h.proxy.Close) // runs before Close above
	h.client = &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		Timeout:   30 * time.Second,
	}
	t.Cleanup(h.client.CloseIdleConnections)
	return h
}

// get sends GET path to the proxy with the Host header host.
func (h *harness) get(host, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, h.proxy.URL+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (h *harness) mustGet(host, path string) (int, string) {
	h.t.Helper()
	status, body, err := h.get(host, path)
	if err != nil {
		h.t.Fatalf("GET %s%s: %v", host, path, err)
	}
	return status, body
}

// expectBody fails unless GET host/ answers 200 with body.
func (h *harness) expectBody(host, body string) {
	h.t.Helper()
	status, got := h.mustGet(host, "/")
	if status != http.StatusOK || got != body {
		h.t.Fatalf("GET %s/: %d %q, want 200 %q", host, status, got, body)
	}
}

func (h *harness) deploy(rel target.Release) {
	h.t.Helper()
	if err := h.tg.Deploy(context.Background(), rel); err != nil {
		h.t.Fatalf("Deploy %s: %v\noutput:\n%s", rel.ID, err, rel.Log)
	}
}

// current returns the serving release of a service (nil if none).
func (h *harness) current(inst target.Instance, service string) *release {
	h.tg.mu.Lock()
	s := h.tg.slots[keyOf(inst, service)]
	h.tg.mu.Unlock()
	if s == nil {
		return nil
	}
	s.lock <- struct{}{}
	defer s.unlock()
	return s.current
}

// serverRelease is a web release of testdata/server answering body on /.
// env adds to its environment; PGID_FILE is set to a file in its Dir.
func serverRelease(t *testing.T, inst target.Instance, service, body string, env ...string) target.Release {
	t.Helper()
	dir := t.TempDir()
	return target.Release{
		ID:       body,
		Instance: inst,
		Hosts:    hostsOf(inst, service),
		Service: config.Service{
			ID:                     service,
			Type:                   config.TypeWeb,
			StartCommand:           config.Shell("'" + serverBin + "'"),
			HealthCheckPath:        "/health",
			HealthCheckTimeoutSecs: 20,
		},
		Dir: dir,
		Env: append([]string{
			"PATH=" + os.Getenv("PATH"),
			"BODY=" + body,
			"PGID_FILE=" + filepath.Join(dir, "pgid"),
		}, env...),
		Log: &lockedBuffer{},
	}
}

// shellRelease is a release of any type running command.
func shellRelease(t *testing.T, inst target.Instance, service, typ, command string) target.Release {
	t.Helper()
	return target.Release{
		ID:       service + "-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		Instance: inst,
		Hosts:    hostsOf(inst, service),
		Service: config.Service{
			ID:                     service,
			Type:                   typ,
			StartCommand:           config.Shell(command),
			HealthCheckPath:        "/health",
			HealthCheckTimeoutSecs: 20,
		},
		Dir: t.TempDir(),
		Env: []string{"PATH=" + os.Getenv("PATH")},
		Log: &lockedBuffer{},
	}
}

// pgidOf reads the process group id a release wrote to file.
func pgidOf(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pgid <= 1 {
		t.Fatalf("%s: bad pgid %q", file, b)
	}
	return pgid
}

func releasePGID(t *testing.T, rel target.Release) int {
	t.Helper()
	return pgidOf(t, filepath.Join(rel.Dir, "pgid"))
}

func expectGroupGone(t *testing.T, pgid int, what string) {
	t.Helper()
	if m := procgroup.Members(pgid); len(m) > 0 {
		t.Errorf("%s: process group %d still has live processes %v", what, pgid, m)
	}
}

func expectGroupAlive(t *testing.T, pgid int, what string) {
	t.Helper()
	if len(procgroup.Members(pgid)) == 0 {
		t.Errorf("%s: process group %d is gone", what, pgid)
	}
}

// lockedBuffer is a concurrency-safe log that can be waited on.
type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor blocks until the log contains s.
func (l *lockedBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), s) {
			l.mu.Unlock()
			return
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("log never contained %q; it has:\n%s", s, l.String())
		}
	}
}

// eventually retries cond until it holds, for things no signal announces.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// proc is the process of a release's current instance.
func (r *release) proc() *process {
	inst, _ := r.run.current()
	return inst.(*process)
}
