package api

import (
	"net/http"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

type createHookBody struct {
	Name string `json:"name"`
}

func (a *API) createHook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		return err
	}
	var body createHookBody
	if err := decode(r, &body); err != nil {
		return err
	}
	c, err := a.Hooks.Create(r.Context(), id, body.Name)
	if err != nil {
		return orNotFound(err, "Environment not found")
	}
	writeJSON(w, http.StatusCreated, client.CreatedHook{ID: c.Hook.ID, EnvironmentID: c.Hook.EnvironmentID, Name: c.Hook.Name,
		URL: c.URL, Secret: c.Secret, CreatedAt: client.FormatTime(c.Hook.CreatedAt)})
	return nil
}

func (a *API) listHooks(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		return err
	}
	hooks, err := a.Hooks.List(r.Context(), id)
	if err != nil {
		return orNotFound(err, "Environment not found")
	}
	out := struct {
		DeployHooks []client.Hook `json:"deployHooks"`
	}{DeployHooks: []client.Hook{}}
	for _, h := range hooks {
		out.DeployHooks = append(out.DeployHooks, hookOf(h))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getHook(w http.ResponseWriter, r *http.Request) error {
	h, err := a.Hooks.Get(r.Context(), r.PathValue("hookId"))
	return answerHook(w, h, err)
}

func answerHook(w http.ResponseWriter, h liftoff.Hook, err error) error {
	if err != nil {
		return orNotFound(err, "Deploy hook not found")
	}
	writeJSON(w, http.StatusOK, hookOf(h))
	return nil
}

func (a *API) deleteHook(w http.ResponseWriter, r *http.Request) error {
	if err := a.Hooks.Delete(r.Context(), r.PathValue("hookId")); err != nil {
		return orNotFound(err, "Deploy hook not found")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type rotateHookBody struct {
	// GracePeriodSeconds keeps the old secret valid that long. Default 0.
	GracePeriodSeconds int64 `json:"gracePeriodSeconds"`
}

func (a *API) rotateHook(w http.ResponseWriter, r *http.Request) error {
	var body rotateHookBody
	if err := decode(r, &body); err != nil {
		return err
	}
	// Check the range before converting: a huge number would overflow.
	if body.GracePeriodSeconds < 0 || body.GracePeriodSeconds > int64(hook.MaxGrace/time.Second) {
		return fail.Invalidf("gracePeriodSeconds must be between 0 and %d", int64(hook.MaxGrace/time.Second))
	}
	c, err := a.Hooks.Rotate(r.Context(), r.PathValue("hookId"), time.Duration(body.GracePeriodSeconds)*time.Second)
	if err != nil {
		return orNotFound(err, "Deploy hook not found")
	}
	writeJSON(w, http.StatusOK, client.RotatedHook{ID: c.Hook.ID, URL: c.URL, Secret: c.Secret,
		PreviousSecretExpiresAt: timeOrNull(c.Hook.PreviousExpiresAt)})
	return nil
}

func (a *API) pauseHook(w http.ResponseWriter, r *http.Request) error {
	h, err := a.Hooks.SetPaused(r.Context(), r.PathValue("hookId"), true)
	return answerHook(w, h, err)
}

func (a *API) resumeHook(w http.ResponseWriter, r *http.Request) error {
	h, err := a.Hooks.SetPaused(r.Context(), r.PathValue("hookId"), false)
	return answerHook(w, h, err)
}

func (a *API) listHookCalls(w http.ResponseWriter, r *http.Request) error {
	limit, _, err := queryInt(r, "limit", 31)
	if err != nil {
		return err
	}
	calls, err := a.Hooks.Calls(r.Context(), r.PathValue("hookId"), int(limit))
	if err != nil {
		return orNotFound(err, "Deploy hook not found")
	}
	out := struct {
		Calls []client.HookCall `json:"calls"`
	}{Calls: []client.HookCall{}}
	for _, c := range calls {
		out.Calls = append(out.Calls, client.HookCall{At: client.FormatTime(c.At), Address: c.Address, Status: c.Status, Outcome: c.Outcome,
			DeploymentID: stringOrNull(c.DeploymentID)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
