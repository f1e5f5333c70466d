// Package fail is the one error type of Liftoff's use cases. An Error says
// what kind of failure it is, carries a message that is safe to show the
// caller, how long to wait before retrying, and the cause, kept for the
// log. One table here (HTTPStatus) turns a kind into a status: the API's
// adapter answers with it, and the hook call record keeps what was
// answered, so the two never disagree. Use cases name kinds, never
// statuses.
//
// An error that is not an *Error (or does not wrap one) is Internal: not
// the caller's doing, and never shown to them.
package fail

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind is what went wrong, as the caller sees it.
type Kind int

// The kinds of failure. Internal is the zero Kind.
const (
	// Internal: a bug, or a dependency failing in a way the caller cannot
	// fix. Its message is never shown.
	Internal Kind = iota
	// Invalid: what the caller sent is wrong; the message says what.
	Invalid
	// NotFound: what the caller named does not exist (or is not theirs).
	NotFound
	// Conflict: the request clashes with the current state.
	Conflict
	// RateLimited: too many calls; retry after RetryAfter.
	RateLimited
	// Unavailable: Liftoff cannot serve the request now (its database is
	// down, it is shutting down, a bound is reached); retry later.
	Unavailable
	// Unauthorized: no credential, or a wrong one.
	Unauthorized
	// Forbidden: the credential may not do this.
	Forbidden
	// TooLarge: what the caller sent is over a size limit.
	TooLarge
	// MethodNotAllowed: the resource does not take this method.
	MethodNotAllowed
)

var kindNames = [...]string{Internal: "internal", Invalid: "invalid", NotFound: "not found", Conflict: "conflict",
	RateLimited: "rate limited", Unavailable: "unavailable", Unauthorized: "unauthorized", Forbidden: "forbidden",
	TooLarge: "too large", MethodNotAllowed: "method not allowed"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind %d", int(k))
}

// Error is a failure of a use case.
type Error struct {
	Kind Kind
	// Message is one sentence the caller can act on. It is shown as it is
	// (except for Internal errors), so it holds nothing secret.
	Message string
	// RetryAfter is how long a RateLimited or Unavailable caller should
	// wait; zero when it is not known.
	RetryAfter time.Duration
	// Err is the cause, for errors.Is and As and for the log; it is not
	// shown to the caller.
	Err error
}

// Error returns the message; without one, the cause's text.
func (e *Error) Error() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Kind.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind with the message msg.
func New(kind Kind, msg string) *Error { return &Error{Kind: kind, Message: msg} }

// Newf returns an error of kind with a formatted message.
func Newf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind with the message msg, caused by cause.
func Wrap(kind Kind, cause error, msg string) *Error {
	return &Error{Kind: kind, Message: msg, Err: cause}
}

// Invalidf returns an Invalid error with a formatted message.
func Invalidf(format string, args ...any) *Error { return Newf(Invalid, format, args...) }

// Conflictf returns a Conflict error with a formatted message.
func Conflictf(format string, args ...any) *Error { return Newf(Conflict, format, args...) }

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of the first *Error in err's chain; Internal
// when there is none.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return Internal
}

// HTTPStatus is the status of an answer refusing a request with err: the
// one table from kinds to statuses. The API's error adapter answers with it,
// and the hook call record stores it, so a recorded call shows the status
// its caller got.
func HTTPStatus(err error) int {
	switch KindOf(err) {
	case Invalid:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case RateLimited:
		return http.StatusTooManyRequests
	case Unavailable:
		return http.StatusServiceUnavailable
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}
