package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

type createHookBody struct {
	Name string `json:"name"`
}

func (a *API) createHook(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	var body createHookBody
	if err := decode(r, &body); err != nil {
		a.fail(w, r, err, "")
		return
	}
	c, err := a.Hooks.Create(r.Context(), id, body.Name)
	if err != nil {
		a.fail(w, r, err, "Environment not found")
		return
	}
	writeJSON(w, http.StatusCreated, client.CreatedHook{ID: c.Hook.ID, EnvironmentID: c.Hook.EnvironmentID, Name: c.Hook.Name,
		URL: c.URL, Secret: c.Secret, CreatedAt: c.Hook.CreatedAt.String()})
}

func (a *API) listHooks(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	hooks, err := a.Hooks.List(r.Context(), id)
	if err != nil {
		a.fail(w, r, err, "Environment not found")
		return
	}
	out := struct {
		DeployHooks []client.Hook `json:"deployHooks"`
	}{DeployHooks: []client.Hook{}}
	for _, h := range hooks {
		out.DeployHooks = append(out.DeployHooks, hookOf(h))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getHook(w http.ResponseWriter, r *http.Request) {
	h, err := a.Hooks.Get(r.Context(), r.PathValue("hookId"))
	a.answerHook(w, r, h, err)
}

func (a *API) answerHook(w http.ResponseWriter, r *http.Request, h liftoff.Hook, err error) {
	if err != nil {
		a.fail(w, r, err, "Deploy hook not found")
		return
	}
	writeJSON(w, http.StatusOK, hookOf(h))
}

func (a *API) deleteHook(w http.ResponseWriter, r *http.Request) {
	if err := a.Hooks.Delete(r.Context(), r.PathValue("hookId")); err != nil {
		a.fail(w, r, err, "Deploy hook not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type rotateHookBody struct {
	// GracePeriodSeconds keeps the old secret valid that long. Default 0.
	GracePeriodSeconds int64 `json:"gracePeriodSeconds"`
}

func (a *API) rotateHook(w http.ResponseWriter, r *http.Request) {
	var body rotateHookBody
	if err := decode(r, &body); err != nil {
		a.fail(w, r, err, "")
		return
	}
	// Check the range before converting: a huge number would overflow.
	if body.GracePeriodSeconds < 0 || body.GracePeriodSeconds > int64(hook.MaxGrace/time.Second) {
		a.fail(w, r, invalidf(fmt.Sprintf("gracePeriodSeconds must be between 0 and %d", int64(hook.MaxGrace/time.Second))), "")
		return
	}
	c, err := a.Hooks.Rotate(r.Context(), r.PathValue("hookId"), time.Duration(body.GracePeriodSeconds)*time.Second)
	if err != nil {
		a.fail(w, r, err, "Deploy hook not found")
		return
	}
	writeJSON(w, http.StatusOK, client.RotatedHook{ID: c.Hook.ID, URL: c.URL, Secret: c.Secret,
		PreviousSecretExpiresAt: timeOrNull(c.Hook.PreviousExpiresAt)})
}

func (a *API) pauseHook(w http.ResponseWriter, r *http.Request) {
	h, err := a.Hooks.SetPaused(r.Context(), r.PathValue("hookId"), true)
	a.answerHook(w, r, h, err)
}

func (a *API) resumeHook(w http.ResponseWriter, r *http.Request) {
	h, err := a.Hooks.SetPaused(r.Context(), r.PathValue("hookId"), false)
	a.answerHook(w, r, h, err)
}

func (a *API) listHookCalls(w http.ResponseWriter, r *http.Request) {
	limit, _, err := queryInt(r, "limit", 31)
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	calls, err := a.Hooks.Calls(r.Context(), r.PathValue("hookId"), int(limit))
	if err != nil {
		a.fail(w, r, err, "Deploy hook not found")
		return
	}
	out := struct {
		Calls []client.HookCall `json:"calls"`
	}{Calls: []client.HookCall{}}
	for _, c := range calls {
		out.Calls = append(out.Calls, client.HookCall{At: c.At.String(), Address: c.Address, Status: c.Status, Outcome: c.Outcome,
			DeploymentID: stringOrNull(c.DeploymentID)})
	}
	writeJSON(w, http.StatusOK, out)
}
