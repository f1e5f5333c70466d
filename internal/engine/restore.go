package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
)

// restore kills what a killed Liftoff left running and starts the last
// successful release of every live service again.
func (e *Engine) restore(ctx context.Context) error {
	local, ok := e.Local.(Restorer)
	if !ok {
		return nil
	}
	if err := local.Cleanup(ctx); err != nil {
		e.Log.Warn("clean up releases of a previous run", "err", err)
	}
	live, err := e.Store.LiveReleases(ctx)
	if err != nil {
		return err
	}
	var rels []target.Release
	var errs []error
	for _, sd := range live {
		if e.isJobRelease(sd.Config) {
			continue // nothing runs between its jobs
		}
		if e.onKube(sd.Config) {
			continue // the cluster keeps it running
		}
		rel, err := e.releaseOf(ctx, sd)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", sd.ServiceGivenID, err))
			continue
		}
		if rel.Service.Target.Type == config.TargetCommand {
			continue // nothing runs here
		}
		rels = append(rels, rel)
	}
	if len(rels) > 0 {
		e.Log.Info("starting releases again", "count", len(rels))
		if err := local.Restore(ctx, rels); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// releaseOf rebuilds the release a service deployment made, from what the
// store kept: the service's config and its deployment's config.
func (e *Engine) releaseOf(ctx context.Context, sd liftoff.ServiceDeployment) (target.Release, error) {
	svc := sd.Config
	d, err := e.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: sd.DeploymentID})
	if err != nil {
		return target.Release{}, err
	}
	file, _, err := e.parser.Parse([]byte(d.Config))
	if err != nil {
		return target.Release{}, fmt.Errorf("config of deployment %s: %w", d.ID, err)
	}
	envCfg, ok := file.Environment(d.EnvironmentGivenID)
	if !ok {
		return target.Release{}, fmt.Errorf("environment %s is not in the config of deployment %s", d.EnvironmentGivenID, d.ID)
	}
	project, err := e.Store.GetProject(ctx, store.GetProjectParams{ID: d.ProjectID})
	if err != nil {
		return target.Release{}, err
	}
	r := &deployment{e: e, d: d, project: project, commit: sd.GitCommit, file: file, envCfg: envCfg,
		env:  liftoff.Environment{ID: d.EnvironmentID, GivenID: d.EnvironmentGivenID, IsPreview: d.IsPreview},
		inst: target.Instance{ProjectID: d.ProjectID, EnvironmentID: d.EnvironmentID, EnvGivenID: d.EnvironmentGivenID, PRNumber: d.PRNumber}}
	// Claimed again: the claims are kept, so this finds the same names,
	// and a release made before host names were claimed gets its own.
	hosts, err := e.hostNames(ctx, project, r.inst, svc, r.customHost(svc))
	if err != nil {
		return target.Release{}, err
	}
	// Its variables as they are now (a restart applies what was set since
	// the release was deployed), fromService reading the others' names.
	runnable := envCfg.RunnableServices()
	all := make([][]string, len(runnable))
	for i, s := range runnable {
		if s.ID == svc.ID {
			all[i] = hosts
		} else if all[i], err = e.hostNames(ctx, project, r.inst, s, r.customHost(s)); err != nil {
			return target.Release{}, err
		}
	}
	r.env.ProjectID = d.ProjectID
	snap, err := e.Variables.Load(ctx, r.env)
	if err != nil {
		return target.Release{}, err
	}
	addrs, err := r.addresses(ctx, runnable, all)
	if err != nil {
		return target.Release{}, err
	}
	vars, err := r.resolveOne(snap, addrs, svc)
	if err != nil {
		return target.Release{}, err
	}
	dir, err := basePathDir(sd.BuildDir, svc.BasePath)
	if err != nil {
		return target.Release{}, err
	}
	home, err := e.Sandbox.Home(d.ProjectID, d.EnvironmentGivenID)
	if err != nil {
		return target.Release{}, err
	}
	image := ""
	if svc.RunsAsContainer() {
		if image = sd.Image; svc.ContainerImage != nil {
			image = svc.ContainerImage.Ref()
		}
	}
	return siteRelease(target.Release{ID: sd.ID, Instance: r.inst, Service: svc, ServiceRef: sd.ServiceID, Root: sd.BuildDir, Dir: dir, Hosts: hosts,
		Home: home, Env: r.environ(svc, hosts, vars.Env, false), Log: io.Discard, Scrub: redact.New(vars.Secrets...), Image: image}), nil
}
