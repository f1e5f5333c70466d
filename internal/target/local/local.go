package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liftoffhq/liftoff/internal/clientaddr"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/lifecycle"
	"github.com/liftoffhq/liftoff/internal/procgroup"
	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/target"
)

// Defaults of Config.
const (
	DefaultStopGrace    = 10 * time.Second
	DefaultDrainTimeout = 30 * time.Second
	DefaultWorkerGrace  = 3 * time.Second

	DefaultRestartBackoff    = time.Second
	DefaultRestartBackoffMax = time.Minute
	DefaultStableAfter       = time.Minute
	DefaultMaxRestarts       = 10
	DefaultHealthFailures    = 3
)

// ErrClosed is returned by Deploy once Close has been called.
var ErrClosed = errors.New("the local target is shutting down")

// Config configures the local target. Zero fields get the documented
// defaults, but StopTimeout, which is required.
type Config struct {
	// Dir holds the runtime state: procs/ (a state file per running
	// process group, for Cleanup) and logs/ (each service's output,
	// <service>.<instance key>.log, capped at 10 MiB plus one rotated
	// file). Required; created if missing.
	Dir string
	// ProxyAddr is the host:port the proxy (Handler) is served on, such as
	// 127.0.0.1:8000. Only Domain uses it, for the port of the URLs it
	// returns. Empty: the URLs carry no port.
	ProxyAddr string
	// HTTPSAddr is the host:port the proxy is also served on with TLS
	// (liftoff serve --https-addr); Domain then gives custom domains'
	// URLs as https. Empty: HTTPS is off.
	HTTPSAddr string
	// PrepareHosts, if set, is called before a release takes traffic at
	// its hosts (Release.Hosts): HTTPS obtains their certificates there.
	// Its error goes to the release's log; the release goes on.
	PrepareHosts func(ctx context.Context, hosts []string) error
	// StopGrace is how long a stopped release's processes have between
	// SIGTERM and SIGKILL. Default 10s.
	StopGrace time.Duration
	// DrainTimeout bounds the wait for the requests in flight to a
	// replaced or stopped release before its processes are signalled.
	// Default 30s.
	DrainTimeout time.Duration
	// WorkerGrace is how long a worker must keep running after its start
	// to count as healthy. Default 3s.
	WorkerGrace time.Duration
	// StopTimeout bounds Stop: past it the releases still stopping get
	// SIGKILL at once. Required (liftoff serve --shutdown-timeout, whose
	// default server.Config gives).
	StopTimeout time.Duration
	// Log receives the target's own events (never a release's output).
	// Default: discarded.
	Log *slog.Logger
	// Sandbox runs the releases' start commands, each with its
	// Release.Root and Release.Home. Default nil: unsandboxed, as
	// Liftoff's user.
	Sandbox *sandbox.Sandbox
	// RestartBackoff is the wait before restarting a release whose
	// instance ended; it doubles with each restart in a row, up to
	// RestartBackoffMax. Default 1s.
	RestartBackoff time.Duration
	// RestartBackoffMax caps the wait between restarts. Default 1m.
	RestartBackoffMax time.Duration
	// StableAfter is how long a restarted release must stay up for its
	// restarts to count from zero again. Default 1m.
	StableAfter time.Duration
	// MaxRestarts is how many restarts in a row that did not stay up
	// StableAfter a release gets; at the next end it is crashed and stays
	// down until the next deployment. Default 10.
	MaxRestarts int
	// HealthFailures is how many health checks in a row a healthy web or
	// web-private release may fail (one every healthCheckIntervalSecs)
	// before it is restarted. Default 3.
	HealthFailures int
	// OnEvent, if set, is told every change of a service's state: a
	// release serving, restarting, crashed or stopped, with the record of
	// each restart. It is called synchronously, one call at a time per
	// service; it should return promptly.
	OnEvent func(Event)
	// Containers runs the releases that have an image (Release.Image):
	// Docker builds and prebuilt images. Nil: such a release fails to
	// start, saying that no container CLI is configured.
	Containers *container.CLI
	// Clients decides, for the X-Forwarded-* and X-Real-IP headers the
	// proxy sends to releases, whether a request's own forwarding headers
	// come from a trusted proxy. Default (nil): they never do.
	Clients *clientaddr.Resolver
}

// Target runs releases as processes on the Liftoff host and serves them
// through Liftoff's proxy (Handler). It is safe for concurrent use.
type Target struct {
	cfg         Config
	log         *slog.Logger
	portSuffix  string // ":8000" in Domain's URLs, or ""
	httpsSuffix string // ":8443" in Domain's https URLs, or ""; see https
	https       bool
	bootID      string
	routes      router

	// life ends when a Close runs out of time; replaced releases are
	// retired under it, so that Close hurries them too.
	life    context.Context
	endLife context.CancelFunc

	// stopOnce makes Stop, the lifecycle's, close the target once;
	// started says whether Start was called (see package lifecycle).
	stopOnce sync.Once
	started  lifecycle.Guard

	mu     sync.Mutex
	closed bool
	slots  map[slotKey]*slot
	procs  map[int]bool // process groups of this Target, which Cleanup leaves alone
	// seq tells apart the containers of one release (each restart is one).
	seq atomic.Int64
	// runtimeID labels this Target's containers (runtimeIDOf its Dir).
	runtimeID string
	// serving is the release each web and web-private service's internal
	// port forwards to (see internal.go). Guarded by mu.
	serving  map[slotKey]*supervised
	internal internalEndpoints
}

var (
	_ target.Target     = (*Target)(nil)
	_ lifecycle.Service = (*Target)(nil)
)

// New checks cfg, applies its defaults and creates its directories.
func New(cfg Config) (*Target, error) {
	if cfg.Dir == "" {
		return nil, errors.New("local target: Config.Dir is required")
	}
	if cfg.StopTimeout <= 0 {
		return nil, fmt.Errorf("local target: Config.StopTimeout %s must be positive", cfg.StopTimeout)
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.WorkerGrace <= 0 {
		cfg.WorkerGrace = DefaultWorkerGrace
	}
	if cfg.RestartBackoff <= 0 {
		cfg.RestartBackoff = DefaultRestartBackoff
	}
	if cfg.RestartBackoffMax <= 0 {
		cfg.RestartBackoffMax = DefaultRestartBackoffMax
	}
	if cfg.StableAfter <= 0 {
		cfg.StableAfter = DefaultStableAfter
	}
	if cfg.MaxRestarts <= 0 {
		cfg.MaxRestarts = DefaultMaxRestarts
	}
	if cfg.HealthFailures <= 0 {
		cfg.HealthFailures = DefaultHealthFailures
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	t := &Target{
		cfg:       cfg,
		log:       cfg.Log,
		bootID:    procgroup.BootID(),
		runtimeID: runtimeIDOf(cfg.Dir),
		routes:    router{m: make(map[string]*backend)},
		slots:     make(map[slotKey]*slot),
		procs:     make(map[int]bool),
		serving:   make(map[slotKey]*supervised),
	}
	if cfg.ProxyAddr != "" {
		_, port, err := net.SplitHostPort(cfg.ProxyAddr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("local target: ProxyAddr %q is not a host:port", cfg.ProxyAddr)
		}
		if port != "80" {
			t.portSuffix = ":" + port
		}
	}
	if cfg.HTTPSAddr != "" {
		_, port, err := net.SplitHostPort(cfg.HTTPSAddr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("local target: HTTPSAddr %q is not a host:port", cfg.HTTPSAddr)
		}
		t.https = true
		if port != "443" {
			t.httpsSuffix = ":" + port
		}
	}
	for _, d := range []string{t.procsDir(), t.logsDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("local target: %w", err)
		}
	}
	t.life, t.endLife = context.WithCancel(context.Background())
	if err := t.openInternal(); err != nil {
		t.endLife()
		return nil, err
	}
	return t, nil
}

// Domain is the URL of a web or static service at the first of hosts
// that is not a wildcard: https://<domain>[:port] for a custom domain when
// HTTPS is on, else http://<host>:<proxy port>; "" for the others, which
// the proxy does not serve.
func (t *Target) Domain(svc config.Service, hosts []string) string {
	if !svc.ServesDomain() {
		return ""
	}
	for _, h := range hosts {
		switch {
		case strings.HasPrefix(h, "*."):
		case t.https && !IsLocalhost(h):
			return "https://" + h + t.httpsSuffix
		default:
			return "http://" + h + t.portSuffix
		}
	}
	return ""
}

// IsLocalhost reports whether host is localhost or a name under it, which
// no CA certifies: Liftoff serves those over plain HTTP only.
func IsLocalhost(host string) bool {
	host = hostKey(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// LogPath is the file holding the output of a service's releases, with
// the previous part in LogPath + ".1": under a directory of the project,
// so two projects with the same environment and service ids never share
// one.
func (t *Target) LogPath(inst target.Instance, service string) string {
	project := inst.ProjectID
	if project == "" {
		project = "_"
	}
	return filepath.Join(t.logsDir(), safeName(project), safeName(service+"."+inst.Key())+".log")
}

func (t *Target) logsDir() string { return filepath.Join(t.cfg.Dir, "logs") }

// safeName keeps a file name within its directory whatever the ids hold.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, s)
	if strings.HasPrefix(s, ".") {
		s = "_" + s
	}
	return s
}

// slotKey names a service of an instance. Environment ids are unique
// across projects, so two projects never share a slot.
type slotKey struct {
	environmentID int64
	prNumber      int
	service       string
}

func keyOf(inst target.Instance, service string) slotKey {
	return slotKey{inst.EnvironmentID, inst.PRNumber, service}
}

func (k slotKey) in(inst target.Instance) bool {
	return k.environmentID == inst.EnvironmentID && k.prNumber == inst.PRNumber
}

// slot is a service of an instance: its serving release, and the lock
// that serializes Deploy and StopInstance on it.
type slot struct {
	key  slotKey
	name string        // for messages and logs: "api.production"
	lock chan struct{} // holds a value while a Deploy or a stop works on the slot

	// Guarded by Target.mu.
	removed     bool                    // StopInstance or Close took the slot out of Target.slots
	cancelStart context.CancelCauseFunc // of the Deploy starting a release, if any

	// Guarded by lock.
	current *release
	log     *logFile
}

func (s *slot) unlock() { <-s.lock }

// acquire locks the slot of (instance, service), creating it if needed.
func (t *Target) acquire(ctx context.Context, inst target.Instance, service string) (*slot, error) {
	key := keyOf(inst, service)
	for {
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return nil, ErrClosed
		}
		s := t.slots[key]
		if s == nil {
			s = &slot{key: key, name: service + "." + inst.Key(), lock: make(chan struct{}, 1)}
			t.slots[key] = s
		}
		t.mu.Unlock()
		select {
		case s.lock <- struct{}{}:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		t.mu.Lock()
		removed := s.removed
		t.mu.Unlock()
		if !removed {
			return s, nil
		}
		s.unlock() // stopped while we waited: a new slot takes over
	}
}

// Deploy starts rel, waits until it is healthy, routes its service to it
// (web and static) and then retires the release it replaces: new requests
// go to rel at once, those in flight to the old release finish (for up to
// DrainTimeout), and then its processes are stopped (SIGTERM, SIGKILL
// after StopGrace). Deploy returns when the old release is gone.
//
// When rel fails (its process exits, its health check times out, ctx
// ends) its processes are stopped, the previous release keeps serving,
// and the error says what happened. Once rel is routed, ctx no longer
// matters: the retirement of the old release is bounded anyway.
//
// rel.Env gets PORT, a free port the service must listen on, on
// 127.0.0.1 or all interfaces (health checks and the proxy connect to
// 127.0.0.1:$PORT), and LIFTOFF_RELEASE_ID. Deploys of one service are
// serialized.
func (t *Target) Deploy(ctx context.Context, rel target.Release) error {
	if err := checkRelease(rel); err != nil {
		return err
	}
	s, err := t.acquire(ctx, rel.Instance, rel.Service.ID)
	if err != nil {
		return err
	}
	defer s.unlock()

	startCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if err := t.setStarting(s, cancel); err != nil {
		return err
	}
	r, err := t.start(startCtx, s, rel)
	if serr := t.setStarting(s, nil); err == nil && serr != nil {
		t.retire(t.life, r)
		err = serr
	}
	if err != nil {
		return err
	}

	if t.cfg.PrepareHosts != nil && len(rel.Hosts) > 0 {
		if err := t.cfg.PrepareHosts(ctx, rel.Hosts); err != nil && rel.Log != nil {
			fmt.Fprintf(rel.Log, "==> %s: %v; it will be obtained at the first HTTPS request instead\n", time.Now().UTC().Format(time.RFC3339), err)
		}
	}
	old := s.current
	s.current = r
	if listens(rel.Service) {
		t.setServing(s.key, r.run, nil)
	} else {
		t.setServing(s.key, nil, nil)
	}
	if r.backend != nil {
		r.backend.instance = rel.Instance
		for _, h := range rel.Hosts {
			t.routes.set(hostKey(h), r.backend)
		}
	}
	if old != nil && old.backend != nil {
		// Hosts the new release does not answer at (or all, when it
		// answers at none) stop leading to the old one.
		for _, h := range old.rel.Hosts {
			t.routes.removeIf(hostKey(h), old.backend)
		}
	}
	port := 0
	if r.run != nil {
		port = r.run.port()
	}
	t.log.Info("local target: release serving", "service", s.name, "hosts", rel.Hosts, "release", rel.ID, "type", rel.Service.Type, "port", port)
	if old != nil {
		// Its supervision ends first: a release being replaced is never
		// restarted.
		t.retire(t.life, old)
	}
	// Told after the old release is gone, so that nothing it tells
	// comes after.
	t.emit(r, StateRunning, nil)
	if r.run != nil {
		t.supervise(r)
	}
	return nil
}

// setStarting records (or clears, with nil) the cancel function of the
// release being started in s, so StopInstance and Close can end the start. It
// fails when they already took the slot.
func (t *Target) setStarting(s *slot, cancel context.CancelCauseFunc) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.cancelStart = cancel
	if s.removed {
		if t.closed {
			return ErrClosed
		}
		return fmt.Errorf("%s is being stopped", s.name)
	}
	return nil
}

// StopInstance stops every release of inst as a redeploy retires the old
// one (drain, SIGTERM, SIGKILL after StopGrace) and removes its routes;
// releases being started are cancelled. When ctx ends first the remaining
// waits are cut short: processes get SIGKILL at once. StopInstance returns
// once every process of the instance is gone.
func (t *Target) StopInstance(ctx context.Context, inst target.Instance) error {
	key := inst.Key()
	slots := t.takeSlots(func(k slotKey) bool { return k.in(inst) },
		fmt.Errorf("instance %s is being stopped", key))
	cut := t.stopSlots(ctx, slots, false)
	// Containers of the instance that no slot held (left by a Liftoff
	// killed while it started one) go too.
	if err := t.removeInstanceContainers(context.WithoutCancel(ctx), inst); err != nil {
		return fmt.Errorf("stop %s: remove its containers: %w", key, err)
	}
	if err := t.dropInternal(inst); err != nil {
		return fmt.Errorf("stop %s: %w", key, err)
	}
	if cut {
		return fmt.Errorf("stop %s: cut short, processes were killed: %w", key, context.Cause(ctx))
	}
	return nil
}

// Instances lists the instances that have a release here, or one being
// started (only their EnvironmentID and PRNumber are set).
func (t *Target) Instances() []target.Instance {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := map[target.Instance]bool{}
	var out []target.Instance
	for k := range t.slots {
		inst := target.Instance{EnvironmentID: k.environmentID, PRNumber: k.prNumber}
		if !seen[inst] {
			seen[inst] = true
			out = append(out, inst)
		}
	}
	return out
}

// Restore starts releases again after a restart of Liftoff, in parallel,
// each as Deploy does. It returns the errors of those that failed, joined,
// after all have been tried.
func (t *Target) Restore(ctx context.Context, rels []target.Release) error {
	errs := make([]error, len(rels))
	var wg sync.WaitGroup
	for i, rel := range rels {
		wg.Go(func() {
			if err := t.Deploy(ctx, rel); err != nil {
				errs[i] = fmt.Errorf("restore %s of %s: %w", rel.Service.ID, rel.Instance.Key(), err)
			}
		})
	}
	wg.Wait()
	// The containers a previous Liftoff left that no restored release
	// adopted belong to none.
	keep := make(map[string]bool, len(rels))
	for _, rel := range rels {
		keep[rel.ID] = true
	}
	errs = append(errs, t.removeOrphans(ctx, keep))
	return errors.Join(errs...)
}

// Start starts nothing: releases start with Deploy and Restore. It is the
// lifecycle's, so that a server stops the target (Stop) after the parts
// that deploy on it; it refuses to run after Stop or Close.
func (t *Target) Start(context.Context) error {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return fmt.Errorf("local target: %w", lifecycle.ErrStopped)
	}
	if err := t.started.Start(); err != nil {
		return fmt.Errorf("local target: %w", err)
	}
	return nil
}

// Stop is Close within Config.StopTimeout, once; an error is logged, as
// Stop has no caller to return it to. It returns when every release has
// stopped, and may be called before Start and more than once.
func (t *Target) Stop() {
	t.started.Stop()
	t.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), t.cfg.StopTimeout)
		defer cancel()
		if err := t.Close(ctx); err != nil {
			t.log.Warn("stop releases", "err", err)
		}
	})
}

// Close stops every release, as StopInstance does, and makes Deploy fail from
// then on. Releases live as long as the Liftoff that runs them: Liftoff
// calls Close when it shuts down, and Restore starts the last successful
// releases again when it starts. When ctx ends first, the remaining waits
// are cut short and processes get SIGKILL at once.
func (t *Target) Close(ctx context.Context) error {
	stop := context.AfterFunc(ctx, t.endLife)
	defer stop()
	slots := t.takeSlots(func(slotKey) bool { return true }, ErrClosed)
	t.closeInternal()
	if t.stopSlots(ctx, slots, true) {
		return fmt.Errorf("close local target: cut short, processes were killed: %w", context.Cause(ctx))
	}
	return nil
}

// takeSlots removes the slots that match from the table, cancels the
// releases they are starting, and returns them. With cause ErrClosed it
// also marks the target closed, in the same critical section, so no
// Deploy can create a slot afterwards.
func (t *Target) takeSlots(match func(slotKey) bool, cause error) []*slot {
	t.mu.Lock()
	defer t.mu.Unlock()
	if errors.Is(cause, ErrClosed) {
		t.closed = true
	}
	var out []*slot
	for k, s := range t.slots {
		if !match(k) {
			continue
		}
		delete(t.slots, k)
		s.removed = true
		if s.cancelStart != nil {
			s.cancelStart(cause)
		}
		out = append(out, s)
	}
	return out
}

// stopSlots retires the serving release of each slot, in parallel, and
// reports whether ctx cut any of that short. It waits for each slot's
// lock without a deadline: the holder is a Deploy whose start was just
// cancelled, or one retiring a release, both bounded.
//
// With closing (Liftoff shutting down), container releases are left
// running, unsupervised, for the next start to adopt; processes stop.
func (t *Target) stopSlots(ctx context.Context, slots []*slot, closing bool) bool {
	var cut atomic.Bool
	var wg sync.WaitGroup
	for _, s := range slots {
		wg.Go(func() {
			s.lock <- struct{}{}
			defer s.unlock()
			if r := s.current; r != nil {
				s.current = nil
				if r.run != nil {
					t.setServing(s.key, nil, r.run)
				}
				if r.backend != nil {
					for _, h := range r.rel.Hosts {
						t.routes.removeIf(hostKey(h), r.backend)
					}
				}
				switch {
				case closing && t.detach(r):
				case t.retire(ctx, r):
					cut.Store(true)
					t.emit(r, StateStopped, nil)
				default:
					t.emit(r, StateStopped, nil)
				}
			}
			if s.log != nil {
				s.log.Close()
				s.log = nil
			}
		})
	}
	wg.Wait()
	return cut.Load()
}

// owns reports whether process group pgid is one of this Target's.
func (t *Target) owns(pgid int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.procs[pgid]
}

func (t *Target) setOwned(pgid int, owned bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if owned {
		t.procs[pgid] = true
	} else {
		delete(t.procs, pgid)
	}
}
