package dashboard

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// pageSize is how many deployments a page of the list shows.
const pageSize = 20

// maxPageLines bounds the lines of output a deployment's page renders;
// the earlier ones stay readable through the API and the CLI.
const maxPageLines = 2000

// deploymentRow is a deployment as a list shows it.
type deploymentRow struct {
	D liftoff.Deployment
}

func rowsOf(ds []liftoff.Deployment) []deploymentRow {
	rows := make([]deploymentRow, len(ds))
	for i, d := range ds {
		rows[i] = deploymentRow{D: d}
	}
	return rows
}

// envOption is an environment a filter offers.
type envOption struct {
	ID    int64
	Label string
}

// deploymentsData is the deployments list.
type deploymentsData struct {
	Rows []deploymentRow
	// The filters, as given.
	EnvironmentID int64
	Status        string
	Environments  []envOption
	Statuses      []liftoff.Status
	// Next is the next (older) page, "" on the last; First says whether
	// this is the newest page, the one that updates live (from Live).
	Next   string
	First  bool
	Newest string // the newest page with the same filters
	Live   string // the event stream of the newest page
}

// listQuery is what the list's query asks for.
type listQuery struct {
	p      store.ListDeploymentsParams
	filter url.Values
}

// parseListQuery reads the filters and the page of the deployments list,
// limited to a deploy user's environments.
func parseListQuery(r *http.Request) (listQuery, error) {
	q := r.URL.Query()
	lq := listQuery{p: store.ListDeploymentsParams{Limit: pageSize}, filter: url.Values{}}
	if s := q.Get("environmentId"); s != "" {
		id, err := positive(s)
		if err != nil {
			return lq, fail.New(fail.Invalid, "Choose an environment from the list")
		}
		lq.p.EnvironmentID = id
		lq.filter.Set("environmentId", s)
	}
	if s := q.Get("status"); s != "" {
		if !slices.Contains(liftoff.Statuses(), liftoff.Status(s)) {
			return lq, fail.New(fail.Invalid, "Choose a status from the list")
		}
		lq.p.Status = liftoff.Status(s)
		lq.filter.Set("status", s)
	}
	if c := q.Get("cursor"); c != "" {
		at, id, ok := decodeCursor(c)
		if !ok {
			return lq, fail.New(fail.Invalid, "This page's link is broken: go back to the newest deployments")
		}
		lq.p.AfterCreatedAt, lq.p.AfterID = at, id
	}
	if envs, limited := viewerOf(r).limited(); limited {
		lq.p.EnvironmentIDs = envs
	}
	return lq, nil
}

func (d *Dashboard) deploymentsPage(w http.ResponseWriter, r *http.Request) error {
	lq, err := parseListQuery(r)
	if err != nil {
		return err
	}
	ds, err := d.Deployments.List(r.Context(), lq.p)
	if err != nil {
		return err
	}
	data := deploymentsData{Rows: rowsOf(ds), EnvironmentID: lq.p.EnvironmentID, Status: string(lq.p.Status), Statuses: liftoff.Statuses(),
		First: lq.p.AfterID == "", Newest: withQuery("/deployments", lq.filter), Live: withQuery("/deployments/events", lq.filter)}
	if len(ds) == pageSize {
		next := url.Values{}
		for k, v := range lq.filter {
			next[k] = v
		}
		last := ds[len(ds)-1]
		next.Set("cursor", encodeCursor(last.CreatedAt, last.ID))
		data.Next = withQuery("/deployments", next)
	}
	if data.Environments, err = d.environmentOptions(r); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "deployments", "Deployments", data)
}

// withQuery is path with the query q, if any.
func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// environmentOptions are the environments the viewer may filter by.
func (d *Dashboard) environmentOptions(r *http.Request) ([]envOption, error) {
	var views []struct {
		name string
		envs []liftoff.Environment
	}
	if envs, limited := viewerOf(r).limited(); limited {
		vs, err := d.environmentsOf(r, envs)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			views = append(views, struct {
				name string
				envs []liftoff.Environment
			}{v.Project.Name, v.Environments})
		}
	} else {
		vs, err := d.Projects.List(r.Context())
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			views = append(views, struct {
				name string
				envs []liftoff.Environment
			}{v.Project.Name, v.Environments})
		}
	}
	var out []envOption
	for _, v := range views {
		for _, e := range v.envs {
			out = append(out, envOption{ID: e.ID, Label: v.name + " / " + envName(e)})
		}
	}
	return out, nil
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
	if !ok || err != nil || n <= 0 || id == "" || strings.ContainsRune(id, 0) {
		return time.Time{}, "", false
	}
	return time.UnixMilli(n).UTC(), id, true
}

// deploymentData is a deployment's page.
type deploymentData struct {
	Status statusData
	Lines  []deployment.LogLine
	// After is the id of the last line shown: the live stream goes on
	// from it.
	After int64
	// Cut says the page shows only the last maxPageLines lines.
	Cut bool
}

// statusData is the part of a deployment's page that changes as it runs:
// the event stream sends it again, rendered, at each change.
type statusData struct {
	D         liftoff.Deployment
	CanDeploy bool
	CSRF      string
}

func (d *Dashboard) deploymentPage(w http.ResponseWriter, r *http.Request) error {
	dep, err := d.Deployments.Get(r.Context(), r.PathValue("deploymentId"))
	if err != nil {
		return notFoundAs(err)
	}
	v := viewerOf(r)
	data := deploymentData{Status: statusData{D: dep, CanDeploy: v.may(apikey.NeedDeploy, dep.EnvironmentID), CSRF: v.CSRF}}
	logs, err := d.Deployments.OpenLogs(r.Context(), dep, deployment.LogsParams{})
	if err != nil {
		return err
	}
	err = logs.Read(r.Context(), func(lines []deployment.LogLine) error {
		data.Lines = append(data.Lines, lines...)
		if over := len(data.Lines) - maxPageLines; over > 0 {
			data.Lines = append(data.Lines[:0], data.Lines[over:]...)
			data.Cut = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n := len(data.Lines); n > 0 {
		data.After = data.Lines[n-1].ID
	}
	return d.render(w, r, http.StatusOK, "deployment", "Deployment "+dep.ID, data)
}

// cancelDeployment stops a deployment, once confirmed.
func (d *Dashboard) cancelDeployment(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("deploymentId")
	if !confirmed(r) {
		return d.askConfirm(w, r, confirmData{Title: "Cancel deployment " + id + "?",
			Message: "A pending deployment ends at once; a running one stops where it is, and what it already released stays.",
			Button:  "Cancel deployment", Cancel: "/deployments/" + id})
	}
	dep, err := d.Deployments.Cancel(r.Context(), id)
	if fail.KindOf(err) == fail.Conflict {
		return d.redirectWith(w, r, "/deployments/"+id, fail.As(err).Message) // it ended meanwhile
	}
	if err != nil {
		return notFoundAs(err)
	}
	return d.redirectWith(w, r, "/deployments/"+dep.ID, "Cancelling deployment "+dep.ID+".")
}

// redeployDeployment queues a deployment that releases the same builds
// again, and shows it; a deployment that cannot be redeployed says why on
// its page.
func (d *Dashboard) redeployDeployment(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("deploymentId")
	dep, err := d.Deployments.Redeploy(r.Context(), id)
	if fail.KindOf(err) == fail.Conflict {
		return d.redirectWith(w, r, "/deployments/"+id, fail.As(err).Message)
	}
	if err != nil {
		return notFoundAs(err)
	}
	return d.redirectWith(w, r, "/deployments/"+dep.ID, "Queued deployment "+dep.ID+", a redeploy of "+dep.RedeployOf+".")
}
