package hook

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies what went wrong with a hook call; the API maps each kind
// to its HTTP status in one place.
type Kind int

// Kinds of hook call failures.
const (
	KindBadRequest  Kind = iota + 1 // 400: a parameter is wrong
	KindNotFound                    // 404: environment, hook or secret wrong
	KindConflict                    // 409: paused hook, deleted environment, no services
	KindRateLimited                 // 429
	KindUnavailable                 // 503: nothing was queued
)

// Error is a hook call failure a person can act on.
type Error struct {
	Kind       Kind
	Message    string
	RetryAfter time.Duration // with KindRateLimited
}

func (e *Error) Error() string { return e.Message }

// ErrNotFound is the one answer for a wrong environment, hook or secret.
var ErrNotFound = &Error{Kind: KindNotFound, Message: "Deploy hook not found"}

func badRequest(format string, args ...any) error {
	return &Error{Kind: KindBadRequest, Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &Error{Kind: KindConflict, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err, or 0 when it is not a hook Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
