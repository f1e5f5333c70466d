package deployment

import (
	"context"
	"fmt"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Get returns a deployment with its service deployments.
func (s *Service) Get(ctx context.Context, id string) (liftoff.Deployment, error) {
	return s.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: id})
}

// List returns deployments, newest first, as p filters and pages them.
func (s *Service) List(ctx context.Context, p store.ListDeploymentsParams) ([]liftoff.Deployment, error) {
	return s.Store.ListDeployments(ctx, p)
}

// PreviewEnvironment returns environment id if it is a live preview
// environment: store.ErrNotFound when it is not live, Invalid when it is
// not a preview environment.
func (s *Service) PreviewEnvironment(ctx context.Context, id int64) (liftoff.Environment, error) {
	env, err := s.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: id})
	if err == nil && env.Deleted() {
		err = fmt.Errorf("environment %d was deleted: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return env, err
	}
	if !env.IsPreview {
		return env, fail.Invalidf("environment %d (%s) is not a preview environment", env.ID, env.GivenID)
	}
	return env, nil
}

// Previews lists the live preview instances of a preview environment.
func (s *Service) Previews(ctx context.Context, environmentID int64) ([]liftoff.PreviewInstance, error) {
	return s.Store.ListPreviewInstances(ctx, store.ListPreviewInstancesParams{EnvironmentID: environmentID, IncludeDeleted: false})
}

// Await calls cond each time this replica stores deployment output, and at
// least every second (for what other replicas store and change), until
// cond returns true, fails, or ctx ends: how a reader follows deployments
// as they change (the dashboard's live pages) without reading the store in
// a tight loop.
func (s *Service) Await(ctx context.Context, cond func(ctx context.Context) (bool, error)) error {
	return s.output().Await(ctx, 0, cond)
}

// Release returns the release a service instance serves: the service's
// latest successful service deployment in the environment, or in a
// preview environment (prNumber > 0) in the pull request's current
// preview (a preview torn down and started again starts afresh).
// store.ErrNotFound when there is none.
func (s *Service) Release(ctx context.Context, svc liftoff.Service, prNumber int) (liftoff.ServiceDeployment, error) {
	var since time.Time
	if prNumber > 0 {
		inst, err := s.Store.GetPreviewInstance(ctx, store.GetPreviewInstanceParams{EnvironmentID: svc.EnvironmentID, PRNumber: prNumber})
		if err == nil && inst.Deleted() {
			err = fmt.Errorf("the preview of PR #%d was torn down: %w", prNumber, store.ErrNotFound)
		}
		if err != nil {
			return liftoff.ServiceDeployment{}, err
		}
		since = inst.CreatedAt
	}
	return s.Store.LastSuccess(ctx, store.LastSuccessParams{ServiceID: svc.ID, PRNumber: prNumber, Since: since})
}
