package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/target"
)

// State is where a service's serving release stands on this node.
type State string

const (
	// StateRunning: its instance is up (and, for web and web-private,
	// answers its health check).
	StateRunning State = "running"
	// StateRestarting: its instance ended (it exited, or failed its health
	// check HealthFailures times in a row) and is being started again,
	// after a backoff.
	StateRestarting State = "restarting"
	// StateCrashed: it was restarted MaxRestarts times in a row without
	// staying healthy for StableAfter; it stays down until the next
	// deployment of the service replaces it.
	StateCrashed State = "crashed"
	// StateStopped: Liftoff stopped it (a preview torn down, Liftoff
	// shutting down).
	StateStopped State = "stopped"
)

// Restart is one end of a release's instance that was not Liftoff's doing,
// and what the supervisor did about it (State: restarting, or crashed
// when it gave up).
type Restart struct {
	At time.Time
	// HealthCheck: it stopped answering its health check and Liftoff
	// stopped it; otherwise it exited on its own (or did not come up again
	// after a restart).
	HealthCheck bool
	// ExitCode is its exit status; -1 when a signal killed it, when
	// Liftoff stopped it after a failed health check, or when it is
	// unknown.
	ExitCode int
	// Reason says what happened, for people.
	Reason string
	// LastLines are the last lines it printed (at most tailLines), scrubbed
	// of secrets like the rest of its output.
	LastLines []string
	// State is the state it left the release in.
	State State
}

// Event tells Config.OnEvent that a service's state changed on this node.
type Event struct {
	ReleaseID  string
	Instance   target.Instance
	Service    string // the service's id in the config
	ServiceRef string // target.Release.ServiceRef
	State      State
	// Restarts counts the restarts of this release so far.
	Restarts int
	// Restart is set when the change is a restart (or the crash that ends
	// them).
	Restart *Restart
	At      time.Time
}

// supervised is the running side of a process release: its current
// instance, which the supervisor replaces when it ends, and its state.
type supervised struct {
	logf *logFile // the service's log, where restarted instances write

	mu       sync.Mutex
	inst     instance
	out      *output
	state    State
	restarts int
	cancel   context.CancelFunc // ends supervision; nil before it started
	done     chan struct{}      // closed when supervision ended
}

func newSupervised(inst instance, out *output, logf *logFile) *supervised {
	return &supervised{logf: logf, inst: inst, out: out, state: StateRunning}
}

func (s *supervised) current() (instance, *output) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inst, s.out
}

// port is where the proxy sends requests: the current instance's.
func (s *supervised) port() int {
	inst, _ := s.current()
	return inst.Port()
}

// State is the release's state; a web release not running gets the
// proxy's 503 page.
func (s *supervised) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// up reports whether the release is running and its instance has not
// ended (which its supervisor may not have noticed yet).
func (s *supervised) up() bool {
	inst, _ := s.current()
	select {
	case <-inst.Exited():
		return false
	default:
		return s.State() == StateRunning
	}
}

func (s *supervised) set(st State, restarted bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = st
	if restarted {
		s.restarts++
	}
	return s.restarts
}

// endSupervision stops the supervisor and waits for it: what happens to
// the instance afterwards is Liftoff's doing, not a crash.
func (s *supervised) endSupervision() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// stop stops the current instance; see instance.Stop.
func (s *supervised) stop(ctx context.Context) (hurried bool) {
	inst, _ := s.current()
	_, hurried = inst.Stop(ctx)
	return hurried
}

// supervise starts the supervisor of r, a release that was just made the
// serving one; retire ends it.
func (t *Target) supervise(r *release) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r.run.mu.Lock()
	r.run.cancel, r.run.done = cancel, done
	r.run.mu.Unlock()
	go func() {
		defer close(done)
		t.superviseLoop(ctx, r)
	}()
}

// superviseLoop restarts r's instance whenever it ends on its own or fails
// its health check HealthFailures times in a row, after a backoff
// (RestartBackoff doubling up to RestartBackoffMax; back to the start once
// an instance stayed healthy StableAfter). After MaxRestarts restarts in a
// row that did not stay healthy that long, the release is crashed.
func (t *Target) superviseLoop(ctx context.Context, r *release) {
	failures := 0
	healthySince := time.Now()
	for {
		rs, ended := t.watch(ctx, r)
		if !ended {
			return
		}
		if time.Since(healthySince) >= t.cfg.StableAfter {
			failures = 0
		}
		for {
			failures++
			log := t.log.With("service", r.rel.Service.ID+"."+r.rel.Instance.Key(), "release", r.rel.ID)
			if failures > t.cfg.MaxRestarts {
				rs.State = StateCrashed
				n := r.run.set(StateCrashed, false)
				log.Error("local target: release crashed: it stays down until the next deployment",
					"reason", rs.Reason, "restarts", n)
				t.emit(r, StateCrashed, new(rs))
				return
			}
			delay := t.backoff(failures)
			rs.State = StateRestarting
			n := r.run.set(StateRestarting, true)
			log.Warn("local target: restarting release", "reason", rs.Reason, "restart", n, "in", delay)
			t.emit(r, StateRestarting, new(rs))
			timer := time.NewTimer(delay)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return
			}
			var healthy bool
			rs, healthy = t.relaunch(ctx, r)
			if ctx.Err() != nil {
				return
			}
			if healthy {
				break
			}
		}
		healthySince = time.Now()
		r.run.set(StateRunning, false)
		t.emit(r, StateRunning, nil)
	}
}

// backoff is the wait before the n-th restart in a row.
func (t *Target) backoff(n int) time.Duration {
	d := t.cfg.RestartBackoff
	for i := 1; i < n && d < t.cfg.RestartBackoffMax; i++ {
		d *= 2
	}
	return min(d, t.cfg.RestartBackoffMax)
}

// watch waits until r's current instance ends on its own or fails its
// health check HealthFailures times in a row (then it stops it), and says
// what happened. It returns false when ctx ended first.
func (t *Target) watch(ctx context.Context, r *release) (Restart, bool) {
	inst, out := r.run.current()
	svc := r.rel.Service
	var tick <-chan time.Time
	var client *http.Client
	path := svc.HealthCheckPath
	if path == "" {
		path = config.DefaultHealthCheckPath
	}
	interval := healthIntervalOf(svc)
	if svc.Type == config.TypeWeb || svc.Type == config.TypeWebPrivate {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		tick = ticker.C
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return Restart{}, false
		case <-inst.Exited():
			if ctx.Err() != nil {
				return Restart{}, false
			}
			exit, _ := inst.Stop(t.life) // reaps it, and ends what it started
			return Restart{At: time.Now().UTC(), ExitCode: exit.Code, Reason: exit.Text, LastLines: out.tail.lines()}, true
		case <-tick:
			u := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(inst.Port())) + path
			pctx, cancel := context.WithTimeout(ctx, min(healthAttemptTimeout, interval))
			status, err := probe(pctx, client, u)
			cancel()
			if ctx.Err() != nil {
				return Restart{}, false
			}
			if err == nil && status >= 200 && status <= 399 {
				failed = 0
				continue
			}
			failed++
			if failed < t.cfg.HealthFailures {
				continue
			}
			last := strconv.Itoa(status)
			if err != nil {
				last = describeProbeError(err)
			}
			inst.Stop(t.life)
			return Restart{At: time.Now().UTC(), HealthCheck: true, ExitCode: -1,
				Reason:    fmt.Sprintf("health check GET %s failed %d times in a row (last: %s)", path, failed, last),
				LastLines: out.tail.lines()}, true
		}
	}
}

// healthIntervalOf is the pause between health checks of a healthy release.
func healthIntervalOf(svc config.Service) time.Duration {
	secs := svc.HealthCheckIntervalSecs
	if secs <= 0 {
		secs = config.DefaultHealthCheckIntervalSecs
	}
	return time.Duration(secs) * time.Second
}

// relaunch starts a new instance of r and waits until it is healthy, as a
// deploy does; then it serves. Otherwise it says why it did not come up.
func (t *Target) relaunch(ctx context.Context, r *release) (Restart, bool) {
	out := newOutput(r.run.logf, nil, r.rel.Scrub)
	inst, err := t.launch(r.rel, out)
	if err != nil {
		out.finish()
		return Restart{At: time.Now().UTC(), ExitCode: -1, Reason: err.Error()}, false
	}
	err = t.waitHealthy(ctx, r.rel, inst)
	if err == nil {
		r.run.mu.Lock()
		r.run.inst, r.run.out = inst, out
		r.run.mu.Unlock()
		return Restart{}, true
	}
	exit, _ := inst.Stop(t.life)
	rs := Restart{At: time.Now().UTC(), ExitCode: -1, Reason: "after a restart: " + err.Error(), LastLines: out.tail.lines()}
	if errors.Is(err, errExited) {
		rs.ExitCode = exit.Code
		rs.Reason = exit.Text + " before it was healthy again"
	}
	return rs, false
}

// emit tells Config.OnEvent about a change of r's state.
func (t *Target) emit(r *release, st State, rs *Restart) {
	if t.cfg.OnEvent == nil {
		return
	}
	n := 0
	if r.run != nil {
		r.run.mu.Lock()
		n = r.run.restarts
		r.run.mu.Unlock()
	}
	t.cfg.OnEvent(Event{ReleaseID: r.rel.ID, Instance: r.rel.Instance, Service: r.rel.Service.ID, ServiceRef: r.rel.ServiceRef,
		State: st, Restarts: n, Restart: rs, At: time.Now().UTC()})
}
