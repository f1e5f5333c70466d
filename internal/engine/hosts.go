package engine

import (
	"context"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
)

// hostNames claims and returns the host names a service answers at
// through the local target's proxy: the long name, which carries the
// project's slug and is always the project's own, and before it the short
// one when this project was the first to deploy there. Services the proxy
// does not serve get none. A long name another project holds (ids that
// spell the same name in another form) is a *failure naming both.
func (e *Engine) hostNames(ctx context.Context, project liftoff.Project, inst target.Instance, svc config.Service) ([]string, error) {
	if svc.Target.Type == config.TargetCommand || (svc.Type != config.TypeWeb && svc.Type != config.TypeStatic) {
		return nil, nil
	}
	slug := project.Slug
	if slug == "" {
		slug = project.ID // only until the next start gives it a slug
	}
	short, long := target.HostNames(inst, svc.ID, slug)
	claim := func(host string) (liftoff.HostClaim, error) {
		return e.Store.ClaimHost(ctx, liftoff.HostClaim{Host: host, ProjectID: project.ID, EnvironmentID: inst.EnvironmentID,
			PRNumber: inst.PRNumber, CreatedAt: e.now()})
	}
	held, err := claim(long)
	if err != nil {
		return nil, err
	}
	if held.ProjectID != project.ID {
		other := held.ProjectID
		if p, err := e.Store.GetProject(ctx, store.GetProjectParams{ID: held.ProjectID}); err == nil {
			other = fmt.Sprintf("%q (%s)", p.Name, p.ID)
		}
		return nil, fail(liftoff.StatusError, "host name %s of service %s in project %q (%s) is already used by project %s: rename the environment or the service in one of them",
			long, svc.ID, project.Name, project.ID, other)
	}
	held, err = claim(short)
	if err != nil {
		return nil, err
	}
	if held.ProjectID == project.ID {
		return []string{short, long}, nil
	}
	return []string{long}, nil
}
