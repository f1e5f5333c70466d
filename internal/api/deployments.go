package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// getDeployment serves Get Deployment. It takes an API key, or the secret of
// the hook that triggered the deployment (Authorization: Hook <secret>).
func (a *API) getDeployment(w http.ResponseWriter, r *http.Request) {
	d, ok := a.readableDeployment(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, deploymentOf(d))
}

func (a *API) listDeployments(w http.ResponseWriter, r *http.Request) {
	p, err := listParams(r)
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	if envs, limited := scopedEnvironments(r); limited {
		p.EnvironmentIDs = envs
	}
	ds, err := a.Store.ListDeployments(r.Context(), p)
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	out := client.DeploymentList{Deployments: []client.Deployment{}}
	for _, d := range ds {
		out.Deployments = append(out.Deployments, deploymentOf(d))
	}
	if len(ds) == p.Limit {
		last := ds[len(ds)-1]
		c := encodeCursor(last.CreatedAt, last.ID)
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
}

// listParams reads the filters and page of GET /v1/deployments.
func listParams(r *http.Request) (store.ListDeploymentsParams, error) {
	var p store.ListDeploymentsParams
	for _, name := range []string{"projectId", "status", "cursor"} {
		if n := len(r.URL.Query()[name]); n > 1 {
			return p, invalidf(fmt.Sprintf("%s was given %d times; give it once", name, n))
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
			return p, invalidf("status must be one of " + strings.Join(names, ", ") + "; got " + quoteShort(s))
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
			return p, invalidf("limit must be between 1 and 100, got " + strconv.FormatInt(limit, 10))
		}
		p.Limit = int(limit)
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		at, id, ok := decodeCursor(c)
		if !ok {
			return p, invalidf("cursor is not one this API gave out; pass nextCursor from the previous page as it is")
		}
		p.AfterCreatedAt, p.AfterID = at, id
	}
	return p, nil
}

// A cursor is the (createdAt, id) of the last deployment of a page.
func encodeCursor(at liftoff.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.Millis(), 10) + ":" + id))
}

func decodeCursor(c string) (liftoff.Time, string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return liftoff.Time{}, "", false
	}
	ms, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || n <= 0 || id == "" || checkText("cursor", id) != nil {
		return liftoff.Time{}, "", false
	}
	return liftoff.FromMillis(n), id, true
}
