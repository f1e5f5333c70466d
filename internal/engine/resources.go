package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/resources"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Runtime states of a managed resource's service instance
// (liftoff.ServiceState.State), beside those of releases.
const (
	stateAvailable = "available" // made, and kept across deployments
	stateDropped   = "dropped"   // its preview was torn down
)

// managedServices are the rds and elasticache services of the
// environment that this Liftoff makes: those of a kind whose server the
// operator gave it.
func (r *deployment) managedServices() []config.Service {
	avail := r.e.Resources.Available()
	var out []config.Service
	for _, s := range r.envCfg.ManagedServices() {
		if s.NotManagedReason(avail) == "" {
			out = append(out, s)
		}
	}
	return out
}

// ensureResources makes each managed service's database or Redis user
// unless it exists, records a service deployment of each (SUCCESS when
// made, NO_CHANGE when kept) and its state, and returns them by service
// id. A failure fails the deployment with the server's words.
func (r *deployment) ensureResources(ctx context.Context, managed []config.Service, rows []liftoff.Service, position map[string]int) (map[string]resources.Resource, error) {
	out := make(map[string]resources.Resource, len(managed))
	for i, s := range managed {
		seed, err := r.seedOf(ctx, s)
		if err != nil {
			return nil, err
		}
		id := resources.Identity{ProjectID: r.project.ID, ProjectSlug: r.project.Slug, EnvironmentID: r.env.ID, EnvGivenID: r.env.GivenID,
			PRNumber: r.d.PRNumber, ServiceID: s.ID}
		started := r.e.now()
		res, created, err := r.e.Resources.Ensure(ctx, id, s, seed)
		now := r.e.now()
		row := liftoff.ServiceDeployment{ID: r.e.NewID(), DeploymentID: r.d.ID, ServiceID: rows[i].ID, ServiceGivenID: s.ID,
			ServiceName: s.Name, ServiceType: s.Type, EnvironmentID: r.env.ID, PRNumber: r.d.PRNumber, GitCommit: r.commit, Config: s,
			Position: position[s.ID], CreatedAt: started, StartedAt: started, FinishedAt: now}
		what := kindWord(s.Managed())
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, causeFailure(ctx)
		case err != nil:
			msg := redact.Secrets(err.Error())
			row.Status, row.Reason = liftoff.StatusError, "could not make its "+what
			row.Errors = []liftoff.ErrorEntry{{Status: liftoff.StatusError, Message: msg}}
			if ierr := r.e.Store.InsertServiceDeployment(ctx, row); ierr != nil {
				return nil, ierr
			}
			r.log.Printf("    %s: error (%s)", s.ID, msg)
			return nil, fail(liftoff.StatusError, "%s: could not make its %s: %s", s.ID, what, msg)
		case created:
			row.Status, row.Reason = liftoff.StatusSuccess, fmt.Sprintf("made its %s %s", what, res.Name)
			if seed != nil {
				row.Reason += " from " + s.SeedFromEnvironment + "'s (" + seed.Name + ")"
			}
		default:
			row.Status, row.Reason = liftoff.StatusNoChange, fmt.Sprintf("its %s %s is kept", what, res.Name)
		}
		if err := r.e.Store.InsertServiceDeployment(ctx, row); err != nil {
			return nil, err
		}
		r.log.Printf("    %s: %s", s.ID, row.Reason)
		if err := r.e.Store.PutServiceState(ctx, liftoff.ServiceState{ServiceID: rows[i].ID, PRNumber: r.d.PRNumber, ReleaseID: res.ID,
			State: stateAvailable, NodeID: r.e.cfg.NodeID, UpdatedAt: now}); err != nil {
			return nil, err
		}
		out[s.ID] = res
	}
	return out, nil
}

// kindWord names what a managed kind makes, for people.
func kindWord(kind string) string {
	if kind == config.ManagedPostgres {
		return "PostgreSQL database"
	}
	return "Redis user"
}

// seedOf is the resource whose database a preview's database of s is
// copied from when it is made (seedFromEnvironment): that environment's
// of the same service id, or nil when there is none yet (the preview's
// starts empty, and the deployment says so).
func (r *deployment) seedOf(ctx context.Context, s config.Service) (*liftoff.ManagedResource, error) {
	if r.d.PRNumber == 0 || s.SeedFromEnvironment == "" {
		return nil, nil
	}
	envs, err := r.e.Store.ListEnvironments(ctx, store.ListEnvironmentsParams{ProjectID: r.project.ID})
	if err != nil {
		return nil, err
	}
	for _, env := range envs {
		if env.GivenID != s.SeedFromEnvironment {
			continue
		}
		m, err := r.e.Store.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: env.ID, ServiceID: s.ID})
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, err
		case m.State == liftoff.ResourceAvailable:
			return &m, nil
		}
	}
	if _, err := r.e.Store.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: r.env.ID, PRNumber: r.d.PRNumber, ServiceID: s.ID}); errors.Is(err, store.ErrNotFound) {
		r.log.Printf("    %s: %s has no database %s yet to copy: the preview's starts empty", s.ID, s.SeedFromEnvironment, s.ID)
	}
	return nil, nil
}

// dropResources drops the databases and Redis users of a torn down
// preview instance, and records their services' state.
func (e *Engine) dropResources(ctx context.Context, env liftoff.Environment, prNumber int) error {
	dropped, err := e.Resources.DropInstance(ctx, env.ID, prNumber)
	if err != nil {
		return fmt.Errorf("drop its databases and Redis users: %w", err)
	}
	if len(dropped) == 0 {
		return nil
	}
	services, err := e.Store.ListServices(ctx, store.ListServicesParams{EnvironmentID: env.ID})
	if err != nil {
		return err
	}
	for _, m := range dropped {
		for _, svc := range services {
			if svc.GivenID != m.ServiceID {
				continue
			}
			if err := e.Store.PutServiceState(ctx, liftoff.ServiceState{ServiceID: svc.ID, PRNumber: prNumber, ReleaseID: m.ID,
				State: stateDropped, NodeID: e.cfg.NodeID, UpdatedAt: e.now()}); err != nil {
				return err
			}
		}
	}
	return nil
}
