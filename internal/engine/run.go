package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/buildcache"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/confine"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/metrics"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/steps"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
)

// errDependency cancels a service whose dependency did not deploy.
var errDependency = errors.New("a dependency did not deploy")

// deploy builds the units in parallel and releases each once its
// dependencies are released, then returns the deployment's final status.
func (r *deployment) deploy(ctx context.Context, units []*unit) (liftoff.Status, []liftoff.ErrorEntry) {
	if err := r.e.Store.UpdateRunningDeployment(ctx, store.UpdateRunningParams{ID: r.d.ID, Status: liftoff.StatusBuilding}); err != nil {
		return r.ended(ctx, err)
	}
	for _, u := range units {
		u.ctx, u.cancel = context.WithCancelCause(ctx)
	}
	slots := make(chan struct{}, r.e.cfg.BuildConcurrency)
	var deploying sync.Once
	var wg sync.WaitGroup
	for _, u := range units {
		wg.Go(func() {
			defer close(u.done)
			r.runUnit(u, slots, &deploying)
			if !released(u.status) {
				// Its dependents cannot deploy: stop them, even mid-build.
				for _, other := range units {
					if dependsOn(other, u) {
						other.cancel(errDependency)
					}
				}
			}
		})
	}
	wg.Wait()
	r.e.Logs.Flush(context.WithoutCancel(ctx))
	return r.outcome(ctx, units)
}

// released reports whether a unit that ended with status lets the
// services that depend on it deploy: it was released, or it is a
// container Liftoff built and does not run yet (NO_CHANGE), as a service
// Liftoff does not run at all is no obstacle either.
func released(status liftoff.Status) bool {
	return status == liftoff.StatusSuccess || status == liftoff.StatusNoChange
}

// dependsOn reports whether a depends on b, directly or not.
func dependsOn(a, b *unit) bool {
	for _, d := range a.deps {
		if d == b || dependsOn(d, b) {
			return true
		}
	}
	return false
}

// outcome is the deployment's status from its services'.
func (r *deployment) outcome(ctx context.Context, units []*unit) (liftoff.Status, []liftoff.ErrorEntry) {
	if ctx.Err() != nil {
		f := causeFailure(ctx)
		r.log.Printf("==> %s: %s", f.status, f.msg)
		return f.status, []liftoff.ErrorEntry{{Status: f.status, Message: f.msg}}
	}
	errs := append([]liftoff.ErrorEntry(nil), r.failed...)
	worst := liftoff.StatusSuccess
	if len(errs) > 0 {
		worst = liftoff.StatusError
	}
	rank := map[liftoff.Status]int{liftoff.StatusSuccess: 0, liftoff.StatusCancelled: 1, liftoff.StatusDeployError: 2, liftoff.StatusBuildError: 3, liftoff.StatusError: 4}
	for _, u := range units {
		if u.status == liftoff.StatusSuccess {
			continue
		}
		if u.errMsg != "" && u.status != liftoff.StatusCancelled {
			errs = append(errs, liftoff.ErrorEntry{Status: u.status, Message: u.svc.ID + ": " + u.errMsg})
		}
		if rank[u.status] > rank[worst] {
			worst = u.status
		}
	}
	r.log.Printf("==> %s", worst)
	return worst, errs
}

// runUnit takes one service through build, dependencies and release, and
// records its final status.
func (r *deployment) runUnit(u *unit, slots chan struct{}, deploying *sync.Once) {
	log := r.e.Logs.Writer(r.d.ID, u.row.ID)
	log.Scrub(u.scrub)
	defer func() { _ = log.Close() }()
	status, msg := r.unitSteps(u, log, slots, deploying)
	msg = u.scrub.String(msg)
	if status != liftoff.StatusSuccess && u.ctx.Err() != nil {
		status, msg = r.unitCancelled(u)
	}
	u.status, u.errMsg = status, msg
	if msg != "" {
		log.Printf("==> %s: %s", status, msg)
	} else {
		log.Printf("==> %s", status)
	}
	var errs []liftoff.ErrorEntry
	if msg != "" {
		errs = []liftoff.ErrorEntry{{Status: status, Message: msg}}
	}
	if err := r.e.Store.UpdateServiceDeployment(context.WithoutCancel(u.ctx), store.UpdateServiceDeploymentParams{ID: u.row.ID,
		Status: status, Errors: errs, FinishedAt: r.e.now()}); err != nil {
		r.e.Log.Error("record service deployment", "service_deployment_id", u.row.ID, "err", err)
	}
	if status == liftoff.StatusSuccess {
		r.e.pruneBuilds(context.WithoutCancel(u.ctx), u.row.ServiceID, r.d.PRNumber, u.svc.VersionHistoryCount)
	} else if u.prebuilt == "" {
		_ = os.RemoveAll(r.e.buildDir(r.d.ProjectID, u.row.ID))
	}
}

// unitCancelled says why a unit's context ended.
func (r *deployment) unitCancelled(u *unit) (liftoff.Status, string) {
	if errors.Is(context.Cause(u.ctx), errDependency) {
		var failed []string
		for _, d := range u.deps {
			select {
			case <-d.done:
				if d.status != liftoff.StatusSuccess {
					failed = append(failed, d.svc.ID)
				}
			default:
			}
		}
		return liftoff.StatusCancelled, fmt.Sprintf("dependency %v did not deploy", failed)
	}
	f := causeFailure(u.ctx)
	return liftoff.StatusCancelled, f.msg
}

func (r *deployment) setStatus(u *unit, status liftoff.Status) {
	p := store.UpdateServiceDeploymentParams{ID: u.row.ID, Status: status}
	if status == liftoff.StatusBuilding || (status == liftoff.StatusDeploying && u.prebuilt != "") {
		p.StartedAt = r.e.now()
	}
	if err := r.e.Store.UpdateServiceDeployment(context.WithoutCancel(u.ctx), p); err != nil {
		r.e.Log.Error("record service status", "service_deployment_id", u.row.ID, "err", err)
	}
}

func (r *deployment) unitSteps(u *unit, log *logstream.Writer, slots chan struct{}, deploying *sync.Once) (liftoff.Status, string) {
	ctx := u.ctx
	dir := u.prebuilt
	if dir == "" {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return liftoff.StatusCancelled, ""
		}
		r.setStatus(u, liftoff.StatusBuilding)
		var err error
		started := time.Now()
		dir, err = r.build(ctx, u, log)
		<-slots
		r.e.Metrics.Build(result(ctx, err), time.Since(started))
		if err != nil {
			return liftoff.StatusBuildError, buildMessage(err)
		}
	}
	if u.svc.RunsAsContainer() {
		if u.image = r.imageOf(u); u.image == "" {
			return liftoff.StatusDeployError, "the build to redeploy recorded no image"
		}
		if err := r.e.Store.UpdateServiceDeployment(ctx, store.UpdateServiceDeploymentParams{ID: u.row.ID, Image: u.image}); err != nil {
			return liftoff.StatusError, err.Error()
		}
	}
	// Checked again: a build step may have replaced basePath by a link.
	releaseDir, err := basePathDir(dir, u.svc.BasePath)
	if err != nil {
		return liftoff.StatusDeployError, err.Error()
	}
	kube := r.e.onKube(u.svc)
	if kube {
		if status, msg := r.publish(u, dir, releaseDir, log); status != "" {
			return status, msg
		}
	}

	// Wait for the services it depends on.
	for _, d := range u.deps {
		select {
		case <-d.done:
			continue
		default:
		}
		r.setStatus(u, liftoff.StatusPendingDependency)
		log.Printf("==> Waiting for %s", d.svc.ID)
		select {
		case <-d.done:
		case <-ctx.Done():
			return liftoff.StatusCancelled, ""
		}
	}
	for _, d := range u.deps {
		if !released(d.status) {
			return liftoff.StatusCancelled, fmt.Sprintf("dependency %s ended %s", d.svc.ID, d.status)
		}
	}

	if ctx.Err() != nil {
		return liftoff.StatusCancelled, ""
	}
	deploying.Do(func() {
		if err := r.e.Store.UpdateRunningDeployment(context.WithoutCancel(ctx), store.UpdateRunningParams{ID: r.d.ID, Status: liftoff.StatusDeploying}); err != nil {
			r.e.Log.Error("record deployment status", "deployment_id", r.d.ID, "err", err)
		}
	})
	r.setStatus(u, liftoff.StatusDeploying)
	env := r.environ(u.svc, u.hosts, u.vars, true)
	if !kube { // the cluster runs them, in Jobs of the image
		if err := r.deployCommand(ctx, u, dir, releaseDir, env, log, "preDeployCommand", u.svc.PreDeployCommand); err != nil {
			return liftoff.StatusDeployError, buildMessage(err)
		}
	}
	switch {
	case kube:
		// Released below, like any other service: a scheduler's jobs
		// become CronJobs.
	case r.e.isJobRelease(u.svc) && u.image != "":
		// Nothing runs until a job does, each in a container of the image.
		log.Printf("==> Released %s: its jobs (%s) run in containers of %s", u.svc.ID, strings.Join(u.svc.JobIDs(), ", "), u.image)
	case r.e.isJobRelease(u.svc):
		// Nothing runs until a job does: the build is the release.
		log.Printf("==> Released %s: its jobs (%s) run in this build", u.svc.ID, strings.Join(u.svc.JobIDs(), ", "))
	}
	if kube || !r.e.isJobRelease(u.svc) {
		log.Printf("==> Releasing %s", u.svc.ID)
		rel := target.Release{ID: u.row.ID, Instance: r.inst, Service: u.svc, ServiceRef: u.row.ServiceID, Root: dir, Dir: releaseDir,
			Hosts: u.hosts, Home: r.home, Env: r.environ(u.svc, u.hosts, u.vars, false), Log: log, Scrub: u.scrub, Image: u.image}
		if !kube { // a cluster runs the site's published image
			rel = siteRelease(rel)
		}
		started := time.Now()
		err := r.targetOf(u.svc).Deploy(ctx, rel)
		r.e.Metrics.Release(result(ctx, err), time.Since(started))
		if err != nil {
			return liftoff.StatusDeployError, redact.Secrets(err.Error())
		}
	}
	if !kube {
		if err := r.deployCommand(ctx, u, dir, releaseDir, env, log, "postDeployCommand", u.svc.PostDeployCommand); err != nil {
			return liftoff.StatusDeployError, buildMessage(err)
		}
	}
	return liftoff.StatusSuccess, ""
}

// publish makes the image a kubernetes service runs: a redeploy's is the
// one its build published; otherwise the target publishes the build
// (or its container image) and the reference is recorded with the
// service deployment, for a redeploy to run it again without a build.
// A redeployed release that ran on the Liftoff host recorded an image of
// its container storage (a tag, no digest), which is published too.
func (r *deployment) publish(u *unit, dir, releaseDir string, log *logstream.Writer) (liftoff.Status, string) {
	if r.e.Kube == nil {
		return liftoff.StatusDeployError, errNoKube
	}
	if u.prebuilt != "" && strings.Contains(u.prebuiltImage, "@sha256:") && u.svc.ContainerImage == nil {
		u.image = u.prebuiltImage
		log.Printf("==> Releasing again the published image %s", u.image)
		return "", ""
	}
	rel := siteRelease(target.Release{ID: u.row.ID, Instance: r.inst, Service: u.svc, ServiceRef: u.row.ServiceID, Root: dir,
		Dir: releaseDir, Hosts: u.hosts, Log: log, Scrub: u.scrub, Image: u.image,
		Origin: target.Origin{ProjectSlug: r.project.Slug, DeploymentID: r.d.ID, Commit: r.commit, RepoURL: r.project.RepoURL}})
	ref, err := r.e.Kube.Publish(u.ctx, rel)
	if err != nil {
		return liftoff.StatusDeployError, redact.Secrets(err.Error())
	}
	u.image = ref
	if err := r.e.Store.UpdateServiceDeployment(u.ctx, store.UpdateServiceDeploymentParams{ID: u.row.ID, Image: ref}); err != nil {
		return liftoff.StatusError, err.Error()
	}
	return "", ""
}

// result names how a build or a release ended, for the metrics.
func result(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return metrics.ResultSuccess
	case ctx.Err() != nil:
		return metrics.ResultCancelled
	}
	return metrics.ResultFailure
}

// build exports the commit into the unit's build directory and runs the
// build commands at its basePath. It returns the build directory.
func (r *deployment) build(ctx context.Context, u *unit, log *logstream.Writer) (string, error) {
	dir := r.e.buildDir(r.d.ProjectID, u.row.ID)
	log.Printf("==> Checking out %s", short(r.commit))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("create the builds directory: %w", err)
	}
	if err := r.mirror.Export(ctx, r.commit, dir); err != nil {
		return "", fmt.Errorf("check out %s: %w", short(r.commit), err)
	}
	if err := r.e.Store.UpdateServiceDeployment(ctx, store.UpdateServiceDeploymentParams{ID: u.row.ID, BuildDir: dir}); err != nil {
		return "", err
	}
	switch {
	case u.svc.BuildType == config.BuildDocker && u.svc.Type == config.TypeStatic:
		if err := r.buildImage(ctx, u, dir, log); err != nil {
			return dir, err
		}
		return dir, r.copySite(ctx, u, dir, log)
	case u.svc.BuildType == config.BuildDocker:
		return dir, r.buildImage(ctx, u, dir, log)
	case u.svc.ContainerImage != nil:
		log.Printf("==> Using the prebuilt image %s", u.svc.ContainerImage.Ref())
		return dir, nil // its image is built; the checkout serves its deploy commands
	}
	releaseDir, err := basePathDir(dir, u.svc.BasePath)
	if err != nil {
		return "", fmt.Errorf("%w at %s", err, short(r.commit))
	}
	timeout := time.Duration(u.svc.BuildTimeoutSecs) * time.Second
	vars := u.vars
	if !u.svc.BuildGetsVariables() {
		vars = nil // includeEnvVariablesInBuild: false
	}
	output := &outputTail{}
	spec := steps.Spec{Dir: releaseDir, Root: dir, Sandbox: r.e.Sandbox, Home: r.home,
		Env: r.environ(u.svc, u.hosts, vars, true), Timeout: timeout, Output: io.MultiWriter(log, output),
		Steps: []steps.Step{
			{Name: "installCommand", Command: u.svc.InstallCommand},
			{Name: "buildCommand", Command: u.svc.BuildCommand},
			{Name: "postBuildCommand", Command: u.svc.PostBuildCommand},
		}}
	// The build cache: the tools' caches pointed into it, cacheDirectories
	// restored into the checkout, and its working copy the one cache
	// directory the sandbox lets the build write.
	cache := r.openCache(ctx, u, log)
	cached := u.svc.CachedDirectories()
	if cache != nil {
		cache.RestoreDirs(dir, releaseDir, cached)
		spec.Env = append(spec.Env, cache.Env(spec.Env, dir, releaseDir)...)
		spec.Writable = []string{cache.Dir()}
	}
	started := time.Now()
	err = steps.Run(ctx, spec)
	if err != nil && cache != nil && cache.Restored() != "" && ctx.Err() == nil && strings.Contains(output.String(), cache.Dir()) {
		// It failed on a file of its cache, as far as its output says:
		// a cache never fails a build.
		log.Printf("==> The build failed on a file of its cache (its output names %s): the cache is dropped, building again from a clean checkout, cold", cache.Dir())
		if err = r.rebuildCold(ctx, cache, dir, u, &spec, timeout-time.Since(started)); err == nil {
			err = steps.Run(ctx, spec)
		}
	}
	if err == nil && cache != nil {
		cache.SaveDirs(dir, releaseDir, cached)
		saveCache(ctx, cache)
	}
	closeCache(ctx, cache, err, log)
	return dir, err
}

// rebuildCold prepares a build to run again, cold, after it failed on its
// cache: the cache dropped, a fresh checkout, what is left of its time.
func (r *deployment) rebuildCold(ctx context.Context, cache *buildcache.Lease, dir string, u *unit, spec *steps.Spec, left time.Duration) error {
	if left <= 0 {
		return fmt.Errorf("the build exceeded buildTimeoutSecs (%d)", u.svc.BuildTimeoutSecs)
	}
	if err := cache.Drop(); err != nil {
		return fmt.Errorf("drop the build cache: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove the failed checkout: %w", err)
	}
	if err := r.mirror.Export(ctx, r.commit, dir); err != nil {
		return fmt.Errorf("check out %s: %w", short(r.commit), err)
	}
	releaseDir, err := basePathDir(dir, u.svc.BasePath)
	if err != nil {
		return fmt.Errorf("%w at %s", err, short(r.commit))
	}
	spec.Dir, spec.Timeout = releaseDir, left
	return nil
}

// outputTail keeps the end of a build's output: whether it names the
// build's cache.
type outputTail struct {
	mu sync.Mutex
	b  []byte
}

// outputTailSize is how much of the output outputTail keeps.
const outputTailSize = 64 << 10

func (t *outputTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - outputTailSize; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *outputTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// deployCommand runs a deployment command of the service: in a one-off
// container of its image for a container release (the tools it needs are
// in the image, such as a migration tool), else in the sandbox at its
// basePath.
func (r *deployment) deployCommand(ctx context.Context, u *unit, root, dir string, env []string, log *logstream.Writer, name string, c config.Command) error {
	if c.IsBlank() {
		return nil
	}
	if u.image == "" {
		return r.runSteps(ctx, root, dir, env, log, 0, commandStep(name, c))
	}
	log.Printf("==> Running %s in a container of %s: %s", name, u.image, c.String())
	err := r.e.Containers.RunOnce(ctx, container.RunSpec{Image: u.image, Command: c.Argv("/bin/sh"), Env: steps.ContainerEnv(env),
		Labels: r.e.oneOffLabels(r.imageLabels(u), "deploy-command"), TempDir: r.e.cfg.DataDir}, log)
	if err != nil {
		return fmt.Errorf("%s failed: %w", name, err)
	}
	return nil
}

// commandStep is the step of a deployment command of the service, in
// either of its forms.
func commandStep(name string, c config.Command) steps.Step {
	return steps.Step{Name: name, Command: c.String(), Args: c.Args}
}

// runSteps runs steps in dir, part of the checkout root, in the sandbox.
func (r *deployment) runSteps(ctx context.Context, root, dir string, env []string, log *logstream.Writer, timeout time.Duration, list ...steps.Step) error {
	return steps.Run(ctx, steps.Spec{Dir: dir, Root: root, Sandbox: r.e.Sandbox, Home: r.home,
		Env: env, Steps: list, Timeout: timeout, Output: log})
}

// basePathDir is where basePath leads in the checkout dir, every symbolic
// link followed: steps and releases run there, so it must be a directory
// inside the checkout.
func basePathDir(dir, basePath string) (string, error) {
	p, err := confine.Resolve(dir, basePath)
	switch {
	case errors.Is(err, confine.ErrOutside):
		return "", fmt.Errorf("basePath %q leads out of the checkout through a symbolic link", basePath)
	case err != nil:
		return "", fmt.Errorf("basePath %q is not a directory", basePath)
	}
	if info, err := os.Stat(p); err != nil || !info.IsDir() {
		return "", fmt.Errorf("basePath %q is not a directory", basePath)
	}
	return p, nil
}

// buildMessage is the sentence of a failed step.
func buildMessage(err error) string {
	return redact.Secrets(err.Error())
}

// targetOf is the target a service releases to.
func (r *deployment) targetOf(s config.Service) target.Target {
	switch {
	case s.Target.Type == config.TargetCommand:
		return r.e.Command
	case r.e.onKube(s) && r.e.Kube != nil:
		return r.e.Kube
	}
	return r.e.Local
}

// onKube reports whether a service releases to a Kubernetes cluster: its
// target says so, or it left the choice to the operator, whose default
// is a cluster.
func (e *Engine) onKube(s config.Service) bool {
	return s.Target.IsKubernetes() || s.Target.IsDefault() && e.KubeDefault
}

// errNoKube is the failure of a kubernetes service on a Liftoff that has
// no cluster.
const errNoKube = `its target is kubernetes, and Liftoff runs without a cluster: start it with --kubeconfig (and --kube-namespace, --kube-registry)`
