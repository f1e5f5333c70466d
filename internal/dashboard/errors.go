package dashboard

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/store"
)

// errorData is what the error page shows.
type errorData struct {
	Status  int
	Message string
	ErrorID string
}

// fail answers a handler's error with a page: a fail error's kind picks
// the status and its message is shown; the store's sentinels get theirs;
// anything else is an internal error, logged once with an id the page
// shows, its text never shown.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return // the browser left
	}
	fe := classify(err)
	status := fail.HTTPStatus(fe)
	data := errorData{Status: status, Message: redact.Lookalikes(fe.Message)}
	if fe.Kind == fail.RateLimited || fe.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfter(fe.RetryAfter))
	}
	if status >= 500 {
		data.ErrorID = cuid.New()
		attrs := []any{"error_id", data.ErrorID, "method", r.Method, "path", r.URL.Path, "err", redact.Lookalikes(err.Error())}
		if fe.Kind == fail.Unavailable {
			d.Log.Warn("dashboard request failed", attrs...)
		} else {
			d.Log.Error("dashboard request failed", attrs...)
		}
		if fe.Kind == fail.Internal {
			data.Message = "Something went wrong on Liftoff's side. It was logged with id " + data.ErrorID + "."
		}
	}
	if rerr := d.render(w, r, status, "error", statusTitle(status), data); rerr != nil {
		d.Log.Error("render the error page", "err", rerr)
		http.Error(w, data.Message, status)
	}
}

// classify gives every error a kind, as the API does: a *fail.Error keeps
// its own, the store's sentinels get theirs, anything else is Internal.
func classify(err error) *fail.Error {
	if fe := fail.As(err); fe != nil {
		return fe
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail.Wrap(fail.NotFound, err, errNotFound.Message)
	case errors.Is(err, store.ErrConflict):
		return fail.Wrap(fail.Conflict, err, "This conflicts with a change made meanwhile: reload the page and try again")
	case errors.Is(err, store.ErrUnavailable):
		return fail.Wrap(fail.Unavailable, err, "Liftoff cannot reach its database right now: try again in a moment")
	}
	return fail.Wrap(fail.Internal, err, "")
}

func statusTitle(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Not found"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusUnauthorized:
		return "Sign in"
	}
	return http.StatusText(status)
}

func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(int(math.Ceil(d.Seconds())), 1))
}

// formErrors are the refusals of a form, by the name of the field each
// concerns; "" for the form as a whole.
type formErrors map[string]string

// fieldOf places a use case's refusal next to a form's field: the field
// its message names first, else the form as a whole. The rule itself is
// the use case's; this only decides where to show what it said.
func fieldOf(err error, fields map[string][]string) (string, string, bool) {
	fe := fail.As(err)
	if fe == nil || (fe.Kind != fail.Invalid && fe.Kind != fail.Conflict) {
		return "", "", false
	}
	for field, words := range fields {
		for _, w := range words {
			if len(fe.Message) >= len(w) && fe.Message[:len(w)] == w {
				return field, fe.Message, true
			}
		}
	}
	return "", fe.Message, true
}
