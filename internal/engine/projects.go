package engine

import (
	"context"
	"errors"

	deployments "github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
)

var errProjectDeleted = errors.New(deployments.ProjectDeletedMessage)

// ProjectDeleted starts the cleanup of a deleted project at once: the
// deployments of its environments this node runs are cancelled, and the
// janitor stops its releases as soon as none runs.
func (e *Engine) ProjectDeleted(environmentIDs []int64) {
	ids := map[int64]bool{}
	for _, id := range environmentIDs {
		ids[id] = true
	}
	e.mu.Lock()
	for _, r := range e.running {
		if ids[r.env] {
			r.cancel(errProjectDeleted)
		}
	}
	e.mu.Unlock()
	e.wakeJanitor()
}

// instanceLister is a target that can say which instances it runs
// releases of (the local target).
type instanceLister interface {
	Instances() []target.Instance
}

// sweepDeleted stops the releases this node runs of environments that
// were deleted (their project deleted, or they left its config), and frees
// their host names, once no deployment of them runs any more.
func (e *Engine) sweepDeleted(ctx context.Context) {
	l, ok := e.Local.(instanceLister)
	if !ok {
		return
	}
	for _, inst := range l.Instances() {
		env, err := e.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: inst.EnvironmentID})
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				e.Log.Warn("read the environment of a release", "environment_id", inst.EnvironmentID, "err", err)
			}
			continue
		}
		if !env.Deleted() {
			continue
		}
		running, err := e.Store.InstanceRunning(ctx, store.InstanceRunningParams{EnvironmentID: env.ID, PRNumber: inst.PRNumber})
		if err != nil || running {
			continue // a cancelled deployment is still stopping: next round
		}
		inst.ProjectID, inst.EnvGivenID = env.ProjectID, env.GivenID
		if err := e.Local.StopInstance(ctx, inst); err != nil {
			e.Log.Warn("stop the releases of a deleted environment", "environment", env.GivenID, "pr", inst.PRNumber, "err", err)
			continue
		}
		if err := e.Store.ReleaseHosts(ctx, store.ReleaseHostsParams{EnvironmentID: env.ID, PRNumber: inst.PRNumber}); err != nil {
			e.Log.Warn("free the host names of a deleted environment", "environment", env.GivenID, "err", err)
		}
		e.Log.Info("releases of a deleted environment stopped", "environment_id", env.ID, "environment", env.GivenID, "pr", inst.PRNumber)
	}
}
