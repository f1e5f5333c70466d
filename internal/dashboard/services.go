package dashboard

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/supervision"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

// recentExecutions is how many job runs a service's page lists.
const recentExecutions = 20

// serviceData is a service's page: what it is, what it runs (the release
// and the runtime of each of its instances), its jobs and its live log.
type serviceData struct {
	Project liftoff.Project
	Env     liftoff.Environment
	Service liftoff.Service
	// Instances are one, or in a preview environment one per live
	// preview.
	Instances []instanceRow
	// PRNumber is the preview instance the log and the jobs are about (0
	// outside previews); Logs is the event stream of its log.
	PRNumber int
	Logs     string
	// Jobs and Executions: a scheduler's jobs, as its release has them,
	// and its recent runs.
	Jobs       []jobRow
	Executions []executionRow
	CanDeploy  bool
	// NotDeployed says why Liftoff does not run it; "" when it does.
	NotDeployed string
}

// instanceRow is one instance of a service: its release and its runtime.
type instanceRow struct {
	PRNumber int
	// Release is the service deployment it serves; nil before the first
	// success.
	Release *liftoff.ServiceDeployment
	// Runtime is what the supervision of its release recorded; nil when
	// nothing was (it never ran, or Liftoff does not supervise it).
	Runtime *supervision.Instance
}

// stateClass is the badge class of a service's runtime state.
func stateClass(state string) string {
	switch state {
	case liftoff.ServiceRunning:
		return "ok"
	case liftoff.ServiceCrashed:
		return "bad"
	case liftoff.ServiceRestarting:
		return "busy"
	}
	return "quiet"
}

// jobRow is a job of a scheduler.
type jobRow struct {
	ID       string
	Schedule string
	Command  string
}

// executionRow is a run of a job as lists show it.
type executionRow struct {
	X liftoff.JobExecution
}

// StatusClass is the CSS class of a run's status badge.
func (e executionRow) StatusClass() string {
	switch e.X.Status {
	case liftoff.JobCompleted:
		return "ok"
	case liftoff.JobFailed, liftoff.JobTimedOut:
		return "bad"
	case liftoff.JobSkipped:
		return "quiet"
	}
	return "busy"
}

// Duration is how long a run took, or has taken so far; "" before it
// started.
func (e executionRow) Duration() string {
	if e.X.StartedAt.IsZero() {
		return ""
	}
	end := e.X.FinishedAt
	if end.IsZero() {
		end = time.Now()
	}
	return end.Sub(e.X.StartedAt).Round(time.Second).String()
}

// service reads a service with its runtime (of every instance); a
// missing service, or a dashboard without supervision, is a page that
// does not exist.
func (d *Dashboard) service(ctx context.Context, id string) (supervision.View, error) {
	if d.Supervision == nil {
		return supervision.View{}, errNotFound
	}
	v, err := d.Supervision.Get(ctx, id, 0)
	if err != nil {
		return v, notFoundAs(err)
	}
	return v, nil
}

func (d *Dashboard) servicePage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v, err := d.service(ctx, r.PathValue("serviceId"))
	if err != nil {
		return err
	}
	if v.Environment.Deleted() {
		return errNotFound
	}
	p, err := d.Projects.Get(ctx, v.Environment.ProjectID)
	if err != nil {
		return notFoundAs(err)
	}
	data := serviceData{Project: p.Project, Env: v.Environment, Service: v.Service, CanDeploy: viewerOf(r).may(apikey.NeedDeploy, v.Environment.ID)}
	data.NotDeployed = d.notDeployed(v.Service, states(v))
	prs := []int{0}
	if v.Environment.IsPreview {
		previews, err := d.Deployments.Previews(ctx, v.Environment.ID)
		if err != nil {
			return err
		}
		prs = prs[:0]
		for _, p := range previews {
			if !p.Deleted() {
				prs = append(prs, p.PRNumber)
			}
		}
	}
	var release *liftoff.ServiceDeployment // of the instance the page is about
	for _, pr := range prs {
		row := instanceRow{PRNumber: pr}
		rel, err := d.Deployments.Release(ctx, v.Service, pr)
		switch {
		case err == nil:
			row.Release = &rel
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		for i := range v.Instances {
			if v.Instances[i].State.PRNumber == pr {
				row.Runtime = &v.Instances[i]
			}
		}
		data.Instances = append(data.Instances, row)
	}
	// The log and the jobs are of one instance: ?prNumber= picks a
	// preview's, the first by default.
	if len(prs) > 0 {
		data.PRNumber = prs[0]
		if s := r.URL.Query().Get("prNumber"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || !slices.Contains(prs, n) {
				return fail.New(fail.NotFound, "This service has no live preview of that pull request")
			}
			data.PRNumber = n
		}
		release = data.Instances[slices.Index(prs, data.PRNumber)].Release
		data.Logs = "/services/" + v.Service.ID + "/logs/events"
		if v.Environment.IsPreview {
			data.Logs += "?prNumber=" + strconv.Itoa(data.PRNumber)
		}
	}
	if v.Service.Type == config.TypeScheduler {
		jobs := v.Service.Config.Jobs
		if release != nil {
			jobs = release.Config.Jobs // what a run now runs
		}
		cfg := v.Service.Config
		cfg.Jobs = jobs
		for _, id := range cfg.JobIDs() {
			data.Jobs = append(data.Jobs, jobRow{ID: id, Schedule: jobs[id].Schedule, Command: jobs[id].StartCommand.String()})
		}
		if d.Jobs != nil && len(prs) > 0 {
			xs, err := d.Jobs.List(ctx, store.ListJobExecutionsParams{ServiceID: v.Service.ID, PRNumber: data.PRNumber, Limit: recentExecutions})
			if err != nil {
				return err
			}
			for _, x := range xs {
				data.Executions = append(data.Executions, executionRow{X: x})
			}
		}
	}
	return d.render(w, r, http.StatusOK, "service", v.Service.Name+" · "+envName(v.Environment), data)
}

// serviceLogEvents follows a service's log for its page, as the API's
// Get Service Logs with follow=true reads it: a message per line
// ("<time> <text>"), its time as its id so that a reconnecting browser
// gets the lines after it. A log this node cannot read (the release runs
// on another node, or never ran) ends the stream with a "gone" event
// that says why.
func (d *Dashboard) serviceLogEvents(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r)
	svc, err := d.service(r.Context(), r.PathValue("serviceId"))
	if err != nil {
		return err
	}
	id := svc.Service.ID
	p := supervision.LogsParams{Follow: true}
	if s := r.URL.Query().Get("prNumber"); s != "" {
		n, err := positive(s)
		if err != nil || n > 1<<31-1 {
			return errNotFound
		}
		p.PRNumber = int(n)
	}
	if at, err := time.Parse(time.RFC3339Nano, r.Header.Get("Last-Event-ID")); err == nil {
		p.Since = at.Add(time.Nanosecond) // a reconnection: on from the last line it had
	}
	release, err := d.streams.acquire(v.User.ID)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out := &lockedStream{s: startEvents(w)}
	// Quiet logs are kept alive meanwhile.
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(keepAlive / 4)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if out.ping() != nil {
					cancel()
					return
				}
			}
		}
	})
	defer wg.Wait()
	defer cancel()
	err = d.Supervision.Logs(ctx, id, p, func(lines []local.LogLine) error {
		for _, l := range lines {
			text, evID := l.Text, ""
			if !l.Time.IsZero() {
				evID = l.Time.UTC().Format(time.RFC3339Nano)
				text = evID + " " + l.Text
			}
			if err := out.send("", evID, text); err != nil {
				return err
			}
		}
		return nil
	})
	if fe := fail.As(err); fe != nil && ctx.Err() == nil {
		return out.send("gone", "", fe.Message)
	}
	if err != nil && ctx.Err() == nil {
		d.Log.Warn("follow a service's log", "service_id", id, "err", err)
		return out.send("gone", "", "Liftoff could not read this log: reload the page to try again")
	}
	return nil // the answer has begun: a failure can only end it
}

// lockedStream is an event stream two goroutines write: the log's
// reader, and the keep-alive.
type lockedStream struct {
	mu sync.Mutex
	s  *eventStream
}

func (l *lockedStream) send(event, id, data string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.send(event, id, data)
}

func (l *lockedStream) ping() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.ping()
}

// StateClass is the CSS class of a runtime state's badge, for the page.
func (serviceData) StateClass(state string) string { return stateClass(state) }

// states are the recorded states of a service's instances.
func states(v supervision.View) []liftoff.ServiceState {
	out := make([]liftoff.ServiceState, len(v.Instances))
	for i, in := range v.Instances {
		out[i] = in.State
	}
	return out
}
