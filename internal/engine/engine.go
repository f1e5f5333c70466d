// Package engine is the deployment engine: it takes PENDING deployments from
// the store, one at a time per environment instance, oldest first, and runs
// each: fetch and resolve the commit, read the config at that commit, decide
// which services deploy (watch), build them in parallel in clean checkouts
// (steps), release them in dependsOn order (target), and record every step
// and every line of output. The deployments table is the queue: a claim is a
// conditional UPDATE under a lease, so any number of replicas sharing a
// PostgreSQL database run each deployment exactly once.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/buildcache"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/container"
	deployments "github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/lifecycle"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/metrics"
	"github.com/liftoffhq/liftoff/internal/resources"
	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// Config tunes the engine. Zero values take the defaults, but for the
// fields an operator sets (server.Config gives them their defaults), which
// are required.
type Config struct {
	// Workers bounds how many deployments run at once on this node.
	// Required (liftoff serve --workers).
	Workers int
	// DataDir holds builds (DataDir/builds). Required.
	DataDir string
	// NodeID names this node in leases; it must be stable across restarts
	// of the same node and differ between nodes. Required.
	NodeID string
	// SingleNode means no other process shares the store (SQLite): at
	// start every running deployment is known to be interrupted.
	SingleNode bool
	// Lease is how long a running deployment stays claimed without a
	// heartbeat from its node. Default 30s.
	Lease time.Duration
	// Heartbeat is how often a running deployment renews its lease and
	// checks for a cancel request made on another node. Default 2s.
	Heartbeat time.Duration
	// Poll is how often an idle worker looks for work queued by another
	// node. Work queued on this node wakes it at once. Default 1s.
	Poll time.Duration
	// StopTimeout is how long Stop lets running deployments finish before
	// it interrupts them. Required (liftoff serve --shutdown-timeout).
	StopTimeout time.Duration
	// BuildConcurrency bounds the builds one deployment runs at once.
	// Default 4.
	BuildConcurrency int
	// JanitorEvery is how often preview instances are checked for a due
	// teardown (previewTtlHours, a closed PR) and torn down ones cleaned
	// up. Default 30s; a teardown on this node wakes it at once.
	JanitorEvery time.Duration
	// JobPoll is how often the scheduler services' jobs are checked for a
	// due time, and manual runs asked for on another node looked for.
	// Default 1s; a manual run asked for on this node wakes it at once.
	JobPoll time.Duration
	// JobMissedWindow is how late a job's time may still run: a time
	// missed by more (no node ran the engine then) is not run. Default 1m.
	JobMissedWindow time.Duration
}

// withDefaults fills the engine's own tunables, which no operator sets.
func (c Config) withDefaults() Config {
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 2 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.BuildConcurrency <= 0 {
		c.BuildConcurrency = 4
	}
	if c.JanitorEvery <= 0 {
		c.JanitorEvery = 30 * time.Second
	}
	if c.JobPoll <= 0 {
		c.JobPoll = time.Second
	}
	if c.JobMissedWindow <= 0 {
		c.JobMissedWindow = time.Minute
	}
	return c
}

// validate reports the required settings that are missing.
func (c Config) validate() error {
	var errs []error
	if c.DataDir == "" || c.NodeID == "" {
		errs = append(errs, errors.New("engine: DataDir and NodeID are required"))
	}
	if c.Workers <= 0 || c.StopTimeout <= 0 {
		errs = append(errs, fmt.Errorf("engine: Workers (%d) and StopTimeout (%s) must be positive", c.Workers, c.StopTimeout))
	}
	return errors.Join(errs...)
}

// Restorer is a target that can start the releases it ran before Liftoff
// restarted, and kill what a killed Liftoff left behind.
type Restorer interface {
	Cleanup(ctx context.Context) error
	Restore(ctx context.Context, rels []target.Release) error
}

// Deps are what the engine works with.
type Deps struct {
	Store   store.Store
	Git     *gitsource.Manager
	Logs    *logstream.Streams
	Local   target.Target // services whose target is local (the default)
	Command target.Target // services whose target is command; default target.Command in Sandbox
	// Kube releases the services whose target is kubernetes, and with
	// KubeDefault those that left the choice to the operator. Nil: such
	// services are not deployed, saying why.
	Kube        KubeTarget
	KubeDefault bool
	Log         *slog.Logger
	NewID       func() string
	// Sandbox runs build and deploy steps, each in its environment's home;
	// Local should run releases in the same one. Nil runs them
	// unsandboxed, as Liftoff's user.
	Sandbox *sandbox.Sandbox
	// Variables resolves the variables and secrets set through the API and
	// the config file's references. Required.
	Variables *variables.Service
	// Containers builds the images of docker services. Nil: none is built,
	// and such services are not deployed, saying why.
	Containers *container.CLI
	// Resources makes the databases and Redis users of rds and
	// elasticache services on the operator's servers, and drops a
	// preview's when it is torn down. Nil: none is made, and such
	// services are not deployed, saying why.
	Resources *resources.Service
	// Now is the clock of leases, records and job schedules. Nil is
	// time.Now; tests inject one to make a job's time come.
	Now func() time.Time
	// Metrics records busy workers, build and release durations and
	// deployments' final statuses. Nil records nothing.
	Metrics *metrics.Metrics
	// BuildCache keeps each service's build cache between deployments
	// (the tools' caches, cacheDirectories, podman's cache mounts). Nil:
	// every build runs cold.
	BuildCache *buildcache.Manager
}

// KubeTarget is a target whose releases run images from a registry.
type KubeTarget interface {
	target.Target
	// Publish pushes the image of rel (its build at Dir, or its
	// container image) and returns the reference the target runs.
	Publish(ctx context.Context, rel target.Release) (string, error)
}

// Why a deployment's context was cancelled.
var (
	errCancelled = errors.New("cancelled by a user")
	errShutdown  = errors.New("interrupted by a shutdown of Liftoff")
	errLeaseLost = errors.New("interrupted: this node lost the deployment's lease (it was too long without a heartbeat)")
)

// InterruptedMessage is the error of a deployment that was running when
// Liftoff died.
const InterruptedMessage = "interrupted by a restart of Liftoff"

// Engine runs deployments.
type Engine struct {
	Deps
	cfg    Config
	parser *config.Parser
	now    func() time.Time

	wake      chan struct{}
	stop      chan struct{}
	runCtx    context.Context
	runCancel context.CancelCauseFunc
	wg        sync.WaitGroup
	stopOnce  sync.Once
	// life says whether Start and Stop were called: Stop before Start
	// only marks the engine stopped, and Start runs once.
	life lifecycle.Guard
	// runMu guards runCtx and runCancel, set by Start.
	runMu sync.Mutex

	janitorWake chan struct{}
	// images orders this node's image builds (readers, any number at
	// once) and image removals (a writer): podman fails a build whose
	// cache meets an image removed meanwhile.
	images sync.RWMutex
	// cleanups are the torn down previews being cleaned (the janitor does
	// not wait for them), cleaning their instances, cleanupSlots bounds
	// them.
	cleanups     sync.WaitGroup
	cleanMu      sync.Mutex
	cleaning     map[instanceKey]bool
	cleanupSlots chan struct{}
	jobWake      chan struct{}

	mu      sync.Mutex
	running map[string]runningDeployment // by deployment id
}

// runningDeployment is a deployment running on this node.
type runningDeployment struct {
	project string
	env     int64
	pr      int
	cancel  context.CancelCauseFunc
}

// New returns an engine; Start runs it.
func New(d Deps, cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if d.Variables == nil {
		return nil, errors.New("engine: Deps.Variables is required")
	}
	parser, err := config.NewParser()
	if err != nil {
		return nil, fmt.Errorf("config parser: %w", err)
	}
	if d.Command == nil {
		d.Command = target.Command{Sandbox: d.Sandbox}
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &Engine{Deps: d, cfg: cfg, parser: parser, now: now,
		wake: make(chan struct{}, cfg.Workers), stop: make(chan struct{}), janitorWake: make(chan struct{}, 1),
		cleaning: map[instanceKey]bool{}, cleanupSlots: make(chan struct{}, maxCleanups),
		jobWake: make(chan struct{}, 1), running: map[string]runningDeployment{}}, nil
}

// wakeWorkers tells idle workers that a deployment was queued.
func (e *Engine) wakeWorkers() {
	for range e.cfg.Workers {
		select {
		case e.wake <- struct{}{}:
		default:
			return
		}
	}
}

var _ lifecycle.Service = (*Engine)(nil)

// Start recovers from a previous run (deployments it left running end
// ERROR, releases it ran start again) and starts the workers. It runs once,
// and never after Stop (see package lifecycle).
func (e *Engine) Start(ctx context.Context) error {
	e.runMu.Lock()
	if err := e.life.Start(); err != nil {
		e.runMu.Unlock()
		return fmt.Errorf("deploy engine: %w", err)
	}
	e.runCtx, e.runCancel = context.WithCancelCause(context.WithoutCancel(ctx))
	e.runMu.Unlock()
	now := e.now()
	p := store.InterruptParams{Owner: e.cfg.NodeID, LeaseExpiredBefore: now, Message: InterruptedMessage, At: now}
	if e.cfg.SingleNode {
		p.LeaseExpiredBefore = now.Add(100 * 365 * 24 * time.Hour) // every running deployment
	}
	ids, err := e.Store.InterruptDeployments(ctx, p)
	if err != nil {
		return fmt.Errorf("recover interrupted deployments: %w", err)
	}
	for _, id := range ids {
		e.Log.Warn("deployment interrupted by a restart", "deployment_id", id)
	}
	jp := store.InterruptJobExecutionsParams{Owner: e.cfg.NodeID, LeaseExpiredBefore: p.LeaseExpiredBefore, Message: InterruptedMessage, At: now}
	jobs, err := e.Store.InterruptJobExecutions(ctx, jp)
	if err != nil {
		return fmt.Errorf("recover interrupted job executions: %w", err)
	}
	for _, id := range jobs {
		e.Log.Warn("job execution interrupted by a restart", "job_execution_id", id)
	}
	// Before any release starts again: they would carry the same marker.
	if n := killLeftovers(ids); n > 0 {
		e.Log.Warn("killed processes left by interrupted deployments", "processes", n)
	}
	// Before anything runs in a container again: what a killed Liftoff
	// was running once (a job, a deploy command) is not waited for.
	e.removeOneOffs(ctx)
	if err := e.restore(ctx); err != nil {
		// Releases that cannot start are logged; deployments still run.
		e.Log.Error("restore releases", "err", err)
	}
	e.Metrics.Workers(e.cfg.Workers)
	for w := range e.cfg.Workers {
		e.wg.Add(1)
		go e.worker(w)
	}
	e.wg.Add(3)
	go e.rescuer()
	go e.janitor()
	go e.jobLoop()
	return nil
}

// Stop stops taking work, lets running deployments finish for StopTimeout,
// then interrupts them (they end ERROR) and returns.
// It may be called before Start (then Start will not start), and more than
// once.
func (e *Engine) Stop() {
	e.runMu.Lock()
	started, first := e.life.Stop()
	e.runMu.Unlock()
	e.stopOnce.Do(func() { close(e.stop) })
	if !started {
		return
	}
	if first {
		e.Log.Info("shutting down: letting running deployments finish", "timeout", e.cfg.StopTimeout)
	}
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		e.cleanups.Wait() // the janitor started them; it has returned
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(e.cfg.StopTimeout):
		e.runCancel(errShutdown)
		<-done
	}
	e.runCancel(errShutdown)
	if e.BuildCache != nil {
		e.BuildCache.Wait() // old caches being removed: the next start would redo it
	}
}

func (e *Engine) stopping() bool {
	select {
	case <-e.stop:
		return true
	default:
		return false
	}
}

func (e *Engine) worker(n int) {
	defer e.wg.Done()
	for !e.stopping() {
		now := e.now()
		d, err := e.Store.ClaimDeployment(e.runCtx, store.ClaimParams{Owner: e.cfg.NodeID, At: now, LeaseUntil: now.Add(e.cfg.Lease)})
		if err == nil {
			e.run(d)
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			e.Log.Error("claim a deployment", "worker", n, "err", err)
		}
		select {
		case <-e.wake:
		case <-time.After(e.cfg.Poll):
		case <-e.stop:
			return
		}
	}
}

// rescuer ends deployments whose node stopped renewing their lease.
func (e *Engine) rescuer() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.Lease / 2)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		now := e.now()
		ids, err := e.Store.InterruptDeployments(e.runCtx, store.InterruptParams{LeaseExpiredBefore: now, Message: InterruptedMessage, At: now})
		if err != nil {
			e.Log.Error("rescue deployments", "err", err)
			continue
		}
		for _, id := range ids {
			e.Log.Warn("deployment lost its node", "deployment_id", id)
		}
		if len(ids) > 0 {
			e.wakeWorkers()
		}
		jobs, err := e.Store.InterruptJobExecutions(e.runCtx, store.InterruptJobExecutionsParams{LeaseExpiredBefore: now,
			Message: "interrupted: its node stopped renewing its lease (Liftoff stopped or lost the database there)", At: now})
		if err != nil {
			e.Log.Error("rescue job executions", "err", err)
			continue
		}
		for _, id := range jobs {
			e.Log.Warn("job execution lost its node", "job_execution_id", id)
		}
	}
}

// run runs one claimed deployment to its end.
func (e *Engine) run(d liftoff.Deployment) {
	ctx, cancel := context.WithCancelCause(e.runCtx)
	e.mu.Lock()
	e.running[d.ID] = runningDeployment{project: d.ProjectID, env: d.EnvironmentID, pr: d.PRNumber, cancel: cancel}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.running, d.ID)
		e.mu.Unlock()
		cancel(nil)
	}()
	hb := make(chan struct{})
	go func() { defer close(hb); e.heartbeat(ctx, d.ID, cancel) }()

	e.Metrics.WorkerBusy(1)
	defer e.Metrics.WorkerBusy(-1)
	log := e.Logs.Writer(d.ID, "")
	status, errs := e.execute(ctx, d, log)
	_ = log.Close()
	cancel(nil)
	<-hb
	e.Logs.Flush(context.WithoutCancel(ctx))
	ok, err := e.Store.FinishDeployment(context.WithoutCancel(ctx), store.FinishDeploymentParams{ID: d.ID, Status: status, Errors: errs, At: e.now()})
	if err != nil || !ok {
		e.Log.Error("finish deployment", "deployment_id", d.ID, "status", status, "finished", ok, "err", err)
	} else {
		e.Metrics.DeploymentFinished(string(status))
	}
	e.Log.Info("deployment finished", "deployment_id", d.ID, "status", status)
	e.wakeWorkers() // a deployment queued behind this one may start now
	if status == liftoff.StatusCancelled {
		e.wakeJanitor() // it may have held up the cleanup of a deleted project or a torn down preview
	}
}

// heartbeat renews the lease until ctx ends, and cancels the deployment
// when a cancel request arrives or the lease is lost.
func (e *Engine) heartbeat(ctx context.Context, id string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(e.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cancelRequested, err := e.Store.RenewLease(ctx, store.RenewLeaseParams{ID: id, Owner: e.cfg.NodeID, Until: e.now().Add(e.cfg.Lease)})
		switch {
		case errors.Is(err, store.ErrNotFound):
			cancel(errLeaseLost)
			return
		case err != nil:
			if ctx.Err() == nil {
				e.Log.Warn("renew deployment lease", "deployment_id", id, "err", err)
			}
		case cancelRequested:
			cancel(errCancelled)
			return
		}
	}
}

// CancelRequested stops deployment id if this node runs it: its build and
// release processes (whole process groups) are killed and it ends
// CANCELLED. Other nodes see the request at their next heartbeat.
func (e *Engine) CancelRequested(id string) {
	e.mu.Lock()
	r, ok := e.running[id]
	e.mu.Unlock()
	if ok {
		r.cancel(errCancelled) // on this node: at once
	}
}

// Queued wakes the workers: a deployment was queued.
func (e *Engine) Queued() { e.wakeWorkers() }

// The engine is the Runner of the deployment use cases on its node.
var _ deployments.Runner = (*Engine)(nil)
