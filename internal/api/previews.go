package api

import (
	"fmt"
	"net/http"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// previewEnvironment loads the path's environment and checks it is a live
// preview environment.
func (a *API) previewEnvironment(r *http.Request) (liftoff.Environment, error) {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		return liftoff.Environment{}, err
	}
	env, err := a.Deployments.PreviewEnvironment(r.Context(), id)
	return env, orNotFound(err, "Environment not found")
}

func (a *API) listPreviews(w http.ResponseWriter, r *http.Request) error {
	env, err := a.previewEnvironment(r)
	if err != nil {
		return err
	}
	list, err := a.Deployments.Previews(r.Context(), env.ID)
	if err != nil {
		return err
	}
	out := struct {
		Previews []client.PreviewInstance `json:"previews"`
	}{Previews: []client.PreviewInstance{}}
	for _, p := range list {
		out.Previews = append(out.Previews, previewOf(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deletePreview tears a preview instance down: its deployments are
// cancelled, its services stopped, its routes and builds removed; its
// deployment history stays. A later deployment of the PR starts it afresh.
func (a *API) deletePreview(w http.ResponseWriter, r *http.Request) error {
	env, err := a.previewEnvironment(r)
	if err != nil {
		return err
	}
	pr, err := positive(r.PathValue("prNumber"), 31)
	if err != nil {
		return fail.New(fail.Invalid, "prNumber must be a positive integer, got "+quoteShort(r.PathValue("prNumber")))
	}
	inst, err := a.Deployments.TearDown(r.Context(), env.ID, int(pr))
	if err != nil {
		return orNotFound(err, fmt.Sprintf("Environment %d has no live preview of PR #%d", env.ID, pr))
	}
	writeJSON(w, http.StatusOK, previewOf(inst))
	return nil
}
