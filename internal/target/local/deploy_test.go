package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/lifecycle"
	"github.com/liftoffhq/liftoff/internal/target"
)

func TestDeployWebServesThroughProxy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rel := serverRelease(t, production, "api", "v1")
	h.deploy(rel)

	h.expectBody("api.production.localhost", "v1")
	h.expectBody("API.Production.LOCALHOST:8000", "v1")

	if got, want := h.tg.Domain(rel.Service, rel.Hosts), "http://api.production.localhost:8000"; got != want {
		t.Errorf("Domain = %q, want %q", got, want)
	}

	_, headers := h.mustGet("api.production.localhost:8000", "/headers")
	for _, want := range []string{
		"Host=api.production.localhost:8000\n",
		"X-Forwarded-Host=api.production.localhost:8000\n",
		"X-Forwarded-Proto=http\n",
		"X-Forwarded-For=127.0.0.1\n",
	} {
		if !strings.Contains(headers, want) {
			t.Errorf("backend saw headers\n%s\nwant %q", headers, want)
		}
	}

	cur := h.current(production, "api")
	_, port := h.mustGet("api.production.localhost", "/env?name=PORT")
	if port != strconv.Itoa(cur.run.port()) {
		t.Errorf("PORT = %q, want %d", port, cur.run.port())
	}
	if _, id := h.mustGet("api.production.localhost", "/env?name=LIFTOFF_RELEASE_ID"); id != "v1" {
		t.Errorf("LIFTOFF_RELEASE_ID = %q, want v1", id)
	}

	// Output goes to the deployment's log until healthy, and to the
	// service's log file always.
	if out := rel.Log.(*lockedBuffer).String(); !strings.Contains(out, "listening on 127.0.0.1:") {
		t.Errorf("deployment log misses the release's output:\n%s", out)
	}
	logFile, err := os.ReadFile(h.tg.LogPath(production, "api"))
	if err != nil || !strings.Contains(string(logFile), "listening on 127.0.0.1:") {
		t.Errorf("service log file (%v):\n%s", err, logFile)
	}

	// The process group is recorded for Cleanup.
	rec, err := readRecord(filepath.Join(h.dir, "procs", strconv.Itoa(cur.proc().pid)+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Release != "v1" || rec.Service != "api" || rec.Instance != "production" || rec.StartTime == 0 {
		t.Errorf("state file = %+v", rec)
	}
}

func TestRedeploySwitchesAndStopsTheOldRelease(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// The shell stays as the group's leader, with the server its child.
	v1 := serverRelease(t, production, "api", "v1")
	v1.Service.StartCommand.Line += "; echo unreachable"
	h.deploy(v1)
	h.expectBody("api.production.localhost", "v1")
	pg1 := releasePGID(t, v1)

	v2 := serverRelease(t, production, "api", "v2")
	h.deploy(v2)
	h.expectBody("api.production.localhost", "v2")
	expectGroupGone(t, pg1, "v1 after the redeploy")
	expectGroupAlive(t, releasePGID(t, v2), "v2")

	if _, err := os.Stat(filepath.Join(h.dir, "procs", strconv.Itoa(pg1)+".json")); !os.IsNotExist(err) {
		t.Errorf("state file of v1 is still there (%v)", err)
	}
}

func TestFailedHealthCheckKeepsTheOldRelease(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.deploy(serverRelease(t, production, "api", "v1"))

	v2 := serverRelease(t, production, "api", "v2", "HEALTH_STATUS=503")
	v2.Service.HealthCheckTimeoutSecs = 1
	err := h.tg.Deploy(context.Background(), v2)
	want := "health check GET /health did not answer 200-399 within 1s (last: 503"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Deploy = %v, want an error containing %q", err, want)
	}
	h.expectBody("api.production.localhost", "v1")
	expectGroupGone(t, releasePGID(t, v2), "the failed release")
}

func TestStartCommandExitingFailsAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rel := shellRelease(t, production, "api", config.TypeWeb, "echo boom >&2; exit 3")
	rel.Service.HealthCheckTimeoutSecs = 120
	start := time.Now()
	err := h.tg.Deploy(context.Background(), rel)
	if err == nil || !strings.Contains(err.Error(), "start command exited with status 3") {
		t.Fatalf("Deploy = %v, want the exit status", err)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("Deploy took %s: it must not wait for the health check timeout", d)
	}
	if out := rel.Log.(*lockedBuffer).String(); !strings.Contains(out, "boom") {
		t.Errorf("deployment log misses the output:\n%s", out)
	}
	if status, _ := h.mustGet("api.production.localhost", "/"); status != http.StatusNotFound {
		t.Errorf("proxy answers %d for a service that never started, want 404", status)
	}
}

func TestHealthCheckTimeoutWithoutListener(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rel := shellRelease(t, production, "api", config.TypeWeb, "echo $$ > pgid; exec sleep 60")
	rel.Service.HealthCheckTimeoutSecs = 1
	// Its configured port refuses connections whoever runs beside the test.
	rel.Service.Port = refusingPort(t)
	err := h.tg.Deploy(context.Background(), rel)
	given := givenPort(t, rel)
	want := "health check GET /health did not answer 200-399 within 1s (last: connection refused): " +
		"the service must listen on $PORT (given " + given + ")"
	if err == nil || err.Error() != want {
		t.Fatalf("Deploy = %v, want %q", err, want)
	}
	expectGroupGone(t, pgidOf(t, filepath.Join(rel.Dir, "pgid")), "the release that timed out")
}

// TestHealthCheckNamesTheConfiguredPort: an app that listens on the port of
// its config rather than on $PORT is told so.
func TestHealthCheckNamesTheConfiguredPort(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// What answers on the configured port: the app, as far as the check
	// can tell.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	configured := ln.Addr().(*net.TCPAddr).Port
	rel := shellRelease(t, production, "api", config.TypeWeb, "exec sleep 60")
	rel.Service.HealthCheckTimeoutSecs = 1
	rel.Service.Port = configured
	err = h.tg.Deploy(context.Background(), rel)
	want := fmt.Sprintf("health check GET /health did not answer 200-399 within 1s (last: connection refused): "+
		"something answers on port %d: the service must listen on $PORT (given %s), not on its configured port", configured, givenPort(t, rel))
	if err == nil || err.Error() != want {
		t.Fatalf("Deploy = %v, want %q", err, want)
	}
}

// givenPort is the PORT the local target gave a release, from the line it
// wrote before starting it.
func givenPort(t *testing.T, rel target.Release) string {
	t.Helper()
	m := regexp.MustCompile(`\(PORT=(\d+)\)`).FindStringSubmatch(rel.Log.(*lockedBuffer).String())
	if m == nil {
		t.Fatalf("the release's log does not say its PORT:\n%s", rel.Log.(*lockedBuffer).String())
	}
	return m[1]
}

// refusingPort returns a loopback port that refuses connections until the
// test ends: a socket bound to it that never listens, so that no other
// process can listen there meanwhile.
func refusingPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

func TestWorker(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, command, wantErr string
	}{
		{"keeps running", "echo $$ > pgid; exec sleep 60", ""},
		{"exits", "echo $$ > pgid; exit 4", "worker exited with status 4 within 300ms of its start"},
		{"exits with 0", "echo $$ > pgid; true", "worker exited with status 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			rel := shellRelease(t, production, "jobs", config.TypeWorker, tc.command)
			err := h.tg.Deploy(context.Background(), rel)
			pgid := pgidOf(t, filepath.Join(rel.Dir, "pgid"))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Deploy: %v", err)
				}
				expectGroupAlive(t, pgid, "the worker")
				if err := h.tg.StopInstance(context.Background(), production); err != nil {
					t.Fatal(err)
				}
				expectGroupGone(t, pgid, "the stopped worker")
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Deploy = %v, want %q", err, tc.wantErr)
			}
			expectGroupGone(t, pgid, "the failed worker")
		})
	}
}

func TestWebPrivateRunsButIsNotRouted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rel := serverRelease(t, production, "internal", "private")
	rel.Service.Type = config.TypeWebPrivate
	h.deploy(rel)
	if d := h.tg.Domain(rel.Service, rel.Hosts); d != "" {
		t.Errorf("Domain = %q, want none", d)
	}
	if status, _ := h.mustGet("internal.production.localhost", "/"); status != http.StatusNotFound {
		t.Errorf("proxy answers %d for a private service, want 404", status)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(h.current(production, "internal").run.port()) + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the private service answers %d on its port", resp.StatusCode)
	}
}

func TestCancelDuringStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.deploy(serverRelease(t, production, "api", "v1"))

	rel := shellRelease(t, production, "api", config.TypeWeb, "echo $$ > pgid; echo started; exec sleep 60")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- h.tg.Deploy(ctx, rel) }()
	rel.Log.(*lockedBuffer).waitFor(t, "\nstarted\n")
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Deploy = %v, want context.Canceled", err)
	}
	expectGroupGone(t, pgidOf(t, filepath.Join(rel.Dir, "pgid")), "the cancelled release")
	h.expectBody("api.production.localhost", "v1")
}

func TestStopInstance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	prod := serverRelease(t, production, "api", "prod")
	api := serverRelease(t, preview12, "api", "pr12")
	worker := shellRelease(t, preview12, "jobs", config.TypeWorker, "echo $$ > pgid; exec sleep 60")
	for _, rel := range []target.Release{prod, api, worker} {
		h.deploy(rel)
	}
	if got, want := h.tg.Domain(api.Service, api.Hosts), "http://api.pr-12.preview.localhost:8000"; got != want {
		t.Errorf("Domain = %q, want %q", got, want)
	}
	h.expectBody("api.pr-12.preview.localhost", "pr12")

	if err := h.tg.StopInstance(context.Background(), preview12); err != nil {
		t.Fatal(err)
	}
	if status, _ := h.mustGet("api.pr-12.preview.localhost", "/"); status != http.StatusNotFound {
		t.Errorf("a stopped instance answers %d, want 404", status)
	}
	expectGroupGone(t, releasePGID(t, api), "api of the stopped instance")
	expectGroupGone(t, pgidOf(t, filepath.Join(worker.Dir, "pgid")), "worker of the stopped instance")
	h.expectBody("api.production.localhost", "prod")

	// The instance can be deployed again.
	h.deploy(serverRelease(t, preview12, "api", "pr12-again"))
	h.expectBody("api.pr-12.preview.localhost", "pr12-again")
}

func TestStopKillsWhatIgnoresSIGTERM(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.StopGrace = 300 * time.Millisecond })
	rel := shellRelease(t, production, "stubborn", config.TypeWorker, "trap '' TERM; echo $$ > pgid; exec sleep 60")
	h.deploy(rel)
	pgid := pgidOf(t, filepath.Join(rel.Dir, "pgid"))
	if err := h.tg.StopInstance(context.Background(), production); err != nil {
		t.Fatal(err)
	}
	expectGroupGone(t, pgid, "a release that ignores SIGTERM")
}

func TestStopDuringStartCancelsIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rel := shellRelease(t, preview12, "api", config.TypeWeb, "echo $$ > pgid; echo started; exec sleep 60")
	errc := make(chan error, 1)
	go func() { errc <- h.tg.Deploy(context.Background(), rel) }()
	rel.Log.(*lockedBuffer).waitFor(t, "\nstarted\n")
	if err := h.tg.StopInstance(context.Background(), preview12); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "instance pr-12.preview is being stopped") {
		t.Fatalf("Deploy = %v, want it cancelled by Stop", err)
	}
	expectGroupGone(t, pgidOf(t, filepath.Join(rel.Dir, "pgid")), "the cancelled release")
}

func TestRestore(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	good := serverRelease(t, production, "api", "restored")
	bad := shellRelease(t, production, "broken", config.TypeWeb, "exit 1")
	worker := shellRelease(t, preview12, "jobs", config.TypeWorker, "exec sleep 60")
	err := h.tg.Restore(context.Background(), []target.Release{good, bad, worker})
	if err == nil || !strings.Contains(err.Error(), "restore broken of production: start command exited with status 1") {
		t.Fatalf("Restore = %v, want the failure of broken", err)
	}
	if strings.Contains(err.Error(), "api") || strings.Contains(err.Error(), "jobs") {
		t.Errorf("Restore reports releases that started: %v", err)
	}
	h.expectBody("api.production.localhost", "restored")
	if cur := h.current(preview12, "jobs"); cur == nil || !cur.proc().running() {
		t.Error("the worker was not restored")
	}
}

func TestCloseStopsEverything(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	api := serverRelease(t, production, "api", "v1")
	worker := shellRelease(t, preview12, "jobs", config.TypeWorker, "echo $$ > pgid; exec sleep 60")
	h.deploy(api)
	h.deploy(worker)
	if err := h.tg.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectGroupGone(t, releasePGID(t, api), "api after Close")
	expectGroupGone(t, pgidOf(t, filepath.Join(worker.Dir, "pgid")), "worker after Close")
	if err := h.tg.Deploy(context.Background(), serverRelease(t, production, "api", "v2")); !errors.Is(err, ErrClosed) {
		t.Errorf("Deploy after Close = %v, want ErrClosed", err)
	}
	entries, _ := os.ReadDir(filepath.Join(h.dir, "procs"))
	if len(entries) != 0 {
		t.Errorf("state files left after Close: %v", entries)
	}
}

// TestCrashedReleaseAnswers503: a release killed under the proxy is
// restarting (after the default backoff of a second), and the proxy says
// so rather than a bare 502.
func TestCrashedReleaseAnswers503(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rel := serverRelease(t, production, "api", "v1")
	h.deploy(rel)
	pgid := releasePGID(t, rel)
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-h.current(production, "api").proc().done
	status, body := h.mustGet("api.production.localhost", "/")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"api.production.localhost" is restarting`) {
		t.Errorf("GET = %d %q, want 503 saying the service restarts", status, body)
	}
}

func TestDeployRejectsWhatCannotRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, tc := range []struct {
		name string
		svc  config.Service
		want string
	}{
		{"no start command", config.Service{ID: "api", Type: config.TypeWeb}, "service api has no startCommand"},
		{"unknown type", config.Service{ID: "db", Type: "rds"}, `service db: type "rds" does not run on the local target`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := h.tg.Deploy(context.Background(), target.Release{ID: "x", Instance: production, Service: tc.svc, Dir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Deploy = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDomain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		proxyAddr string
		inst      target.Instance
		svc       config.Service
		want      string
	}{
		{"127.0.0.1:8000", production, config.Service{ID: "api", Type: config.TypeWeb}, "http://api.production.localhost:8000"},
		{"127.0.0.1:8000", preview12, config.Service{ID: "site", Type: config.TypeStatic}, "http://site.pr-12.preview.localhost:8000"},
		{"127.0.0.1:8000", production, config.Service{ID: "jobs", Type: config.TypeWorker}, ""},
		{"127.0.0.1:8000", production, config.Service{ID: "int", Type: config.TypeWebPrivate}, ""},
		{":80", production, config.Service{ID: "api", Type: config.TypeWeb}, "http://api.production.localhost"},
		{"", production, config.Service{ID: "api", Type: config.TypeWeb}, "http://api.production.localhost"},
	} {
		tg, err := New(Config{Dir: t.TempDir(), ProxyAddr: tc.proxyAddr, StopTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if got := tg.Domain(tc.svc, hostsOf(tc.inst, tc.svc.ID)); got != tc.want {
			t.Errorf("ProxyAddr %q: Domain(%s, %s) = %q, want %q", tc.proxyAddr, tc.inst.Key(), tc.svc.ID, got, tc.want)
		}
	}
	tg, err := New(Config{Dir: t.TempDir(), ProxyAddr: "127.0.0.1:8000", StopTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := tg.Domain(config.Service{ID: "api", Type: config.TypeWeb}, nil); got != "" {
		t.Errorf("Domain without host names = %q, want none", got)
	}
	if _, err := New(Config{Dir: t.TempDir(), ProxyAddr: "8000", StopTimeout: time.Minute}); err == nil {
		t.Error("New accepts ProxyAddr without a host part")
	}
	if _, err := New(Config{StopTimeout: time.Minute}); err == nil {
		t.Error("New accepts an empty Dir")
	}
	if _, err := New(Config{Dir: t.TempDir()}); err == nil {
		t.Error("New accepts no StopTimeout")
	}
}

// TestLifecycle: the target keeps the lifecycle contract, and its Stop
// is Close within StopTimeout.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"stop before start", func(t *testing.T, h *harness) {
			h.tg.Stop()
			h.tg.Stop()
			if err := h.tg.Start(t.Context()); !errors.Is(err, lifecycle.ErrStopped) {
				t.Errorf("Start after Stop = %v, want ErrStopped", err)
			}
		}},
		{"start twice", func(t *testing.T, h *harness) {
			if err := h.tg.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := h.tg.Start(t.Context()); !errors.Is(err, lifecycle.ErrStarted) {
				t.Errorf("second Start = %v, want ErrStarted", err)
			}
			h.tg.Stop()
		}},
		{"start after close", func(t *testing.T, h *harness) {
			if err := h.tg.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := h.tg.Start(t.Context()); !errors.Is(err, lifecycle.ErrStopped) {
				t.Errorf("Start after Close = %v, want ErrStopped", err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newHarness(t, nil))
		})
	}
	t.Run("stop cut short by StopTimeout", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *Config) { c.StopGrace, c.StopTimeout = time.Minute, 200*time.Millisecond })
		rel := shellRelease(t, production, "stubborn", config.TypeWorker, "trap '' TERM; echo $$ > pgid; exec sleep 60")
		h.deploy(rel)
		if err := h.tg.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		h.tg.Stop()
		expectGroupGone(t, pgidOf(t, filepath.Join(rel.Dir, "pgid")), "a release after a Stop cut short")
		if err := h.tg.Deploy(t.Context(), rel); !errors.Is(err, ErrClosed) {
			t.Errorf("Deploy after Stop = %v, want ErrClosed", err)
		}
	})
}

func TestCloseCutShortKillsAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.StopGrace = time.Minute })
	rel := shellRelease(t, production, "stubborn", config.TypeWorker, "trap '' TERM; echo $$ > pgid; exec sleep 60")
	h.deploy(rel)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := h.tg.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "cut short") {
		t.Errorf("Close = %v, want it cut short by the deadline", err)
	}
	expectGroupGone(t, pgidOf(t, filepath.Join(rel.Dir, "pgid")), "a release of a Close cut short")
}
