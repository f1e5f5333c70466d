package report

import (
	"fmt"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/notify"
)

// state is what an event says on GitHub.
type state struct {
	// rank orders an event's states: a state is never replaced by one of
	// a lower rank of the same deployment (a repeated created after a
	// started, or a started after the end).
	rank int
	// commit is the commit status's state: pending, success, failure or
	// error.
	commit string
	// deployment is the deployment status's state: queued, in_progress,
	// success, failure, error or inactive.
	deployment string
	// description is the one line both carry (at most 140 characters).
	description string
	// word is how the comment says it.
	word string
}

const (
	rankQueued = iota
	rankRunning
	rankFinal
)

// stateOf maps an event to its GitHub states; ok is false for an event
// type this reporter does not know.
func stateOf(ev notify.Event) (state, bool) {
	d := ev.Deployment
	switch ev.Type {
	case notify.EventCreated:
		return state{rankQueued, "pending", "queued", "Queued", "queued"}, true
	case notify.EventStarted:
		return state{rankRunning, "pending", "in_progress", "Deploying", "deploying"}, true
	case notify.EventSucceeded:
		return state{rankFinal, "success", "success", "Deployed" + took(d), "deployed"}, true
	case notify.EventNoChange:
		return state{rankFinal, "success", "success", "No service changed: nothing to deploy", "no change"}, true
	case notify.EventFailed:
		s := state{rankFinal, "failure", "failure", "Failed" + firstError(d), "failed"}
		if d.Status == liftoff.StatusError {
			// Liftoff's own failure, not the code's.
			s.commit, s.deployment = "error", "error"
		}
		return s, true
	case notify.EventCancelled:
		// GitHub has no cancelled state: the commit's check errs (it did
		// not pass), the deployment was never active.
		return state{rankFinal, "error", "inactive", "Cancelled", "cancelled"}, true
	}
	return state{}, false
}

// took is " in 1m12s" when the deployment has run times.
func took(d liftoff.Deployment) string {
	if d.StartedAt.IsZero() || d.FinishedAt.IsZero() || d.FinishedAt.Before(d.StartedAt) {
		return ""
	}
	return " in " + d.FinishedAt.Sub(d.StartedAt).Round(time.Second).String()
}

// firstError is ": <the first error's message>", or "".
func firstError(d liftoff.Deployment) string {
	if len(d.Errors) == 0 {
		if d.Status != "" {
			return fmt.Sprintf(" (%s)", d.Status)
		}
		return ""
	}
	return ": " + d.Errors[0].Message
}

// clip shortens s to at most n characters (GitHub refuses longer
// descriptions).
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
