package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/deploy"
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
	if a.Engine != nil {
		d, err = a.Engine.Cancel(r.Context(), d.ID)
	} else {
		d, err = deploy.RequestCancel(r.Context(), a.Store, d.ID, time.Now())
	}
	if err != nil {
		a.fail(w, r, err, "Deployment not found")
		return
	}
	writeJSON(w, http.StatusOK, deploymentOf(d))
}

// redeployDeployment queues a deployment that releases the same builds again.
func (a *API) redeployDeployment(w http.ResponseWriter, r *http.Request) {
	var d store.Deployment
	var err error
	if a.Engine != nil {
		d, err = a.Engine.Redeploy(r.Context(), r.PathValue("deploymentId"))
	} else {
		d, err = deploy.QueueRedeploy(r.Context(), a.Store, cuid.New, r.PathValue("deploymentId"), time.Now(), a.Limits)
	}
	if errors.Is(err, deploy.ErrPreviewLimit) {
		writeError(w, http.StatusConflict, codeConflict, err.Error())
		return
	}
	if errors.Is(err, deploy.ErrNotRedeployable) {
		writeError(w, http.StatusConflict, codeConflict, strings.TrimPrefix(err.Error(), deploy.ErrNotRedeployable.Error()+": "))
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
	// The engine's own lines are "deploy"; each service's its given id.
	names := map[string]string{"": engineLines}
	sdFilter, onlyEngine := "", q.Get("service") == engineLines
	for _, s := range d.Services {
		names[s.ID] = s.ServiceGivenID
		if q.Get("service") == s.ServiceGivenID {
			sdFilter = s.ID
		}
	}
	if svc := q.Get("service"); svc != "" && sdFilter == "" && !onlyEngine {
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("Deployment %s has no service %s", d.ID, quoteShort(svc)))
		return
	}
	var resume int64
	if follow {
		// A reconnecting event stream resumes after the last line it had.
		resume, _ = strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	}
	line := func(l store.LogLine) string {
		name := names[l.ServiceDeploymentID]
		if name == "" {
			name = engineLines
		}
		return "[" + name + "] " + l.Text
	}
	// The answer lasts as long as the deployment's output (and with follow,
	// as long as the deployment runs).
	liftDeadlines(w)
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
		return cur.Status.Final(), nil
	}
	err := a.Logs.Follow(r.Context(), logstream.FollowParams{DeploymentID: d.ID, ServiceDeploymentID: sdFilter, Finished: finished,
		AfterID: resume},
		func(lines []store.LogLine) error {
			var sb strings.Builder
			for _, l := range lines {
				if onlyEngine && l.ServiceDeploymentID != "" {
					continue
				}
				if follow {
					fmt.Fprintf(&sb, "id: %d\ndata: %s\n\n", l.ID, line(l))
				} else {
					sb.WriteString(line(l) + "\n")
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

// readableDeployment loads the deployment of the path for a caller with an
// API key (checked by the route's guard) or the secret of the hook that
// started it; otherwise it answers.
func (a *API) readableDeployment(w http.ResponseWriter, r *http.Request) (store.Deployment, bool) {
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
