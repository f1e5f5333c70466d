package deployment

import (
	"context"
	"fmt"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Runner is what runs deployments on this node: the engine in
// internal/engine. The Service tells it what the store use cases changed,
// so it can act at once instead of at its next heartbeat or sweep.
type Runner interface {
	// CancelRequested: deployment id, running, was asked to stop.
	CancelRequested(id string)
	// InstanceTornDown: a preview instance was torn down.
	InstanceTornDown(environmentID int64, prNumber int)
	// ProjectDeleted: a project with these environments was deleted.
	ProjectDeleted(environmentIDs []int64)
	// Queued: a deployment was queued.
	Queued()
}

// NoRunner is the Runner of a replica that runs no engine: the engines of
// other nodes see the changes in the store.
type NoRunner struct{}

func (NoRunner) CancelRequested(string)      {}
func (NoRunner) InstanceTornDown(int64, int) {}
func (NoRunner) ProjectDeleted([]int64)      {}
func (NoRunner) Queued()                     {}

// Service runs the use cases that change deployments, then tells this
// node's Runner, and reads deployments and their output. Every replica has
// one, engine or not.
type Service struct {
	Store  store.Store
	Limits Limits
	NewID  func() string
	Now    func() time.Time
	// Runner is this node's engine, or NoRunner.
	Runner Runner
	// Output wakes log readers when this replica stores output
	// (internal/logstream). Default (nil): they read the store every
	// second.
	Output Output
	// Deleted, when set, is called after a project's environments were
	// deleted with it, so what keeps them in memory (the hook targets)
	// forgets them.
	Deleted func(environmentIDs []int64)
}

// Cancel ends a PENDING deployment at once and stops a running one (on
// this node at once, on another at its next heartbeat).
func (s *Service) Cancel(ctx context.Context, id string) (liftoff.Deployment, error) {
	d, err := s.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: id})
	if err != nil {
		return d, err
	}
	if d.Status.Final() {
		return d, fail.Conflictf("Deployment %s already ended %s", d.ID, d.Status)
	}
	if d, err = requestCancel(ctx, s.Store, id, s.Now()); err != nil {
		return d, err
	}
	if d.Status.Running() {
		s.Runner.CancelRequested(d.ID)
	}
	return d, nil
}

// Redeploy queues a redeploy of deployment id (see queueRedeploy).
func (s *Service) Redeploy(ctx context.Context, id string) (liftoff.Deployment, error) {
	d, err := queueRedeploy(ctx, s.Store, s.NewID, id, s.Now(), s.Limits)
	if err != nil {
		return d, err
	}
	s.Runner.Queued()
	return d, nil
}

// TearDown tears a preview instance down (see TearDownPreview); the
// Runner stops what it runs of it.
func (s *Service) TearDown(ctx context.Context, environmentID int64, prNumber int) (liftoff.PreviewInstance, error) {
	inst, err := TearDownPreview(ctx, s.Store, environmentID, prNumber, s.Now())
	if err != nil {
		return inst, err
	}
	s.Runner.InstanceTornDown(environmentID, prNumber)
	return inst, nil
}

// DeleteProject marks a project deleted with everything it has (its
// environments, hooks and preview instances), cancels its PENDING
// deployments and asks its running ones to stop; this node's Runner stops
// what it runs of them at once, the other engines their releases when they
// see it.
func (s *Service) DeleteProject(ctx context.Context, id string) (liftoff.Project, error) {
	// Before the deletion: the environments go with the project.
	envs, err := s.Store.ListEnvironments(ctx, store.ListEnvironmentsParams{ProjectID: id})
	if err != nil {
		return liftoff.Project{}, fmt.Errorf("list the environments of project %s: %w", id, err)
	}
	p, err := s.Store.DeleteProject(ctx, store.DeleteProjectParams{ID: id, Message: ProjectDeletedMessage, At: s.Now()})
	if err != nil {
		return p, err
	}
	ids := make([]int64, 0, len(envs))
	for _, env := range envs {
		ids = append(ids, env.ID)
	}
	s.Runner.ProjectDeleted(ids)
	if s.Deleted != nil {
		s.Deleted(ids)
	}
	return p, nil
}

// Queued tells the Runner a deployment was queued (by a hook call or a
// webhook).
func (s *Service) Queued() { s.Runner.Queued() }
