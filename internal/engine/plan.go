package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/watch"
)

// unit is one service of a running deployment.
type unit struct {
	svc    config.Service
	hosts  []string // where the proxy serves it (target.Release.Hosts)
	row    liftoff.ServiceDeployment
	deps   []*unit       // services of this deployment it depends on
	done   chan struct{} // closed when it has its final status
	status liftoff.Status
	errMsg string
	// prebuilt is set for a redeploy: the kept build to release again,
	// and its image for a container release.
	prebuilt, prebuiltImage string
	// image is what a container release runs, once built.
	image string
	// vars are its variables, resolved; scrub hides the secret ones in
	// its output, its errors and its release's output; secretNames are
	// the variables whose values are secret.
	vars        map[string]string
	scrub       *redact.Scrubber
	secretNames map[string]bool
	ctx         context.Context
	cancel      context.CancelCauseFunc
}

// plan decides which services deploy and records a service deployment for
// every service. It returns the units that deploy.
func (r *deployment) plan(ctx context.Context) ([]*unit, error) {
	st := r.e.Store
	runnable := r.envCfg.RunnableServices()
	managed := r.managedServices()
	if len(runnable) == 0 && len(managed) == 0 {
		return nil, fail(liftoff.StatusError, "environment %q has no service Liftoff runs at %s: %s", r.env.GivenID, short(r.commit),
			config.NotRunSummary(r.envCfg.Services))
	}
	// Rows keep the order of the config, services Liftoff does not run
	// included.
	position := make(map[string]int, len(r.envCfg.Services))
	for i, s := range r.envCfg.Services {
		position[s.ID] = i
	}
	specs := make([]store.ServiceSpec, 0, len(runnable)+len(managed))
	for _, s := range append(append([]config.Service(nil), runnable...), managed...) {
		specs = append(specs, store.ServiceSpec{GivenID: s.ID, Name: s.Name, Type: s.Type, Config: s})
	}
	services, err := st.EnsureServices(ctx, store.EnsureServicesParams{EnvironmentID: r.env.ID, Services: specs, At: r.e.now(), NewServiceID: r.e.NewID})
	if err != nil {
		return nil, err
	}
	// The databases and Redis users first: the others' variables read
	// them, so each is made before any service of the deployment builds.
	made, err := r.ensureResources(ctx, managed, services[len(runnable):], position)
	if err != nil {
		return nil, err
	}
	services = services[:len(runnable)]

	// Host names first: fromService variables read them. The domains
	// the config no longer has are freed first, so one can move to
	// another service.
	if err := r.releaseUnusedDomains(ctx, runnable); err != nil {
		return nil, err
	}
	hosts := make([][]string, len(runnable))
	hostFailed := make([]string, len(runnable))
	for i, s := range runnable {
		if hosts[i], err = r.e.hostNames(ctx, r.project, r.inst, s, r.customHost(s)); err != nil {
			var f *failure
			if !errors.As(err, &f) {
				return nil, err
			}
			hostFailed[i] = f.msg
		}
	}
	vars, err := r.resolveVariables(ctx, runnable, hosts, made)
	if err != nil {
		return nil, err
	}
	var secrets []string
	fingerprints := make([]string, len(runnable))
	for i, s := range runnable {
		secrets = append(secrets, vars[i].Secrets...)
		fingerprints[i] = r.fingerprint(s, vars[i])
	}
	// From here on the deployment's own lines may quote a secret value
	// (a command's error): they are scrubbed of every service's.
	r.log.Scrub(redact.New(secrets...))

	var choices []choice
	if r.d.RedeployOf != "" {
		choices, err = r.redeployChoices(ctx, runnable, services)
	} else {
		choices, err = r.decide(ctx, runnable, services, fingerprints)
	}
	if err != nil {
		return nil, err
	}
	for i, msg := range hostFailed {
		if msg != "" {
			choices[i] = choice{reason: "its host name is taken", failed: msg}
		}
	}
	for i, s := range runnable {
		if s.RunsAsContainer() && r.e.Containers == nil && choices[i].failed == "" {
			choices[i] = choice{reason: noContainerCLI}
		}
	}

	now := r.e.now()
	var units []*unit
	byID := map[string]*unit{}
	for i, s := range runnable {
		row := liftoff.ServiceDeployment{ID: r.e.NewID(), DeploymentID: r.d.ID, ServiceID: services[i].ID, ServiceGivenID: s.ID,
			ServiceName: s.Name, ServiceType: s.Type, ServiceDomain: r.targetOf(s).Domain(s, hosts[i]), Reason: choices[i].reason,
			EnvironmentID: r.env.ID, PRNumber: r.d.PRNumber, GitCommit: r.commit, Config: s, Position: position[s.ID], CreatedAt: now,
			Fingerprint: fingerprints[i]}
		c := choices[i]
		verb := "deploy"
		switch {
		case c.deploy:
			row.Status = liftoff.StatusPending
		case c.failed != "":
			row.Status, row.FinishedAt, verb = liftoff.StatusError, now, "error"
			row.Errors = []liftoff.ErrorEntry{{Status: liftoff.StatusError, Message: c.failed}}
			r.failed = append(r.failed, liftoff.ErrorEntry{Status: liftoff.StatusError, Message: s.ID + ": " + c.failed})
		default:
			row.Status, row.FinishedAt, verb = liftoff.StatusNoChange, now, "skip"
		}
		if err := st.InsertServiceDeployment(ctx, row); err != nil {
			return nil, err
		}
		r.log.Printf("    %s: %s (%s)", s.ID, verb, c.reason)
		if c.deploy {
			u := &unit{svc: s, hosts: hosts[i], row: row, done: make(chan struct{}), prebuilt: c.prebuilt, prebuiltImage: c.prebuiltImage,
				vars: vars[i].Env, scrub: redact.New(vars[i].Secrets...), secretNames: vars[i].SecretNames}
			units = append(units, u)
			byID[s.ID] = u
		}
	}
	if err := r.recordNotRun(ctx, position, now); err != nil {
		return nil, err
	}
	// Only services deploying here are waited for: the others keep what
	// already runs.
	for _, u := range units {
		for _, dep := range u.svc.DependsOn {
			if d := byID[dep]; d != nil {
				u.deps = append(u.deps, d)
			}
		}
	}
	return units, nil
}

// recordNotRun lists the services of the config that Liftoff does not run
// (rds, s3 ...) as ended NO_CHANGE, with why: Get Deployment then shows
// every service of the environment, each with a status that a client
// written for Flightcontrol knows.
func (r *deployment) recordNotRun(ctx context.Context, position map[string]int, now time.Time) error {
	avail := r.e.Resources.Available()
	for _, s := range r.envCfg.Services {
		why := s.NotRunReason()
		if s.Managed() != "" {
			// Made (its row says how it went), or not, for want of a
			// server of its kind.
			why = s.NotManagedReason(avail)
		}
		if why == "" {
			continue
		}
		row := liftoff.ServiceDeployment{ID: r.e.NewID(), DeploymentID: r.d.ID, ServiceGivenID: s.ID, ServiceName: s.Name,
			ServiceType: s.Type, Status: liftoff.StatusNoChange, Reason: "not deployed: " + why, FinishedAt: now,
			EnvironmentID: r.env.ID, PRNumber: r.d.PRNumber, GitCommit: r.commit, Position: position[s.ID], CreatedAt: now}
		if err := r.e.Store.InsertServiceDeployment(ctx, row); err != nil {
			return err
		}
		r.log.Printf("    %s: not deployed (%s)", s.ID, why)
	}
	return nil
}

// choice is what a deployment does with one service.
type choice struct {
	deploy   bool
	reason   string // why, for people
	failed   string // it cannot deploy: the error
	prebuilt string // a redeploy: the kept build to release again
	// prebuiltImage is the redeployed release's image, for a container.
	prebuiltImage string
}

// decide runs the watch-path decision: each service against the changes
// since its own last success in this environment instance.
func (r *deployment) decide(ctx context.Context, runnable []config.Service, services []liftoff.Service, fingerprints []string) ([]choice, error) {
	changes := map[string]*watch.ChangeSet{} // by base commit
	in := make([]watch.Service, len(runnable))
	for i, s := range runnable {
		ws := watch.Service{ID: s.ID, WatchPaths: s.WatchPaths}
		last, err := r.e.Store.LastSuccess(ctx, store.LastSuccessParams{ServiceID: services[i].ID, PRNumber: r.d.PRNumber, Since: r.since})
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			ws.Base = last.GitCommit
			ws.ConfigChanged = last.Fingerprint != fingerprints[i]
		}
		if ws.Base != "" && !r.d.Force {
			cs, known := changes[ws.Base]
			if !known {
				has, err := r.mirror.HasCommit(ctx, ws.Base)
				if err != nil {
					return nil, r.gitFailure(ctx, "look up base commit "+short(ws.Base), err)
				}
				if has {
					files, err := r.mirror.ChangedFiles(ctx, ws.Base, r.commit)
					if err != nil {
						return nil, r.gitFailure(ctx, "diff "+short(ws.Base)+".."+short(r.commit), err)
					}
					cs = watch.NewChangeSet(files)
				}
				changes[ws.Base] = cs
			}
			ws.Changes, ws.BaseMissing = cs, cs == nil
		}
		in[i] = ws
	}
	decisions, err := watch.Decide(r.d.Force, in)
	if err != nil {
		return nil, fail(liftoff.StatusError, "%s", err.Error())
	}
	choices := make([]choice, len(decisions))
	for i, d := range decisions {
		choices[i] = choice{deploy: d.Deploy, reason: d.Reason}
	}
	return choices, nil
}

// redeployChoices release again, for each service, the build that was live
// right after the redeployed deployment.
func (r *deployment) redeployChoices(ctx context.Context, runnable []config.Service, services []liftoff.Service) ([]choice, error) {
	orig, err := r.e.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: r.d.RedeployOf})
	if err != nil {
		return nil, err
	}
	choices := make([]choice, len(runnable))
	for i, s := range runnable {
		src, err := r.e.Store.LastSuccess(ctx, store.LastSuccessParams{ServiceID: services[i].ID, PRNumber: r.d.PRNumber,
			Since: r.since, Before: orig.FinishedAt})
		switch {
		case errors.Is(err, store.ErrNotFound):
			choices[i].reason = "it had not deployed successfully by then"
			continue
		case err != nil:
			return nil, err
		}
		if src.BuildDir == "" || !exists(src.BuildDir) {
			msg := fmt.Sprintf("the build of %s from %s is no longer kept (see versionHistoryCount)", s.ID, short(src.GitCommit))
			choices[i] = choice{reason: msg, failed: msg}
			continue
		}
		choices[i] = choice{deploy: true, prebuilt: src.BuildDir, prebuiltImage: src.Image,
			reason: fmt.Sprintf("redeploy of the build from %s (%s)", short(src.GitCommit), src.DeploymentID)}
	}
	return choices, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// buildDir is where a service deployment's build lives: under its
// project's directory, so every runtime name carries the project.
func (e *Engine) buildDir(projectID, serviceDeploymentID string) string {
	return filepath.Join(e.cfg.DataDir, "builds", projectID, serviceDeploymentID)
}
