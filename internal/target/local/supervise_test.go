package local

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
)

// events collects what a Target tells Config.OnEvent.
type events struct {
	mu      sync.Mutex
	list    []Event
	changed chan struct{}
}

func (e *events) record(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
	if e.changed != nil {
		close(e.changed)
		e.changed = nil
	}
}

func (e *events) all() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

// waitFor returns the first event that matches, waiting for it.
func (e *events) waitFor(t *testing.T, what string, match func(Event) bool) Event {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		e.mu.Lock()
		for _, ev := range e.list {
			if match(ev) {
				e.mu.Unlock()
				return ev
			}
		}
		if e.changed == nil {
			e.changed = make(chan struct{})
		}
		ch := e.changed
		e.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("no event %s; got %+v", what, e.all())
		}
	}
}

// supervisedHarness is a harness whose restarts come fast.
func supervisedHarness(t *testing.T, mod func(*Config)) (*harness, *events) {
	ev := &events{}
	h := newHarness(t, func(c *Config) {
		c.RestartBackoff = 10 * time.Millisecond
		c.RestartBackoffMax = 40 * time.Millisecond
		c.OnEvent = ev.record
		if mod != nil {
			mod(c)
		}
	})
	return h, ev
}

func isState(release string, st State) func(Event) bool {
	return func(e Event) bool { return e.ReleaseID == release && e.State == st }
}

func TestReleaseExitingAfterHealthyIsRestarted(t *testing.T) {
	t.Parallel()
	h, ev := supervisedHarness(t, nil)
	rel := serverRelease(t, production, "api", "one")
	rel.ServiceRef = "svc_api"
	h.deploy(rel)
	ev.waitFor(t, "running", isState("one", StateRunning))
	host := rel.Hosts[0]
	firstPID := h.current(production, "api").proc().pid

	_, _, _ = h.get(host, "/crash?code=3") // the answer may be lost with the process

	got := ev.waitFor(t, "restarting", isState("one", StateRestarting))
	if got.Restart == nil || got.Restart.ExitCode != 3 || got.Restart.HealthCheck {
		t.Fatalf("restart = %+v, want exit code 3", got.Restart)
	}
	if !slices.ContainsFunc(got.Restart.LastLines, func(l string) bool { return strings.Contains(l, "crashing with 3") }) {
		t.Errorf("last lines %q lack the release's last output", got.Restart.LastLines)
	}
	if got.Restarts != 1 || got.ServiceRef != "svc_api" || got.Service != "api" {
		t.Errorf("event = %+v, want restart 1 of api (svc_api)", got)
	}
	// Running again: a new process serves.
	ev.waitFor(t, "running again", func(e Event) bool { return e.ReleaseID == "one" && e.State == StateRunning && e.Restarts == 1 })
	h.expectBody(host, "one")
	if pid := h.current(production, "api").proc().pid; pid == firstPID {
		t.Errorf("still process %d after the restart", pid)
	}
	// The service's log has the crash, each line stamped.
	b, err := os.ReadFile(h.tg.LogPath(production, "api"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		stamp, _, _ := strings.Cut(line, " ")
		if _, err := time.Parse(time.RFC3339, stamp); err != nil {
			t.Errorf("log line %q does not start with a time: %v", line, err)
		}
	}
	if !strings.Contains(string(b), "crashing with 3") {
		t.Errorf("log lacks the crash:\n%s", b)
	}
}

func TestReleaseFailingItsHealthCheckIsRestarted(t *testing.T) {
	t.Parallel()
	h, ev := supervisedHarness(t, func(c *Config) { c.HealthFailures = 2 })
	rel := serverRelease(t, production, "api", "one")
	health := filepath.Join(t.TempDir(), "health")
	if err := os.WriteFile(health, []byte("200"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel.Env = append(rel.Env, "HEALTH_FILE="+health)
	rel.Service.HealthCheckIntervalSecs = 1
	h.deploy(rel)
	firstPID := h.current(production, "api").proc().pid

	if err := os.WriteFile(health, []byte("500"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := ev.waitFor(t, "restarting", isState("one", StateRestarting))
	if got.Restart == nil || !got.Restart.HealthCheck || got.Restart.ExitCode != -1 ||
		!strings.Contains(got.Restart.Reason, "health check GET /health failed 2 times in a row (last: 500)") {
		t.Fatalf("restart = %+v, want a failed health check", got.Restart)
	}
	// Healthy again, so the new process comes up.
	if err := os.WriteFile(health, []byte("200"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, "running again", func(e Event) bool { return e.ReleaseID == "one" && e.State == StateRunning && e.Restarts == 1 })
	h.expectBody(rel.Hosts[0], "one")
	if pid := h.current(production, "api").proc().pid; pid == firstPID {
		t.Errorf("still process %d after the restart", pid)
	}
	expectGroupGone(t, firstPID, "the unhealthy process")
}

func TestReleaseCrashingRepeatedlyEndsCrashed(t *testing.T) {
	t.Parallel()
	h, ev := supervisedHarness(t, func(c *Config) { c.MaxRestarts = 2 })
	// Healthy once; every later start fails at once.
	rel := shellRelease(t, production, "api", config.TypeWeb,
		`if [ -e started ]; then echo "boom: no database"; exit 7; fi; touch started; exec '`+serverBin+`'`)
	h.deploy(rel)
	host := rel.Hosts[0]
	_, _, _ = h.get(host, "/crash?code=1")

	crashed := ev.waitFor(t, "crashed", isState(rel.ID, StateCrashed))
	if r := crashed.Restart; r == nil || r.ExitCode != 7 || r.State != StateCrashed ||
		!slices.Contains(r.LastLines, "boom: no database") {
		t.Errorf("crash = %+v, want exit code 7 and its output", crashed.Restart)
	}
	var restarting []int
	for _, e := range ev.all() {
		if e.State == StateRestarting {
			restarting = append(restarting, e.Restart.ExitCode)
		}
	}
	if !slices.Equal(restarting, []int{1, 7}) {
		t.Errorf("restarts with exit codes %v, want [1 7]", restarting)
	}

	status, body := h.mustGet(host, "/")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "has crashed") {
		t.Errorf("proxy answered %d %q, want 503 with the crashed page", status, body)
	}

	// A new deployment replaces it.
	fixed := serverRelease(t, production, "api", "fixed")
	h.deploy(fixed)
	h.expectBody(host, "fixed")
	ev.waitFor(t, "the new release running", isState("fixed", StateRunning))
}

func TestStopByLiftoffIsNotACrash(t *testing.T) {
	t.Parallel()
	h, ev := supervisedHarness(t, nil)
	h.deploy(serverRelease(t, production, "api", "one", "ON_TERM=exit"))
	h.deploy(serverRelease(t, production, "api", "two", "ON_TERM=exit"))
	h.deploy(serverRelease(t, preview12, "api", "pr", "ON_TERM=exit"))
	if err := h.tg.StopInstance(context.Background(), preview12); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.tg.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ev.all() {
		got = append(got, e.ReleaseID+" "+string(e.State))
	}
	slices.Sort(got)
	want := []string{"one running", "pr running", "pr stopped", "two running", "two stopped"}
	if !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}
