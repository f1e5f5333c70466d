package engine

import (
	"context"
	"fmt"
	"strconv"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
)

// hostNames claims and returns the host names a service answers at
// through the local target's proxy: its custom domain first (custom, from
// customHost), then the short name when this project was the first to
// deploy there, then the long name, which carries the project's slug and
// is always the project's own. Services the proxy does not serve get
// none. A long name or a domain another project or instance holds is a
// *failure naming both.
func (e *Engine) hostNames(ctx context.Context, project liftoff.Project, inst target.Instance, svc config.Service, custom string) ([]string, error) {
	if svc.Target.Type == config.TargetCommand || !svc.ServesDomain() {
		return nil, nil
	}
	var hosts []string
	if custom != "" {
		if err := e.claimDomain(ctx, project, inst, svc, custom); err != nil {
			return nil, err
		}
		hosts = append(hosts, custom)
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
		return append(hosts, short, long), nil
	}
	return append(hosts, long), nil
}

// customHost is the custom host name of a service of the deployment's
// instance: the service's domain in a normal environment, the name the
// environment's previewDomain gives in a preview instance; "" for none.
func (r *deployment) customHost(s config.Service) string {
	if !s.ServesDomain() {
		return ""
	}
	if r.inst.PRNumber > 0 {
		return r.envCfg.PreviewHost(s.ID, r.inst.PRNumber)
	}
	return s.Domain
}

// claimDomain claims a custom domain for svc of inst: one host leads to
// one service, so a domain another project or another environment
// instance holds is a *failure naming both services.
func (e *Engine) claimDomain(ctx context.Context, project liftoff.Project, inst target.Instance, svc config.Service, host string) error {
	held, err := e.Store.ClaimHost(ctx, liftoff.HostClaim{Host: host, ProjectID: project.ID, EnvironmentID: inst.EnvironmentID,
		PRNumber: inst.PRNumber, ServiceID: svc.ID, CreatedAt: e.now()})
	if err != nil {
		return err
	}
	if held.ProjectID == project.ID && held.EnvironmentID == inst.EnvironmentID && held.PRNumber == inst.PRNumber {
		return nil
	}
	other := "project " + held.ProjectID
	if p, err := e.Store.GetProject(ctx, store.GetProjectParams{ID: held.ProjectID}); err == nil {
		other = fmt.Sprintf("project %q (%s)", p.Name, p.ID)
	}
	env := strconv.FormatInt(held.EnvironmentID, 10)
	if en, err := e.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: held.EnvironmentID}); err == nil {
		env = en.GivenID
	}
	if held.PRNumber > 0 {
		env += " (pull request #" + strconv.Itoa(held.PRNumber) + ")"
	}
	holder := held.ServiceID
	if holder == "" {
		holder = "a service"
	} else {
		holder = "service " + holder
	}
	return fail(liftoff.StatusError, "domain %s of service %s in project %q (%s), environment %s, is already used by %s of %s, environment %s: a host leads to one service; remove the domain from one of them (a domain removed from a config is freed by the next deployment of its environment)",
		host, svc.ID, project.Name, project.ID, inst.Key(), holder, other, env)
}

// releaseUnusedDomains frees the custom domains the instance claimed that
// no service of the deployed config has any more.
func (r *deployment) releaseUnusedDomains(ctx context.Context, runnable []config.Service) error {
	var keep []string
	for _, s := range runnable {
		if h := r.customHost(s); h != "" && s.Target.Type != config.TargetCommand {
			keep = append(keep, h)
		}
	}
	freed, err := r.e.Store.ReleaseUnusedDomains(ctx, store.ReleaseUnusedDomainsParams{EnvironmentID: r.inst.EnvironmentID, PRNumber: r.inst.PRNumber, Keep: keep})
	if err != nil {
		return err
	}
	for _, h := range freed {
		r.log.Printf("Domain %s is no longer in the config: freed", h)
	}
	return nil
}
