package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/store"
)

// deploymentLogs serves a deployment's output as text, or with follow=true
// as a live text/event-stream until the deployment ends. It takes an API
// key or the triggering hook's secret, like Get Deployment.
func (a *API) deploymentLogs(w http.ResponseWriter, r *http.Request) error {
	d, err := a.readableDeployment(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	for _, name := range []string{"follow", "service"} {
		if n := len(q[name]); n > 1 {
			return fail.Invalidf("%s was given %d times; give it once", name, n)
		}
	}
	follow := false
	if v, given := q["follow"]; given {
		switch strings.ToLower(v[0]) {
		case "false", "0":
		case "true", "1":
			follow = true
		default:
			return fail.New(fail.Invalid, "follow must be true, false, 1 or 0, got "+quoteShort(v[0]))
		}
	}
	if follow {
		release, refused := a.follows.acquire(r)
		if refused != "" {
			return &fail.Error{Kind: fail.RateLimited, Message: refused, RetryAfter: 10 * time.Second}
		}
		defer release()
	}
	// The answer lasts as long as the deployment's output (and with follow,
	// as long as the deployment runs).
	liftDeadlines(w)
	svc := q.Get("service")
	onlyEngine := svc == engineLines
	if follow && svc != "" && !onlyEngine && !hasService(d, svc) && !planned(d) {
		// Right after a hook call the deployment has not decided its
		// services yet: wait until it has (or has ended), then follow.
		if d, err = a.awaitPlan(r.Context(), d); err != nil {
			if r.Context().Err() != nil {
				return nil // the client left
			}
			return err
		}
	}
	labels := newLineLabels(d)
	sdFilter := ""
	if svc != "" && !onlyEngine {
		for _, s := range d.Services {
			if s.ServiceGivenID == svc {
				sdFilter = s.ID
			}
		}
		if sdFilter == "" {
			msg := fmt.Sprintf("Deployment %s has no service %s", d.ID, quoteShort(svc))
			if !planned(d) {
				msg += fmt.Sprintf(" yet: it is %s and decides its services when it starts; follow its logs (follow=true) to wait for them", d.Status)
			}
			return fail.New(fail.NotFound, msg)
		}
	}
	var resume int64
	if follow {
		// A reconnecting event stream resumes after the last line it had.
		resume, _ = strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	}
	line := func(ctx context.Context, l liftoff.LogLine) string {
		return "[" + labels.of(ctx, a.Store, l.ServiceDeploymentID) + "] " + l.Text
	}
	flusher, _ := w.(http.Flusher)
	if follow {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Accel-Buffering", "no")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if follow && flusher != nil {
		// The stream has begun, even before its first line.
		flusher.Flush()
	}
	finished := func(ctx context.Context) (bool, error) {
		if !follow {
			return true, nil
		}
		cur, err := a.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
		if err != nil {
			return false, err
		}
		d = cur
		labels.learn(cur)
		return cur.Status.Final(), nil
	}
	err = a.Logs.Follow(r.Context(), logstream.FollowParams{DeploymentID: d.ID, ServiceDeploymentID: sdFilter, Finished: finished,
		AfterID: resume},
		func(lines []liftoff.LogLine) error {
			var sb strings.Builder
			for _, l := range lines {
				if onlyEngine && l.ServiceDeploymentID != "" {
					continue
				}
				if follow {
					fmt.Fprintf(&sb, "id: %d\ndata: %s\n\n", l.ID, line(r.Context(), l))
				} else {
					sb.WriteString(line(r.Context(), l) + "\n")
				}
			}
			if _, err := w.Write([]byte(sb.String())); err != nil {
				return err
			}
			if flusher != nil {
				flusher.Flush()
			}
			return nil
		})
	if err != nil {
		// The answer has begun: a failure now can only end it.
		if r.Context().Err() == nil {
			a.Log.Warn("follow logs", "deployment_id", d.ID, "err", err)
		}
		return nil
	}
	if follow {
		_, _ = fmt.Fprintf(w, "event: end\ndata: %s\n\n", d.Status)
	}
	return nil
}

// engineLines names the deployment's own lines in logs.
const engineLines = "deploy"

// lineLabels name the lines of a deployment's output: "deploy" for the
// engine's own, each service's given id for its own. A follower may start
// before the deployment has its service deployments, so an id it has not
// seen sends it back to the store once (the engine stores a service
// deployment before any of its lines).
type lineLabels struct {
	deploymentID string
	names        map[string]string // service deployment id -> label
}

func newLineLabels(d liftoff.Deployment) *lineLabels {
	l := &lineLabels{deploymentID: d.ID, names: map[string]string{}}
	l.learn(d)
	return l
}

func (l *lineLabels) learn(d liftoff.Deployment) {
	for _, s := range d.Services {
		l.names[s.ID] = s.ServiceGivenID
	}
}

func (l *lineLabels) of(ctx context.Context, st store.DeploymentQueries, serviceDeploymentID string) string {
	if serviceDeploymentID == "" {
		return engineLines
	}
	if name, ok := l.names[serviceDeploymentID]; ok {
		return name
	}
	if d, err := st.GetDeployment(ctx, store.GetDeploymentParams{ID: l.deploymentID}); err == nil {
		l.learn(d)
	}
	if _, ok := l.names[serviceDeploymentID]; !ok {
		// Not one of the deployment's services: say so once, not a read
		// per line.
		l.names[serviceDeploymentID] = "service " + serviceDeploymentID
	}
	return l.names[serviceDeploymentID]
}

// planned reports whether a deployment has decided its services: every
// service deployment it will have exists.
func planned(d liftoff.Deployment) bool {
	return d.Status != liftoff.StatusPending && d.Status != liftoff.StatusInProgress
}

func hasService(d liftoff.Deployment, givenID string) bool {
	return slices.ContainsFunc(d.Services, func(s liftoff.ServiceDeployment) bool { return s.ServiceGivenID == givenID })
}

// awaitPlan waits until a deployment has decided its services or has
// ended, checking when output is stored and at least every second.
func (a *API) awaitPlan(ctx context.Context, d liftoff.Deployment) (liftoff.Deployment, error) {
	err := a.Logs.Await(ctx, 0, func(ctx context.Context) (bool, error) {
		cur, err := a.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
		if err != nil {
			return false, err
		}
		d = cur
		return planned(cur), nil
	})
	return d, err
}
