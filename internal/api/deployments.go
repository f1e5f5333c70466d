package api

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/view"
)

// getDeployment serves Get Deployment. It takes an API key, or the secret of
// the hook that triggered the deployment (Authorization: Hook <secret>).
func (a *API) getDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := a.readableDeployment(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view.Deployment(d))
	return nil
}

// readableDeployment loads the deployment of the path for a caller with an
// API key (checked by the route's guard) or the secret of the hook that
// started it.
func (a *API) readableDeployment(r *http.Request) (liftoff.Deployment, error) {
	id := r.PathValue("deploymentId")
	if secret, ok := hookSecret(r); ok {
		return a.Hooks.ReadDeployment(r.Context(), secret, id)
	}
	// An API key: the route's guard checked it and its scope.
	d, err := a.Deployments.Get(r.Context(), id)
	return d, orNotFound(err, "Deployment not found")
}

func (a *API) listDeployments(w http.ResponseWriter, r *http.Request) error {
	p, err := listParams(r)
	if err != nil {
		return err
	}
	if envs, limited := scopedEnvironments(r); limited {
		p.EnvironmentIDs = envs
	}
	ds, err := a.Deployments.List(r.Context(), p)
	if err != nil {
		return err
	}
	out := client.DeploymentList{Deployments: []client.Deployment{}}
	for _, d := range ds {
		out.Deployments = append(out.Deployments, view.Deployment(d))
	}
	if len(ds) == p.Limit {
		last := ds[len(ds)-1]
		c := encodeCursor(last.CreatedAt, last.ID)
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// startDeploymentBody is the body of POST /v1/environments/{id}/deployments:
// what a deploy hook's query parameters say, in JSON.
type startDeploymentBody struct {
	Force      bool   `json:"force"`
	ClearCache bool   `json:"clearCache"`
	Commit     string `json:"commit"`
	Branch     string `json:"branch"`
}

// startDeployment queues a deployment of an environment for an API key, as
// a call of its deploy hook would (hook.Service.Deploy: the same refusals,
// the same joining or superseding of a PENDING deployment).
func (a *API) startDeployment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		return err
	}
	var body startDeploymentBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.ClearCache && !body.Force {
		return badParam("clearCache rebuilds every service from an empty build cache and needs force: add \"force\": true")
	}
	if body.Commit != "" {
		if err := checkSHA("commit", body.Commit); err != nil {
			return err
		}
	}
	if body.Branch != "" {
		if err := checkBranch(body.Branch); err != nil {
			return err
		}
	}
	k, _ := r.Context().Value(keyContext{}).(liftoff.APIKey)
	res, err := a.Hooks.Deploy(r.Context(), hook.DeployParams{EnvironmentID: id, Force: body.Force, ClearCache: body.ClearCache, Commit: body.Commit,
		Branch: body.Branch, APIKeyID: k.ID, APIKeyName: k.Name})
	if err != nil {
		return orNotFound(err, "Environment not found")
	}
	d, err := a.Deployments.Get(r.Context(), res.DeploymentID)
	if err != nil {
		return orNotFound(err, "Deployment not found")
	}
	status := http.StatusCreated
	if res.Outcome != hook.OutcomeQueued {
		status = http.StatusOK
	}
	writeJSON(w, status, client.StartedDeployment{Outcome: res.Outcome, Deployment: view.Deployment(d)})
	return nil
}

// cancelDeployment ends a PENDING deployment at once and stops a running one.
func (a *API) cancelDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := a.Deployments.Cancel(r.Context(), r.PathValue("deploymentId"))
	if err != nil {
		return orNotFound(err, "Deployment not found")
	}
	writeJSON(w, http.StatusOK, view.Deployment(d))
	return nil
}

// redeployDeployment queues a deployment that releases the same builds again.
func (a *API) redeployDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := a.Deployments.Redeploy(r.Context(), r.PathValue("deploymentId"))
	if err != nil {
		return orNotFound(err, "Deployment not found")
	}
	writeJSON(w, http.StatusCreated, view.Deployment(d))
	return nil
}

// listParams reads the filters and page of GET /v1/deployments.
func listParams(r *http.Request) (store.ListDeploymentsParams, error) {
	var p store.ListDeploymentsParams
	for _, name := range []string{"projectId", "status", "cursor"} {
		if n := len(r.URL.Query()[name]); n > 1 {
			return p, fail.Invalidf("%s was given %d times; give it once", name, n)
		}
	}
	env, _, err := queryInt(r, "environmentId", 63)
	if err != nil {
		return p, err
	}
	p.EnvironmentID = env
	pr, hasPR, err := queryInt(r, "prNumber", 31)
	if err != nil {
		return p, err
	}
	p.PRNumber, p.HasPRNumber = int(pr), hasPR
	p.ProjectID = r.URL.Query().Get("projectId")
	if s := r.URL.Query().Get("status"); s != "" {
		if !slices.Contains(liftoff.Statuses(), liftoff.Status(s)) {
			var names []string
			for _, st := range liftoff.Statuses() {
				names = append(names, string(st))
			}
			return p, fail.New(fail.Invalid, "status must be one of "+strings.Join(names, ", ")+"; got "+quoteShort(s))
		}
		p.Status = liftoff.Status(s)
	}
	limit, hasLimit, err := queryInt(r, "limit", 31)
	if err != nil {
		return p, err
	}
	p.Limit = 20
	if hasLimit {
		if limit > 100 {
			return p, fail.New(fail.Invalid, "limit must be between 1 and 100, got "+strconv.FormatInt(limit, 10))
		}
		p.Limit = int(limit)
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		at, id, ok := decodeCursor(c)
		if !ok {
			return p, fail.New(fail.Invalid, "cursor is not one this API gave out; pass nextCursor from the previous page as it is")
		}
		p.AfterCreatedAt, p.AfterID = at, id
	}
	return p, nil
}

// A cursor is the (createdAt, id) of the last deployment of a page.
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMilli(), 10) + ":" + id))
}

func decodeCursor(c string) (time.Time, string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", false
	}
	ms, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || n <= 0 || id == "" || checkText("cursor", id) != nil {
		return time.Time{}, "", false
	}
	return time.UnixMilli(n).UTC(), id, true
}
