package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	deployments "github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
)

// InstanceTornDown cleans a torn down preview instance up at once: the
// deployment of it this node runs is cancelled, the janitor woken.
func (e *Engine) InstanceTornDown(environmentID int64, prNumber int) {
	e.cancelInstance(environmentID, prNumber)
	e.wakeJanitor()
}

// cancelInstance cancels, on this node, the running deployment of an
// instance (other nodes see the request at their next heartbeat).
func (e *Engine) cancelInstance(environmentID int64, prNumber int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.running {
		if r.env == environmentID && r.pr == prNumber {
			r.cancel(errTornDown)
		}
	}
}

var errTornDown = errors.New(deployments.TornDownMessage)

func (e *Engine) wakeJanitor() {
	select {
	case e.janitorWake <- struct{}{}:
	default:
	}
}

// janitor tears down preview instances whose time has come (a scheduled
// teardown, previewTtlHours) and cleans up torn down ones: stops their
// releases, removes their routes and builds; and cleans up after deleted
// environments and projects.
func (e *Engine) janitor() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.JanitorEvery)
	defer t.Stop()
	cleaned := map[string]bool{} // deleted projects whose containers and images this node removed
	for {
		e.sweepPreviews(e.runCtx)
		e.sweepDeleted(e.runCtx)
		e.sweepDeletedProjects(e.runCtx, cleaned)
		select {
		case <-e.stop:
			return
		case <-t.C:
		case <-e.janitorWake:
		}
	}
}

func (e *Engine) sweepPreviews(ctx context.Context) {
	now := e.now()
	envs, err := e.Store.ListPreviewEnvironments(ctx)
	if err != nil {
		e.Log.Error("list preview environments", "err", err)
		return
	}
	var ids []int64
	var stale []time.Time
	byID := map[int64]liftoff.Environment{}
	for _, env := range envs {
		byID[env.ID] = env
		if cfg := env.Config; cfg.PreviewTTLHours > 0 {
			ids = append(ids, env.ID)
			stale = append(stale, now.Add(-time.Duration(cfg.PreviewTTLHours)*time.Hour))
		}
	}
	due, err := e.Store.PreviewsDue(ctx, store.PreviewsDueParams{Now: now, EnvironmentIDs: ids, StaleBefore: stale})
	if err != nil {
		e.Log.Error("previews due for teardown", "err", err)
	}
	for _, p := range due {
		if _, err := deployments.TearDownPreview(ctx, e.Store, p.EnvironmentID, p.PRNumber, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			e.Log.Error("tear down preview", "environment_id", p.EnvironmentID, "pr", p.PRNumber, "err", err)
			continue
		}
		e.cancelInstance(p.EnvironmentID, p.PRNumber)
		e.Log.Info("preview torn down", "environment_id", p.EnvironmentID, "pr", p.PRNumber, "reason", teardownReason(p, now))
	}
	clean, err := e.Store.PreviewsToClean(ctx)
	if err != nil {
		e.Log.Error("previews to clean", "err", err)
		return
	}
	// Each instance is cleaned on its own, and the sweep does not wait: a
	// cleanup that waits on the container CLI (busy with a build) or on a
	// release's stop grace keeps no other preview serving, this round or
	// the next. An instance being cleaned is not started again; at most
	// maxCleanups run at once.
	for _, p := range clean {
		key := instanceKey{p.EnvironmentID, p.PRNumber}
		if !e.startCleanup(key) {
			continue
		}
		e.cleanups.Go(func() {
			defer e.endCleanup(key)
			select {
			case e.cleanupSlots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-e.cleanupSlots }()
			if err := e.cleanPreview(ctx, p, byID[p.EnvironmentID]); err != nil {
				e.Log.Warn("clean up a torn down preview", "environment_id", p.EnvironmentID, "pr", p.PRNumber, "err", err)
			}
		})
	}
}

// maxCleanups bounds the torn down previews cleaned at once.
const maxCleanups = 4

// instanceKey names a preview instance.
type instanceKey struct {
	environmentID int64
	prNumber      int
}

// startCleanup marks an instance being cleaned; false when it already is.
func (e *Engine) startCleanup(k instanceKey) bool {
	e.cleanMu.Lock()
	defer e.cleanMu.Unlock()
	if e.cleaning[k] {
		return false
	}
	e.cleaning[k] = true
	return true
}

func (e *Engine) endCleanup(k instanceKey) {
	e.cleanMu.Lock()
	defer e.cleanMu.Unlock()
	delete(e.cleaning, k)
}

func teardownReason(p liftoff.PreviewInstance, now time.Time) string {
	if !p.TeardownAt.IsZero() && !p.TeardownAt.After(now) {
		return "scheduled (pull request closed)"
	}
	return "no deployment within previewTtlHours"
}

// cleanPreview stops a torn down instance's releases, removes its builds
// and drops its databases and Redis users, once no deployment of it runs
// any more.
func (e *Engine) cleanPreview(ctx context.Context, p liftoff.PreviewInstance, env liftoff.Environment) error {
	running, err := e.Store.InstanceRunning(ctx, store.InstanceRunningParams{EnvironmentID: p.EnvironmentID, PRNumber: p.PRNumber})
	if err != nil || running {
		return err // a cancelled deployment is still stopping: next round
	}
	if env.ID == 0 {
		if env, err = e.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: p.EnvironmentID}); err != nil {
			return err
		}
	}
	inst := target.Instance{ProjectID: env.ProjectID, EnvironmentID: env.ID, EnvGivenID: env.GivenID, PRNumber: p.PRNumber}
	if err := e.stopInstance(ctx, inst); err != nil {
		return fmt.Errorf("stop releases: %w", err)
	}
	// Its host names are free for whichever project deploys there next.
	if err := e.Store.ReleaseHosts(ctx, store.ReleaseHostsParams{EnvironmentID: p.EnvironmentID, PRNumber: p.PRNumber}); err != nil {
		return err
	}
	builds, err := e.Store.InstanceBuilds(ctx, store.InstanceBuildsParams{EnvironmentID: p.EnvironmentID, PRNumber: p.PRNumber})
	if err != nil {
		return err
	}
	for _, sd := range builds {
		if err := os.RemoveAll(sd.BuildDir); err != nil {
			return fmt.Errorf("remove build: %w", err)
		}
		if err := e.Store.ClearBuildDir(ctx, store.ClearBuildDirParams{ServiceDeploymentID: sd.ID}); err != nil {
			return err
		}
	}
	if project, err := e.Store.GetProject(ctx, store.GetProjectParams{ID: env.ProjectID}); err == nil {
		if _, err := e.removeInstanceImages(ctx, project, env.GivenID, p.PRNumber); err != nil {
			return fmt.Errorf("remove images: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// Its build caches are its own too.
	if e.BuildCache != nil {
		if err := e.BuildCache.RemoveInstance(env.ProjectID, env.GivenID, p.PRNumber); err != nil {
			e.Log.Warn("remove the build caches of a torn down preview", "environment", env.GivenID, "pr", p.PRNumber, "err", err)
		}
	}
	// Its databases and Redis users go with it: a preview's are its own.
	if e.Resources != nil {
		if err := e.dropResources(ctx, env, p.PRNumber); err != nil {
			return err
		}
	}
	if err := e.Store.MarkPreviewCleaned(ctx, store.MarkPreviewCleanedParams{EnvironmentID: p.EnvironmentID, PRNumber: p.PRNumber, At: e.now()}); err != nil {
		return err
	}
	e.Log.Info("preview cleaned up", "environment", env.GivenID, "pr", p.PRNumber, "builds_removed", len(builds))
	e.wakeWorkers() // a deployment of the same PR may have waited for the cleanup
	return nil
}

// stopInstance stops an instance's releases on the targets that run
// them: the Liftoff host's, and the cluster's when there is one.
func (e *Engine) stopInstance(ctx context.Context, inst target.Instance) error {
	err := e.Local.StopInstance(ctx, inst)
	if e.Kube != nil {
		err = errors.Join(err, e.Kube.StopInstance(ctx, inst))
	}
	return err
}
