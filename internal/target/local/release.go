package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/confine"
	"github.com/liftoffhq/liftoff/internal/procgroup"
	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/staticsite"
	"github.com/liftoffhq/liftoff/internal/target"
)

const (
	// healthInterval is the pause between health checks once the first
	// quick ones (from 50ms up) found nothing.
	healthInterval = 200 * time.Millisecond
	// healthAttemptTimeout bounds one health check request.
	healthAttemptTimeout = 5 * time.Second
	// portProbeTimeout bounds the connection to a service's configured
	// port after its health check failed (see portHint).
	portProbeTimeout = 2 * time.Second
)

// release is a started release that was healthy: a static site, or a
// supervised instance (see supervise.go).
type release struct {
	rel     target.Release
	backend *backend // nil when the proxy does not serve it
	root    *os.Root // static only
	// run is what supervises its instances; nil for static.
	run *supervised
}

// checkRelease rejects what the local target cannot run, before anything
// starts.
func checkRelease(rel target.Release) error {
	svc := rel.Service
	if svc.ID == "" {
		return errors.New("release has no service id")
	}
	switch svc.Type {
	case config.TypeWeb, config.TypeWebPrivate, config.TypeWorker:
		if svc.StartCommand.IsBlank() && !isContainer(rel) {
			return fmt.Errorf("service %s has no startCommand: the local target needs one to run a %s service", svc.ID, svc.Type)
		}
	case config.TypeStatic:
	default:
		return fmt.Errorf("service %s: type %q does not run on the local target (it runs web, web-private, worker and static)", svc.ID, svc.Type)
	}
	return nil
}

// start starts rel and returns it once healthy. On failure nothing of it
// is left running.
func (t *Target) start(ctx context.Context, s *slot, rel target.Release) (*release, error) {
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("start cancelled: %w", err)
	}
	if rel.Service.Type == config.TypeStatic {
		return t.startStatic(rel)
	}
	if !isContainer(rel) {
		// The start command runs where basePath really leads, which must be
		// inside the checkout whatever links the repository or its build made.
		rootDir, sub, err := insideRoot(rel, ".")
		if err == nil {
			rel.Dir, err = confine.Resolve(rootDir, filepath.ToSlash(sub))
		}
		if err != nil {
			return nil, fmt.Errorf("release directory: %w", err)
		}
	}
	if s.log == nil {
		lf, err := openLogFile(t.LogPath(rel.Instance, rel.Service.ID))
		if err != nil {
			return nil, fmt.Errorf("open the service's log: %w", err)
		}
		s.log = lf
	}
	out := newOutput(s.log, rel.Log, rel.Scrub)
	// After a failure the process has been stopped and its output copied
	// when this runs, so the deployment's log has all of it.
	defer out.detach()

	inst, err := t.launch(rel, out)
	if err != nil {
		return nil, err
	}
	if err := t.waitHealthy(ctx, rel, inst); err != nil {
		exit, _ := inst.Stop(t.life)
		if errors.Is(err, errExited) {
			return nil, t.exitError(rel, exit)
		}
		return nil, err
	}
	r := &release{rel: rel, run: newSupervised(inst, out, s.log)}
	if rel.Service.Type == config.TypeWeb {
		r.backend = t.newProxyBackend(s.name, rel.ID, r.run)
	}
	return r, nil
}

func (t *Target) startStatic(rel target.Release) (*release, error) {
	outDir := rel.Service.OutputDirectory
	if outDir == "" {
		outDir = config.DefaultOutputDirectory
	}
	// Opened through the checkout's root: a symbolic link anywhere on the
	// way (public -> /etc, public -> ../..) must not publish what lies
	// outside the checkout.
	rootDir, sub, err := insideRoot(rel, outDir)
	if err != nil {
		return nil, err
	}
	shown := filepath.Join(rel.Dir, outDir)
	resolved, err := confine.Resolve(rootDir, filepath.ToSlash(sub))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("static output directory %s does not exist: the build must write the site there, or outputDirectory must name the directory it writes (relative to basePath)", shown)
	case errors.Is(err, confine.ErrOutside):
		return nil, fmt.Errorf("static output directory %s leads out of the checkout through a symbolic link: the site must be inside the repository's checkout", shown)
	case err != nil:
		return nil, fmt.Errorf("static output directory: %w", err)
	}
	if fi, err := os.Stat(resolved); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("static output directory %s is not a directory", shown)
	}
	// Served through an os.Root of the checkout, so a link the build
	// changes later cannot lead out either.
	checkout, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil, fmt.Errorf("static output directory: %w", err)
	}
	defer checkout.Close()
	root, err := checkout.OpenRoot(sub)
	if err != nil {
		return nil, fmt.Errorf("static output directory %s: %w", shown, err)
	}
	return &release{
		rel:     rel,
		root:    root,
		backend: newBackend(staticsite.New(root, rel.Service.SinglePageApp), nil),
	}, nil
}

// insideRoot returns the release's root (its checkout; Dir when it has
// none) and the path of name, relative to Dir, as a path relative to that
// root. It refuses a Dir outside the root.
func insideRoot(rel target.Release, name string) (root, sub string, err error) {
	root = rel.Root
	if root == "" {
		root = rel.Dir
	}
	base, err := filepath.Rel(root, rel.Dir)
	if err != nil || base == ".." || strings.HasPrefix(base, ".."+string(filepath.Separator)) {
		return "", "", fmt.Errorf("release directory %s is not inside its checkout %s", rel.Dir, root)
	}
	return root, filepath.Join(base, filepath.FromSlash(name)), nil
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the release listens on it; the health check then fails.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts an instance of rel writing its output to out: a container
// when it has an image, else a process group.
func (t *Target) launch(rel target.Release, out *output) (instance, error) {
	if isContainer(rel) {
		return t.launchContainer(rel, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	p, err := t.spawn(rel, port, out)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// spawn starts the start command in a process group of its own, in the
// target's sandbox, and records the group in a state file.
func (t *Target) spawn(rel target.Release, port int, out *output) (*process, error) {
	// Our own pipe rather than an io.Writer, so that reaping never waits
	// on the output of a process that left.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", rel.Service.ID, err)
	}
	fmt.Fprintf(out, "==> %s: starting release %s: %s (PORT=%d)\n",
		time.Now().UTC().Format(time.RFC3339), rel.ID, rel.Service.StartCommand.String(), port)
	sp, err := t.cfg.Sandbox.Start(sandbox.Command{
		Args: rel.Service.StartCommand.Argv(shell),
		Dir:  rel.Dir,
		Root: rel.Root,
		Home: rel.Home,
		// Later entries win, so ours override any in rel.Env.
		Env:    append(slices.Clip(rel.Env), "PORT="+strconv.Itoa(port), releaseIDVar+"="+rel.ID),
		Output: pw,
	})
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, fmt.Errorf("start command could not start in %s: %w", rel.Dir, err)
	}
	pid := sp.Pid()
	p := &process{
		sp:      sp,
		pid:     pid,
		port:    port,
		grace:   t.cfg.StopGrace,
		pipe:    pr,
		out:     out,
		log:     t.log.With("service", rel.Service.ID+"."+rel.Instance.Key(), "release", rel.ID),
		onDone:  func() { t.setOwned(pid, false) },
		exited:  sp.Exited(),
		copied:  make(chan struct{}),
		stopReq: make(chan struct{}),
		hurry:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	t.setOwned(pid, true)
	// The leader is ours and not reaped, so its stat is there even if it
	// has exited already.
	st, err := procgroup.ReadStat(pid)
	if err == nil {
		p.statePath, err = t.writeRecord(procRecord{
			PID: pid, Group: sp.Group(), StartTime: st.StartTime, BootID: t.bootID,
			Release: rel.ID, Project: rel.Instance.ProjectID, Instance: rel.Instance.Key(), Service: rel.Service.ID,
			Port: port, Command: rel.Service.StartCommand.String(), Started: time.Now().UTC(),
		})
	}
	go p.copyOutput()
	go p.supervise()
	if err != nil {
		p.stop(t.life)
		return nil, fmt.Errorf("record the release's process group: %w", err)
	}
	return p, nil
}

// errExited reports from waitHealthy that the process exited; start turns
// it into a message with the exit status.
var errExited = errors.New("exited")

func (t *Target) exitError(rel target.Release, exit Exit) error {
	how := exit.Text
	logs := "see its output above (also in " + t.LogPath(rel.Instance, rel.Service.ID) + ")"
	if rel.Service.Type == config.TypeWorker {
		return fmt.Errorf("worker %s within %s of its start: a worker must keep running; %s", how, t.cfg.WorkerGrace, logs)
	}
	return fmt.Errorf("start command %s before its health check passed: it must keep running and listen on $PORT; %s", how, logs)
}

// waitHealthy returns nil once the release is healthy, errExited when its
// process exits first, and otherwise an error saying what went wrong.
func (t *Target) waitHealthy(ctx context.Context, rel target.Release, p instance) error {
	if rel.Service.Type == config.TypeWorker {
		timer := time.NewTimer(t.cfg.WorkerGrace)
		defer timer.Stop()
		select {
		case <-timer.C:
			select {
			case <-p.Exited():
				return errExited
			default:
				return nil
			}
		case <-p.Exited():
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("start cancelled: %w", context.Cause(ctx))
		}
	}
	return checkHTTP(ctx, rel.Service, p)
}

// checkHTTP polls GET http://127.0.0.1:<port><healthCheckPath> until it
// answers 200-399 (redirects are not followed), the process exits, ctx
// ends or healthCheckTimeoutSecs pass.
func checkHTTP(ctx context.Context, svc config.Service, p instance) error {
	port := p.Port()
	path := svc.HealthCheckPath
	if path == "" {
		path = config.DefaultHealthCheckPath
	}
	secs := svc.HealthCheckTimeoutSecs
	if secs <= 0 {
		secs = config.DefaultHealthCheckTimeoutSecs
	}
	timeout := time.Duration(secs) * time.Second
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	u := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + path

	var lastStatus int
	var lastErr string
	delay := 50 * time.Millisecond
	for {
		status, err := probe(hctx, client, u)
		if err == nil && status >= 200 && status <= 399 {
			return nil
		}
		if hctx.Err() == nil { // an attempt cut by the deadline says nothing
			if err != nil {
				lastErr = describeProbeError(err)
			} else {
				lastStatus = status
			}
		}
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-p.Exited():
			timer.Stop()
			return errExited
		case <-hctx.Done():
			timer.Stop()
			if err := context.Cause(ctx); err != nil {
				return fmt.Errorf("start cancelled: %w", err)
			}
			var last []string
			if lastStatus != 0 {
				last = append(last, strconv.Itoa(lastStatus))
			}
			if lastErr != "" {
				last = append(last, lastErr)
			}
			if len(last) == 0 {
				last = append(last, "no answer")
			}
			msg := fmt.Sprintf("health check GET %s did not answer 200-399 within %s (last: %s)", path, timeout, strings.Join(last, " / "))
			if lastStatus == 0 {
				// Nothing ever answered on the port the release was
				// given: the commonest cause is an app listening on the
				// port of its config instead.
				msg += ": " + portHint(ctx, svc, port)
			}
			return errors.New(msg)
		}
		delay = min(2*delay, healthInterval)
	}
}

// portHint says which port the release was given and, when something
// answers on the service's configured port instead (which the release was
// not given), that it listens there. It only connects to that port, once.
func portHint(ctx context.Context, svc config.Service, given int) string {
	configured := svc.Port
	if configured == 0 {
		configured = config.DefaultPort
	}
	if configured != given {
		ctx, cancel := context.WithTimeout(ctx, portProbeTimeout)
		defer cancel()
		var d net.Dialer
		if conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(configured))); err == nil {
			conn.Close()
			return fmt.Sprintf("something answers on port %d: the service must listen on $PORT (given %d), not on its configured port", configured, given)
		}
	}
	return fmt.Sprintf("the service must listen on $PORT (given %d)", given)
}

func probe(ctx context.Context, client *http.Client, u string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, healthAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "Liftoff health check")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// describeProbeError says briefly why a health check request failed.
func describeProbeError(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, context.DeadlineExceeded), os.IsTimeout(err):
		return "no answer within " + healthAttemptTimeout.String()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// detach, for Liftoff shutting down, leaves r's container running,
// unsupervised, for the next start to adopt, and reports whether r was a
// container release; it takes r's routes out of this Target as retire
// does.
func (t *Target) detach(r *release) bool {
	if r.run == nil {
		return false
	}
	r.run.endSupervision()
	inst, out := r.run.current()
	c, ok := inst.(*containerInstance)
	if !ok {
		return false
	}
	c.Detach()
	out.finish()
	if b := r.backend; b != nil && b.free != nil {
		b.free()
	}
	t.log.Info("local target: container left running for the next start", "service", r.rel.Service.ID+"."+r.rel.Instance.Key(),
		"release", r.rel.ID, "container", c.name)
	return true
}

// retire takes r out of service: no new requests (its route, if any, was
// switched or removed before), those in flight finish for up to
// DrainTimeout, then its processes stop. When ctx ends the waits are cut
// short; retire reports whether that happened.
func (t *Target) retire(ctx context.Context, r *release) (cut bool) {
	log := t.log.With("service", r.rel.Service.ID+"."+r.rel.Instance.Key(), "release", r.rel.ID)
	// Supervision ends first: from now on the release ending is Liftoff's
	// doing, never a crash to restart.
	if r.run != nil {
		r.run.endSupervision()
	}
	if b := r.backend; b != nil {
		idle := b.retire()
		timer := time.NewTimer(t.cfg.DrainTimeout)
		select {
		case <-idle:
		case <-timer.C:
			log.Warn("local target: requests still in flight after the drain timeout; stopping the release anyway",
				"inFlight", b.inFlight(), "drainTimeout", t.cfg.DrainTimeout)
		case <-ctx.Done():
			cut = b.inFlight() > 0
		}
		timer.Stop()
	}
	if r.run != nil {
		if r.run.stop(ctx) {
			cut = true
		}
	}
	if b := r.backend; b != nil && b.free != nil {
		b.free()
	}
	if r.root != nil {
		r.root.Close()
	}
	log.Info("local target: release stopped", "cutShort", cut)
	return cut
}
