package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/store"
)

// cancelDeployment ends a PENDING deployment at once and stops a running one.
func (a *API) cancelDeployment(w http.ResponseWriter, r *http.Request) {
	d, err := a.Store.GetDeployment(r.Context(), r.PathValue("deploymentId"))
	if err != nil {
		a.fail(w, r, err, "Deployment not found")
		return
	}
	if d.Status.Final() {
		writeError(w, http.StatusConflict, codeConflict, fmt.Sprintf("Deployment %s already ended %s", d.ID, d.Status))
		return
	}
	if d, err = a.Deployments.Cancel(r.Context(), d.ID); err != nil {
		a.fail(w, r, err, "Deployment not found")
		return
	}
	writeJSON(w, http.StatusOK, deploymentOf(d))
}

// redeployDeployment queues a deployment that releases the same builds again.
func (a *API) redeployDeployment(w http.ResponseWriter, r *http.Request) {
	d, err := a.Deployments.Redeploy(r.Context(), r.PathValue("deploymentId"))
	if errors.Is(err, deployment.ErrPreviewLimit) {
		writeError(w, http.StatusConflict, codeConflict, err.Error())
		return
	}
	if errors.Is(err, deployment.ErrNotRedeployable) {
		writeError(w, http.StatusConflict, codeConflict, strings.TrimPrefix(err.Error(), deployment.ErrNotRedeployable.Error()+": "))
		return
	}
	if err != nil {
		a.fail(w, r, err, "Deployment not found")
		return
	}
	writeJSON(w, http.StatusCreated, deploymentOf(d))
}

// deploymentLogs serves a deployment's output as text, or with follow=true
// as a live text/event-stream until the deployment ends. It takes an API
// key or the triggering hook's secret, like Get Deployment.
func (a *API) deploymentLogs(w http.ResponseWriter, r *http.Request) {
	d, ok := a.readableDeployment(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	for _, name := range []string{"follow", "service"} {
		if n := len(q[name]); n > 1 {
			a.fail(w, r, invalidf(fmt.Sprintf("%s was given %d times; give it once", name, n)), "")
			return
		}
	}
	follow := false
	if v, given := q["follow"]; given {
		switch strings.ToLower(v[0]) {
		case "false", "0":
		case "true", "1":
			follow = true
		default:
			a.fail(w, r, invalidf("follow must be true, false, 1 or 0, got "+quoteShort(v[0])), "")
			return
		}
	}
	if follow {
		release, refused := a.follows.acquire(r)
		if refused != "" {
			w.Header().Set("Retry-After", "10")
			writeError(w, http.StatusTooManyRequests, codeRateLimited, refused)
			return
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
		var err error
		if d, err = a.awaitPlan(r.Context(), d); err != nil {
			if r.Context().Err() == nil {
				a.fail(w, r, err, "")
			}
			return
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
			writeError(w, http.StatusNotFound, codeNotFound, msg)
			return
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
		cur, err := a.Store.GetDeployment(ctx, d.ID)
		if err != nil {
			return false, err
		}
		d = cur
		labels.learn(cur)
		return cur.Status.Final(), nil
	}
	err := a.Logs.Follow(r.Context(), logstream.FollowParams{DeploymentID: d.ID, ServiceDeploymentID: sdFilter, Finished: finished,
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
		if r.Context().Err() == nil {
			a.Log.Warn("follow logs", "deployment_id", d.ID, "err", err)
		}
		return
	}
	if follow {
		_, _ = fmt.Fprintf(w, "event: end\ndata: %s\n\n", d.Status)
	}
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
	if d, err := st.GetDeployment(ctx, l.deploymentID); err == nil {
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
		cur, err := a.Store.GetDeployment(ctx, d.ID)
		if err != nil {
			return false, err
		}
		d = cur
		return planned(cur), nil
	})
	return d, err
}

// readableDeployment loads the deployment of the path for a caller with an
// API key (checked by the route's guard) or the secret of the hook that
// started it; otherwise it answers.
func (a *API) readableDeployment(w http.ResponseWriter, r *http.Request) (liftoff.Deployment, bool) {
	id := r.PathValue("deploymentId")
	if secret, ok := hookSecret(r); ok {
		d, err := a.Store.GetDeployment(r.Context(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			a.fail(w, r, err, "")
			return d, false
		}
		allowed := false
		if err == nil {
			if allowed, err = a.Hooks.CanRead(r.Context(), secret, d); err != nil {
				a.fail(w, r, err, "")
				return d, false
			}
		}
		if !allowed {
			// The same answer for an unknown deployment and one this hook
			// did not start.
			writeError(w, http.StatusNotFound, codeNotFound, "Deployment not found")
			return d, false
		}
		return d, true
	}
	// An API key: the route's guard checked it and its scope.
	d, err := a.Store.GetDeployment(r.Context(), id)
	if err != nil {
		a.fail(w, r, err, "Deployment not found")
		return d, false
	}
	return d, true
}
