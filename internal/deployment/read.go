package deployment

import (
	"context"
	"fmt"

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
