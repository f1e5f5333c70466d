package dashboard

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// runtimeData is what runs of an environment, as its settings page shows
// it: each service with the state of its release, and in a preview
// environment each live preview with its last deployment and addresses.
type runtimeData struct {
	Services []serviceRow
	Previews []previewRow
}

// serviceRow is a service as the settings page lists it.
type serviceRow struct {
	Service liftoff.Service
	// States are the states of its releases: one, or one per pull
	// request in a preview environment; none before it ran (or for what
	// Liftoff does not supervise, such as a static site).
	States []liftoff.ServiceState
	// NotDeployed says why Liftoff does not run it; "" when it does.
	NotDeployed string
}

// previewRow is a live preview instance.
type previewRow struct {
	Instance liftoff.PreviewInstance
	// Last is its newest deployment; nil before the first.
	Last *liftoff.Deployment
	// URLs are the addresses of its services, as Get Deployment's
	// serviceDomain shows them.
	URLs []serviceURL
}

// serviceURL is the address of one service.
type serviceURL struct {
	GivenID, URL string
}

// fillRuntime adds what runs to an environment's settings page.
func (d *Dashboard) fillRuntime(ctx context.Context, data *environmentData) error {
	env := data.Env.Environment
	var states map[string][]liftoff.ServiceState
	if d.Supervision != nil {
		var err error
		if states, err = d.Supervision.States(ctx, env.ID); err != nil {
			return err
		}
	}
	for _, s := range data.Env.Services {
		data.Runtime.Services = append(data.Runtime.Services, serviceRow{Service: s, States: states[s.ID], NotDeployed: d.notDeployed(s, states[s.ID])})
	}
	for _, p := range data.Previews {
		if p.Deleted() {
			continue
		}
		row := previewRow{Instance: p}
		ds, err := d.Deployments.List(ctx, store.ListDeploymentsParams{EnvironmentID: env.ID, PRNumber: p.PRNumber, HasPRNumber: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(ds) > 0 {
			row.Last = &ds[0]
		}
		for _, s := range data.Env.Services {
			if !s.Config.ServesDomain() {
				continue
			}
			rel, err := d.Deployments.Release(ctx, s, p.PRNumber)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if rel.ServiceDomain != "" {
				row.URLs = append(row.URLs, serviceURL{GivenID: s.GivenID, URL: rel.ServiceDomain})
			}
		}
		data.Runtime.Previews = append(data.Runtime.Previews, row)
	}
	return nil
}

// notDeployed says why a stored service is not deployed, as Get
// Environment does: a managed resource (rds, elasticache) that this
// Liftoff has no server for, or that its environment's next deployment
// makes. "" for a service that is deployed.
func (d *Dashboard) notDeployed(s liftoff.Service, states []liftoff.ServiceState) string {
	if s.Config.Managed() == "" || len(states) > 0 {
		return ""
	}
	if why := s.Config.NotManagedReason(d.Resources.Available()); why != "" {
		return why
	}
	return "not made yet: the environment's next deployment makes it"
}

// deployNow queues a deployment of the head of the environment's branch,
// as the API's Start Deployment does (hook.Service.Deploy: the same
// refusals, the same joining or superseding of a PENDING deployment), and
// shows it live. force builds every service, whatever changed;
// clearCache from empty build caches (and forces).
func (d *Dashboard) deployNow(w http.ResponseWriter, r *http.Request) error {
	id, err := positive(r.PathValue("environmentId"))
	if err != nil {
		return err
	}
	clearCache := r.PostFormValue("clearCache") == "yes"
	res, err := d.Hooks.Deploy(r.Context(), hook.DeployParams{EnvironmentID: id, Force: r.PostFormValue("force") == "yes" || clearCache,
		ClearCache: clearCache})
	if fe := fail.As(err); fe != nil && fe.Kind != fail.NotFound && fe.Kind != fail.Unavailable && fe.Kind != fail.Internal {
		return d.renderEnvironment(w, r, fail.HTTPStatus(fe), id, func(data *environmentData) {
			data.Errors = formErrors{"deploy": fe.Message}
		})
	}
	if err != nil {
		return notFoundAs(err)
	}
	msg := "Queued deployment " + res.DeploymentID + "."
	if res.Outcome != hook.OutcomeQueued {
		msg = "Deployment " + res.DeploymentID + " was already waiting to deploy the same: it deploys this too."
	}
	return d.redirectWith(w, r, "/deployments/"+res.DeploymentID, msg)
}

// tearDownPreview tears a preview instance down, once confirmed, as the
// API's DELETE /v1/environments/{id}/previews/{prNumber}: its deployments
// are cancelled, its services stopped, its routes and builds removed; its
// deployment history stays, and a later deployment of the pull request
// starts it afresh.
func (d *Dashboard) tearDownPreview(w http.ResponseWriter, r *http.Request) error {
	id, err := positive(r.PathValue("environmentId"))
	if err != nil {
		return err
	}
	pr64, err := positive(r.PathValue("prNumber"))
	if err != nil || pr64 > 1<<31-1 {
		return errNotFound
	}
	pr := int(pr64)
	env, err := d.Deployments.PreviewEnvironment(r.Context(), id)
	if fail.KindOf(err) == fail.Invalid {
		return errNotFound // not a preview environment: no such preview
	}
	if err != nil {
		return notFoundAs(err)
	}
	back := settingsPath(env.ID) + "#previews"
	name := "PR #" + strconv.Itoa(pr)
	if !confirmed(r) {
		return d.askConfirm(w, r, confirmData{Title: "Tear down the preview of " + name + "?",
			Message: "Its deployments are cancelled, its services stopped, its addresses and builds removed. Its deployment history stays; " +
				"a later deployment of the pull request starts a new preview.",
			Button: "Tear down preview", Cancel: back})
	}
	if _, err := d.Deployments.TearDown(r.Context(), env.ID, pr); errors.Is(err, store.ErrNotFound) {
		return d.redirectWith(w, r, back, name+" has no live preview: it was torn down already.")
	} else if err != nil {
		return err
	}
	return d.redirectWith(w, r, back, "Tore down the preview of "+name+".")
}

// stateBadge is the state of one instance of a service.
type stateBadge struct {
	PRNumber int
	State    string
	Class    string
	Restarts int
}

// Badges are the states of the service's instances, for its row.
func (s serviceRow) Badges() []stateBadge {
	out := make([]stateBadge, len(s.States))
	for i, st := range s.States {
		out[i] = stateBadge{PRNumber: st.PRNumber, State: st.State, Class: stateClass(st.State), Restarts: st.Restarts}
	}
	return out
}
