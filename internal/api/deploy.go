package api

import (
	"net/http"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// startDeploymentBody is the body of POST /v1/environments/{id}/deployments:
// what a deploy hook's query parameters say, in JSON.
type startDeploymentBody struct {
	Force  bool   `json:"force"`
	Commit string `json:"commit"`
	Branch string `json:"branch"`
}

// startDeployment queues a deployment of an environment for an API key, as
// a call of its deploy hook would (hook.Service.Deploy: the same refusals,
// the same joining or superseding of a PENDING deployment).
func (a *API) startDeployment(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	var body startDeploymentBody
	if err := decode(r, &body); err != nil {
		a.fail(w, r, err, "")
		return
	}
	var bad error
	if body.Commit != "" {
		bad = checkSHA("commit", body.Commit)
	}
	if body.Branch != "" && bad == nil {
		bad = checkBranch(body.Branch)
	}
	if bad != nil {
		a.fail(w, r, invalidf(bad.Error()), "")
		return
	}
	k, _ := r.Context().Value(keyContext{}).(liftoff.APIKey)
	res, err := a.Hooks.Deploy(r.Context(), hook.DeployParams{EnvironmentID: id, Force: body.Force, Commit: body.Commit,
		Branch: body.Branch, APIKeyID: k.ID, APIKeyName: k.Name})
	if err != nil {
		a.fail(w, r, err, "Environment not found") // a *hook.Error: its kind picks the status
		return
	}
	d, err := a.Store.GetDeployment(r.Context(), res.DeploymentID)
	if err != nil {
		a.fail(w, r, err, "Deployment not found")
		return
	}
	status := http.StatusCreated
	if res.Outcome != hook.OutcomeQueued {
		status = http.StatusOK
	}
	writeJSON(w, status, client.StartedDeployment{Outcome: res.Outcome, Deployment: deploymentOf(d)})
}
