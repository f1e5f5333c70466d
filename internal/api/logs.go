package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// deploymentLogs serves a deployment's output as text, or with follow=true
// as a live text/event-stream until the deployment ends. It takes an API
// key or the triggering hook's secret, like Get Deployment.
func (a *API) deploymentLogs(w http.ResponseWriter, r *http.Request) error {
	d, err := a.readableDeployment(r)
	if err != nil {
		return err
	}
	p, err := logsParams(r)
	if err != nil {
		return err
	}
	if p.Follow {
		release, refused := a.follows.acquire(r)
		if refused != "" {
			return &fail.Error{Kind: fail.RateLimited, Message: refused, RetryAfter: 10 * time.Second}
		}
		defer release()
	}
	// The answer lasts as long as the deployment's output (and with follow,
	// as long as the deployment runs).
	liftDeadlines(w)
	logs, err := a.Deployments.OpenLogs(r.Context(), d, p)
	if err != nil {
		if r.Context().Err() != nil {
			return nil // the client left while the deployment decided its services
		}
		return err
	}
	out := startLogAnswer(w, p.Follow)
	if err := logs.Read(r.Context(), out.lines); err != nil {
		// The answer has begun: a failure now can only end it.
		if r.Context().Err() == nil {
			a.Log.Warn("follow logs", "deployment_id", d.ID, "err", err)
		}
		return nil
	}
	out.end(logs.Deployment().Status)
	return nil
}

// logsParams reads the query of a logs request: service and follow, each
// at most once, and with follow the Last-Event-ID a reconnecting event
// stream sends.
func logsParams(r *http.Request) (deployment.LogsParams, error) {
	q := r.URL.Query()
	for _, name := range []string{"follow", "service"} {
		if n := len(q[name]); n > 1 {
			return deployment.LogsParams{}, fail.Invalidf("%s was given %d times; give it once", name, n)
		}
	}
	p := deployment.LogsParams{Service: q.Get("service")}
	if v, given := q["follow"]; given {
		switch strings.ToLower(v[0]) {
		case "false", "0":
		case "true", "1":
			p.Follow = true
		default:
			return p, fail.New(fail.Invalid, "follow must be true, false, 1 or 0, got "+quoteShort(v[0]))
		}
	}
	if p.Follow {
		// A reconnecting event stream resumes after the last line it had.
		p.AfterID, _ = strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	}
	return p, nil
}

// logAnswer writes log lines as they are read: as plain text, one
// "[label] text" line each, or as a text/event-stream whose events carry
// the line's id (for Last-Event-ID) and end with an "end" event.
type logAnswer struct {
	w       http.ResponseWriter
	flusher http.Flusher // nil when w cannot flush
	events  bool
}

// startLogAnswer writes the headers of the answer, and with events flushes
// them: the stream has begun, even before its first line.
func startLogAnswer(w http.ResponseWriter, events bool) *logAnswer {
	flusher, _ := w.(http.Flusher)
	if events {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Accel-Buffering", "no")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if events && flusher != nil {
		flusher.Flush()
	}
	return &logAnswer{w: w, flusher: flusher, events: events}
}

// lines writes a batch of lines and flushes it.
func (o *logAnswer) lines(lines []deployment.LogLine) error {
	var sb strings.Builder
	for _, l := range lines {
		line := "[" + l.Label + "] " + l.Text
		if o.events {
			fmt.Fprintf(&sb, "id: %d\ndata: %s\n\n", l.ID, line)
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

// end ends an event stream with the status the deployment ended with.
func (o *logAnswer) end(status liftoff.Status) {
	if o.events {
		_, _ = fmt.Fprintf(o.w, "event: end\ndata: %s\n\n", status)
	}
}
