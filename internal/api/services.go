package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/supervision"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

// getService serves Get Service: the service, its environment, and the
// runtime of its release in each instance (?prNumber= picks one): state,
// release, restart count and last restarts.
func (a *API) getService(w http.ResponseWriter, r *http.Request) error {
	if a.Supervision == nil {
		return fail.New(fail.NotFound, "Service not found")
	}
	pr, err := prNumberParam(r)
	if err != nil {
		return err
	}
	v, err := a.Supervision.Get(r.Context(), r.PathValue("serviceId"), pr)
	if err != nil {
		return orNotFound(err, "Service not found")
	}
	writeJSON(w, http.StatusOK, serviceDetailOf(v))
	return nil
}

func serviceDetailOf(v supervision.View) client.ServiceDetail {
	out := client.ServiceDetail{ServiceID: v.Service.ID, ServiceGivenID: v.Service.GivenID, ServiceName: v.Service.Name,
		Type: v.Service.Type, ProjectID: v.Environment.ProjectID, Environment: environmentSummaryOf(v.Environment),
		Instances: []client.ServiceInstance{}}
	for _, in := range v.Instances {
		inst := client.ServiceInstance{State: in.State.State, ReleaseID: in.State.ReleaseID, RestartCount: in.State.Restarts,
			NodeID: in.State.NodeID, UpdatedAt: client.FormatTime(in.State.UpdatedAt), LastRestarts: []client.ServiceRestart{}}
		if v.Environment.IsPreview {
			inst.PRNumber = new(in.State.PRNumber)
		}
		for _, rs := range in.Restarts {
			lines := rs.LastLines
			if lines == nil {
				lines = []string{}
			}
			inst.LastRestarts = append(inst.LastRestarts, client.ServiceRestart{At: client.FormatTime(rs.At), ReleaseID: rs.ReleaseID,
				Reason: rs.Reason, ExitCode: rs.ExitCode, HealthCheck: rs.HealthCheck, State: rs.State, LastLines: lines})
		}
		for _, p := range in.Pods {
			inst.Pods = append(inst.Pods, client.ServicePod{Name: p.Name, Phase: p.Phase, Ready: p.Ready, Restarts: p.Restarts,
				Reason: p.Reason, Node: p.Node, ReleaseID: p.ReleaseID})
		}
		out.Instances = append(out.Instances, inst)
	}
	return out
}

// maxSince bounds how far back since may reach: further is every line
// kept anyway.
const maxSince = 10 * 365 * 24 * time.Hour

// serviceLogs serves Get Service Logs: the runtime log of the service's
// release on this node, as text ("<time> <line>" each), or with
// follow=true as a text/event-stream that goes on until the client
// leaves. since (a duration back from now, or an RFC 3339 time) keeps the
// lines written since.
func (a *API) serviceLogs(w http.ResponseWriter, r *http.Request) error {
	if a.Supervision == nil {
		return fail.New(fail.NotFound, "Service not found")
	}
	lp, err := logsParams(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Has("service") {
		return fail.Invalidf("service is not a parameter of a service's logs: the path names the service")
	}
	p := supervision.LogsParams{Follow: lp.Follow}
	if p.PRNumber, err = prNumberParam(r); err != nil {
		return err
	}
	if p.Since, err = sinceParam(r, time.Now()); err != nil {
		return err
	}
	if p.Follow {
		release, refused := a.follows.acquire(r)
		if refused != "" {
			return &fail.Error{Kind: fail.RateLimited, Message: refused, RetryAfter: 10 * time.Second}
		}
		defer release()
		liftDeadlines(w)
	}
	var out *logAnswer
	err = a.Supervision.Logs(r.Context(), r.PathValue("serviceId"), p, func(lines []local.LogLine) error {
		if out == nil {
			out = startLogAnswer(w, p.Follow)
		}
		return out.text(lines)
	})
	if out == nil && err == nil {
		out = startLogAnswer(w, p.Follow) // no line yet
	}
	if err != nil && out == nil {
		return orNotFound(err, "Service not found")
	}
	if err != nil && r.Context().Err() == nil {
		// The answer has begun: a failure now can only end it.
		a.Log.Warn("service logs", "service_id", r.PathValue("serviceId"), "err", err)
	}
	return nil
}

// sinceParam reads since: a duration back from now ("10m", "2h") or an
// RFC 3339 time. Absent: the zero time (every line).
func sinceParam(r *http.Request, now time.Time) (time.Time, error) {
	v := r.URL.Query()["since"]
	switch {
	case len(v) > 1:
		return time.Time{}, fail.Invalidf("since was given %d times; give it once", len(v))
	case len(v) == 0 || v[0] == "":
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v[0]); err == nil {
		if d < 0 || d > maxSince {
			return time.Time{}, fail.Invalidf("since must be a positive duration (10m, 2h) of at most 10 years")
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v[0])
	if err != nil {
		return time.Time{}, fail.New(fail.Invalid, "since must be a duration (10m, 2h) or an RFC 3339 time, got "+quoteShort(v[0]))
	}
	return t, nil
}

// text writes a batch of a service's log lines, each "<time> <text>"
// (the text alone for a line without a time), and flushes it.
func (o *logAnswer) text(lines []local.LogLine) error {
	var sb strings.Builder
	for _, l := range lines {
		line := l.Text
		if !l.Time.IsZero() {
			line = l.Time.UTC().Format(time.RFC3339Nano) + " " + l.Text
		}
		if o.events {
			sb.WriteString("data: " + line + "\n\n")
		} else {
			sb.WriteString(line + "\n")
		}
	}
	if _, err := o.w.Write([]byte(sb.String())); err != nil {
		return err
	}
	if o.flusher != nil {
		o.flusher.Flush()
	}
	return nil
}
