package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/token"
)

// recentCalls is how many of each hook's calls the settings page shows.
const recentCalls = 5

// environmentData is an environment's settings page: its services, its
// Deploy Hooks, its previews and its recent deployments.
type environmentData struct {
	Project     liftoff.Project
	Env         project.EnvironmentView
	Hooks       []hookRow
	Previews    []liftoff.PreviewInstance
	Deployments []deploymentRow
	CanDeploy   bool
	// Runtime is what runs: the services' state, the previews' last
	// deployments and addresses (runtime.go).
	Runtime runtimeData
	// Created is the hook just created or rotated, whose full URL this
	// answer shows, once.
	Created *createdHook
	// Form is what the create form was sent with, and Errors its
	// refusals, when it is shown again.
	Form   struct{ Name string }
	Errors formErrors
}

// hookRow is a hook as the settings page lists it: never its secret.
type hookRow struct {
	Hook      liftoff.Hook
	MaskedURL string
	Calls     []liftoff.HookCall
}

// createdHook is a hook's full URL, shown once.
type createdHook struct {
	Name    string
	URL     string
	Rotated bool
	// PreviousExpiresAt is when the secret before a rotation stops
	// working; zero when it stopped at once.
	PreviousExpiresAt time.Time
	Preview           bool
	// Curl is how to call it from a shell.
	Curl string
}

func (d *Dashboard) environmentPage(w http.ResponseWriter, r *http.Request) error {
	id, err := positive(r.PathValue("environmentId"))
	if err != nil {
		return err
	}
	return d.renderEnvironment(w, r, http.StatusOK, id, func(*environmentData) {})
}

// renderEnvironment shows an environment's settings page, as fill
// changes it (a hook just created, a form's refusal).
func (d *Dashboard) renderEnvironment(w http.ResponseWriter, r *http.Request, status int, id int64, fill func(*environmentData)) error {
	ctx := r.Context()
	ev, err := d.Projects.Environment(ctx, id)
	if err != nil {
		return notFoundAs(err)
	}
	if ev.Environment.Deleted() {
		return errNotFound
	}
	p, err := d.Projects.Get(ctx, ev.Environment.ProjectID)
	if err != nil {
		return notFoundAs(err)
	}
	data := environmentData{Project: p.Project, Env: ev, CanDeploy: viewerOf(r).may(apikey.NeedDeploy, id)}
	hooks, err := d.Hooks.List(ctx, id)
	if err != nil {
		return notFoundAs(err)
	}
	masked := d.Hooks.URL(ev.Environment, token.HookPrefix+"••••••••")
	for _, h := range hooks {
		calls, err := d.Hooks.Calls(ctx, h.ID, recentCalls)
		if err != nil {
			return notFoundAs(err)
		}
		data.Hooks = append(data.Hooks, hookRow{Hook: h, MaskedURL: masked, Calls: calls})
	}
	if ev.Environment.IsPreview {
		if data.Previews, err = d.Deployments.Previews(ctx, id); err != nil {
			return err
		}
	}
	ds, err := d.Deployments.List(ctx, store.ListDeploymentsParams{EnvironmentID: id, Limit: 10})
	if err != nil {
		return err
	}
	data.Deployments = rowsOf(ds)
	if err := d.fillRuntime(ctx, &data); err != nil {
		return err
	}
	fill(&data)
	return d.render(w, r, status, "environment", envName(ev.Environment)+" settings", data)
}

// createHook makes a deploy hook and answers the settings page with its
// full URL, shown this once: it is not stored, so no later page can show
// it (a rotation gives a new one).
func (d *Dashboard) createHook(w http.ResponseWriter, r *http.Request) error {
	id, err := positive(r.PathValue("environmentId"))
	if err != nil {
		return err
	}
	name := r.PostFormValue("name")
	c, err := d.Hooks.Create(r.Context(), id, name)
	if err != nil {
		if fe := fail.As(err); fe != nil && fe.Kind == fail.Invalid {
			return d.renderEnvironment(w, r, http.StatusBadRequest, id, func(data *environmentData) {
				data.Form.Name = name
				data.Errors = formErrors{"name": "The " + fe.Message}
			})
		}
		return notFoundAs(err)
	}
	return d.renderEnvironment(w, r, http.StatusOK, id, func(data *environmentData) {
		data.Created = created(c, data.Env.Environment, false)
	})
}

// created is a hook's URL as shown once, with how to call it.
func created(c hook.Created, env liftoff.Environment, rotated bool) *createdHook {
	ch := &createdHook{Name: c.Hook.Name, URL: c.URL, Rotated: rotated, PreviousExpiresAt: c.Hook.PreviousExpiresAt, Preview: env.IsPreview}
	u := c.URL
	if env.IsPreview {
		u = strings.NewReplacer("{prNumber}", "${PR_NUMBER}", "{commitSHA}", "${COMMIT_SHA}").Replace(u)
	}
	ch.Curl = `curl -X POST "` + u + `"`
	return ch
}

func (d *Dashboard) pauseHook(w http.ResponseWriter, r *http.Request) error {
	return d.setPaused(w, r, true)
}

func (d *Dashboard) resumeHook(w http.ResponseWriter, r *http.Request) error {
	return d.setPaused(w, r, false)
}

func (d *Dashboard) setPaused(w http.ResponseWriter, r *http.Request, paused bool) error {
	h, err := d.Hooks.SetPaused(r.Context(), r.PathValue("hookId"), paused)
	if err != nil {
		return notFoundAs(err)
	}
	msg := "Resumed deploy hook " + h.Name + ": its calls deploy again."
	if paused {
		msg = "Paused deploy hook " + h.Name + ": its calls are refused (409) and deploy nothing until it is resumed."
	}
	return d.redirectWith(w, r, settingsPath(h.EnvironmentID)+"#deploy-hooks", msg)
}

// graces are the grace periods a rotation offers, in seconds.
var graces = map[string]time.Duration{"0": 0, "3600": time.Hour, "86400": 24 * time.Hour, "604800": 7 * 24 * time.Hour}

// rotateHook gives a hook a new secret, once confirmed, and answers the
// settings page with the new URL, shown once.
func (d *Dashboard) rotateHook(w http.ResponseWriter, r *http.Request) error {
	h, err := d.Hooks.Get(r.Context(), r.PathValue("hookId"))
	if err != nil {
		return notFoundAs(err)
	}
	if !confirmed(r) {
		return d.askConfirm(w, r, confirmData{Title: "Rotate deploy hook " + h.Name + "?",
			Message: "The hook gets a new URL, shown once on the next page. Whatever calls the current URL must be given the new one: " +
				"choose how long the current URL keeps working.",
			Button: "Rotate hook", Cancel: settingsPath(h.EnvironmentID) + "#deploy-hooks", Grace: true})
	}
	grace, ok := graces[r.PostFormValue("grace")]
	if !ok {
		return fail.New(fail.Invalid, "Choose how long the current URL keeps working from the list")
	}
	c, err := d.Hooks.Rotate(r.Context(), h.ID, grace)
	if err != nil {
		return notFoundAs(err)
	}
	return d.renderEnvironment(w, r, http.StatusOK, h.EnvironmentID, func(data *environmentData) {
		data.Created = created(c, data.Env.Environment, true)
	})
}

// deleteHook revokes a hook, once confirmed.
func (d *Dashboard) deleteHook(w http.ResponseWriter, r *http.Request) error {
	h, err := d.Hooks.Get(r.Context(), r.PathValue("hookId"))
	if err != nil {
		return notFoundAs(err)
	}
	if !confirmed(r) {
		return d.askConfirm(w, r, confirmData{Title: "Delete deploy hook " + h.Name + "?",
			Message: "Its URL stops working at once: calls get 404. Deployments it started stay. This cannot be undone.",
			Button:  "Delete hook", Cancel: settingsPath(h.EnvironmentID) + "#deploy-hooks"})
	}
	if err := d.Hooks.Delete(r.Context(), h.ID); err != nil {
		return notFoundAs(err)
	}
	return d.redirectWith(w, r, settingsPath(h.EnvironmentID)+"#deploy-hooks", "Deleted deploy hook "+h.Name+": its URL no longer works.")
}

// settingsPath is the settings page of an environment.
func settingsPath(id int64) string { return "/environments/" + strconv.FormatInt(id, 10) }
