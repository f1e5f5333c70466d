package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// Bounds of the event streams open at once: live pages hold a connection
// and a goroutine each.
const (
	maxStreamsPerUser = 16
	maxStreams        = 512
)

// keepAlive is how often a quiet stream sends a comment, so that proxies
// in between do not take it for dead.
const keepAlive = 20 * time.Second

// streamLimits counts the event streams open, per user and in all.
type streamLimits struct {
	perUser, total int

	mu     sync.Mutex
	open   int
	byUser map[string]int
}

func newStreamLimits(perUser, total int) *streamLimits {
	return &streamLimits{perUser: perUser, total: total, byUser: map[string]int{}}
}

// acquire counts one more stream of user, or refuses it.
func (l *streamLimits) acquire(userID string) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.total || l.byUser[userID] >= l.perUser {
		return nil, &fail.Error{Kind: fail.RateLimited, RetryAfter: 10 * time.Second,
			Message: "Too many live pages are open: close some and reload this one"}
	}
	l.open++
	l.byUser[userID]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.open--
		if l.byUser[userID]--; l.byUser[userID] == 0 {
			delete(l.byUser, userID)
		}
	}, nil
}

// eventStream writes Server-Sent Events.
type eventStream struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	last time.Time // of the last write
}

// startEvents begins an event stream: its headers, flushed, and no write
// deadline (it lasts as long as what it follows).
func startEvents(w http.ResponseWriter) *eventStream {
	liftDeadlines(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &eventStream{w: w, rc: http.NewResponseController(w)}
	_ = s.rc.Flush()
	s.last = time.Now()
	return s
}

// send writes one event: its name ("" for a message), its id (for
// Last-Event-ID; "" for none) and its data, line by line.
func (s *eventStream) send(event, id, data string) error {
	var b strings.Builder
	if event != "" {
		b.WriteString("event: " + event + "\n")
	}
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: " + strings.TrimSuffix(line, "\r") + "\n")
	}
	b.WriteString("\n")
	return s.write(b.String())
}

// ping keeps a quiet stream alive.
func (s *eventStream) ping() error {
	if time.Since(s.last) < keepAlive {
		return nil
	}
	return s.write(": keep-alive\n\n")
}

func (s *eventStream) write(text string) error {
	if _, err := s.w.Write([]byte(text)); err != nil {
		return err
	}
	s.last = time.Now()
	return s.rc.Flush()
}

// liftDeadlines lifts the server's read and write deadlines of an answer
// that may rightly take longer: a stream that lasts as long as a
// deployment, or a form that first clones a repository.
func liftDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
}

// deploymentEvents follows a deployment for its page: a "status" event
// with the page's status part rendered again at each change, a message per
// line of output (its id for Last-Event-ID, so a reconnecting browser gets
// the rest), and "end" with the final status. It wakes when this replica
// stores output and at least every second (other replicas' changes).
func (d *Dashboard) deploymentEvents(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r)
	release, err := d.streams.acquire(v.User.ID)
	if err != nil {
		return err
	}
	defer release()
	ctx := r.Context()
	dep, err := d.Deployments.Get(ctx, r.PathValue("deploymentId"))
	if err != nil {
		return notFoundAs(err)
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if id, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64); err == nil {
		after = id // a reconnection: on from the last line it had
	}
	canDeploy := v.may(apikey.NeedDeploy, dep.EnvironmentID)
	out := startEvents(w)
	shown := ""
	err = d.Deployments.Await(ctx, func(ctx context.Context) (bool, error) {
		cur, err := d.Deployments.Get(ctx, dep.ID)
		if err != nil {
			return false, err
		}
		if fp := fingerprint(cur); fp != shown {
			html, err := d.renderPartial("deployment_status", statusData{D: cur, CanDeploy: canDeploy, CSRF: v.CSRF})
			if err != nil {
				return false, err
			}
			if err := out.send("status", "", html); err != nil {
				return false, err
			}
			shown = fp
		}
		// Lines stored before the status read above are read now, so the
		// last lines of a deployment that ended are sent before "end".
		logs, err := d.Deployments.OpenLogs(ctx, cur, deployment.LogsParams{AfterID: after})
		if err != nil {
			return false, err
		}
		err = logs.Read(ctx, func(lines []deployment.LogLine) error {
			for _, l := range lines {
				if err := out.send("", strconv.FormatInt(l.ID, 10), "["+l.Label+"] "+l.Text); err != nil {
					return err
				}
				after = l.ID
			}
			return nil
		})
		if err != nil {
			return false, err
		}
		if cur.Status.Final() {
			return true, out.send("end", "", string(cur.Status))
		}
		return false, out.ping()
	})
	if err != nil && ctx.Err() == nil {
		d.Log.Warn("follow a deployment", "deployment_id", dep.ID, "err", err)
	}
	return nil // the answer has begun: a failure can only end it
}

// fingerprint is what a deployment's page shows of it that changes.
func fingerprint(d liftoff.Deployment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%v|%v|%d|%v|%s", d.Status, d.StartedAt.UnixMilli(), d.FinishedAt.UnixMilli(), len(d.Errors), d.CancelRequested, d.GitCommit)
	for _, s := range d.Services {
		fmt.Fprintf(&b, "|%s:%s:%s:%d:%d", s.ID, s.Status, s.Reason, len(s.Errors), s.FinishedAt.UnixMilli())
	}
	return b.String()
}

// deploymentListEvents follows the newest page of the deployments list,
// with its filters: a "rows" event with the list's rows rendered again
// whenever a deployment appears or changes status on it.
func (d *Dashboard) deploymentListEvents(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r)
	lq, err := parseListQuery(r)
	if err != nil {
		return err
	}
	lq.p.AfterCreatedAt, lq.p.AfterID = time.Time{}, "" // the newest page
	release, err := d.streams.acquire(v.User.ID)
	if err != nil {
		return err
	}
	defer release()
	ctx := r.Context()
	out := startEvents(w)
	// The rows go at once, then at each change: the page may have been
	// rendered a while ago. (No fingerprint is "-": an empty list's is "".)
	shown := "-"
	err = d.Deployments.Await(ctx, func(ctx context.Context) (bool, error) {
		ds, err := d.Deployments.List(ctx, lq.p)
		if err != nil {
			return false, err
		}
		if fp := listFingerprint(ds); fp != shown {
			html, err := d.renderPartial("deployment_rows", rowsOf(ds))
			if err != nil {
				return false, err
			}
			if err := out.send("rows", "", html); err != nil {
				return false, err
			}
			shown = fp
		}
		return false, out.ping()
	})
	if err != nil && ctx.Err() == nil {
		d.Log.Warn("follow the deployments list", "err", err)
	}
	return nil
}

// listFingerprint is what the list shows of its deployments that changes.
func listFingerprint(ds []liftoff.Deployment) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.ID + ":" + string(d.Status) + ";")
	}
	return b.String()
}
