package engine

import (
	"context"
	"errors"
	"fmt"

	deployments "github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/liftoff"
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
		if err := e.stopInstance(ctx, inst); err != nil {
			e.Log.Warn("stop the releases of a deleted environment", "environment", env.GivenID, "pr", inst.PRNumber, "err", err)
			continue
		}
		if err := e.Store.ReleaseHosts(ctx, store.ReleaseHostsParams{EnvironmentID: env.ID, PRNumber: inst.PRNumber}); err != nil {
			e.Log.Warn("free the host names of a deleted environment", "environment", env.GivenID, "err", err)
		}
		e.Log.Info("releases of a deleted environment stopped", "environment_id", env.ID, "environment", env.GivenID, "pr", inst.PRNumber)
	}
}

// sweepDeletedProjects removes from this node's container storage what
// deleted projects left there, once nothing of theirs runs here any more
// (no deployment, no release of the local target): every container
// labelled with the project (LabelProject: a one-off container, a
// release's left over) and the image tags under
// localhost/liftoff/<slug>/. When a live project has taken the slug
// meanwhile, the tags are its own now and stay. cleaned remembers the
// projects done, so that each is done once per start of the node.
// Their build caches go too.
func (e *Engine) sweepDeletedProjects(ctx context.Context, cleaned map[string]bool) {
	if e.Containers == nil && e.BuildCache == nil {
		return
	}
	deleted, err := e.Store.ListDeletedProjects(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.Log.Warn("list deleted projects", "err", err)
		}
		return
	}
	var busy map[string]bool
	for _, p := range deleted {
		if cleaned[p.ID] {
			continue
		}
		if busy == nil {
			busy = e.busyProjects(ctx)
		}
		if busy[p.ID] {
			continue // a cancelled deployment is still stopping, or its releases: next round
		}
		if e.BuildCache != nil {
			if err := e.BuildCache.RemoveProject(p.ID); err != nil {
				e.Log.Warn("remove the build caches of a deleted project", "project_id", p.ID, "err", err)
				continue
			}
		}
		if e.Containers == nil {
			cleaned[p.ID] = true
			continue
		}
		containers, images, err := e.removeProjectLeftovers(ctx, p)
		if err != nil {
			e.Log.Warn("remove the containers and images of a deleted project", "project_id", p.ID, "slug", p.Slug, "err", err)
			continue
		}
		cleaned[p.ID] = true
		if containers > 0 || images > 0 {
			e.Log.Info("containers and images of a deleted project removed", "project_id", p.ID, "slug", p.Slug,
				"containers", containers, "image_tags", images)
		}
	}
}

// busyProjects are the projects of which this node runs a deployment or a
// release of the local target.
func (e *Engine) busyProjects(ctx context.Context) map[string]bool {
	busy := map[string]bool{}
	e.mu.Lock()
	for _, r := range e.running {
		busy[r.project] = true
	}
	e.mu.Unlock()
	l, ok := e.Local.(instanceLister)
	if !ok {
		return busy
	}
	for _, inst := range l.Instances() {
		if inst.ProjectID != "" {
			busy[inst.ProjectID] = true
			continue
		}
		env, err := e.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: inst.EnvironmentID})
		if err == nil {
			busy[env.ProjectID] = true
		}
	}
	return busy
}

// removeProjectLeftovers removes the containers labelled with a deleted
// project and its image tags, and says how many of each.
func (e *Engine) removeProjectLeftovers(ctx context.Context, p liftoff.Project) (containers, images int, err error) {
	left, err := e.Containers.List(ctx, map[string]string{LabelProject: p.ID})
	if err != nil {
		return 0, 0, fmt.Errorf("list its containers: %w", err)
	}
	for _, st := range left {
		if err := e.Containers.Remove(ctx, st.Name); err != nil {
			return containers, 0, fmt.Errorf("remove container %s: %w", st.Name, err)
		}
		containers++
	}
	if p.Slug != "" {
		live, err := e.Store.GetProjectBySlug(ctx, store.GetProjectBySlugParams{Slug: p.Slug})
		switch {
		case err == nil:
			e.Log.Info("the images of a deleted project stay: a live project has its slug now", "project_id", p.ID,
				"slug", p.Slug, "live_project_id", live.ID)
			return containers, 0, nil
		case !errors.Is(err, store.ErrNotFound):
			return containers, 0, err
		}
	}
	images, err = e.removeImageTags(ctx, projectImages(p))
	if err != nil {
		return containers, images, fmt.Errorf("remove its images: %w", err)
	}
	return containers, images, nil
}
