package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// previewEnvironment loads the path's environment and checks it is a live
// preview environment; otherwise it answers.
func (a *API) previewEnvironment(w http.ResponseWriter, r *http.Request) (liftoff.Environment, bool) {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		a.fail(w, r, err, "")
		return liftoff.Environment{}, false
	}
	env, err := a.Store.GetEnvironment(r.Context(), id)
	if err == nil && env.Deleted() {
		err = store.ErrNotFound
	}
	if err != nil {
		a.fail(w, r, err, "Environment not found")
		return env, false
	}
	if !env.IsPreview {
		a.fail(w, r, invalidf(fmt.Sprintf("environment %d (%s) is not a preview environment", env.ID, env.GivenID)), "")
		return env, false
	}
	return env, true
}

func (a *API) listPreviews(w http.ResponseWriter, r *http.Request) {
	env, ok := a.previewEnvironment(w, r)
	if !ok {
		return
	}
	list, err := a.Store.ListPreviewInstances(r.Context(), env.ID, false)
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	out := struct {
		Previews []client.PreviewInstance `json:"previews"`
	}{Previews: []client.PreviewInstance{}}
	for _, p := range list {
		out.Previews = append(out.Previews, previewOf(p))
	}
	writeJSON(w, http.StatusOK, out)
}

// deletePreview tears a preview instance down: its deployments are
// cancelled, its services stopped, its routes and builds removed; its
// deployment history stays. A later deployment of the PR starts it afresh.
func (a *API) deletePreview(w http.ResponseWriter, r *http.Request) {
	env, ok := a.previewEnvironment(w, r)
	if !ok {
		return
	}
	pr, err := positive(r.PathValue("prNumber"), 31)
	if err != nil {
		a.fail(w, r, invalidf("prNumber must be a positive integer, got "+quoteShort(r.PathValue("prNumber"))), "")
		return
	}
	inst, err := a.Deployments.TearDown(r.Context(), env.ID, int(pr))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("Environment %d has no live preview of PR #%d", env.ID, pr))
		return
	}
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, previewOf(inst))
}
