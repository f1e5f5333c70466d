package fail

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestError(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial tcp: connection refused")
	for _, c := range []struct {
		name     string
		err      error
		wantKind Kind
		wantText string
		wantIs   error // errors.Is(err, wantIs) must hold, when set
	}{
		{"plain error is internal", errors.New("boom"), Internal, "boom", nil},
		{"new", New(NotFound, "Deployment not found"), NotFound, "Deployment not found", nil},
		{"newf", Newf(Conflict, "Deployment %s already ended %s", "d1", "SUCCESS"), Conflict, "Deployment d1 already ended SUCCESS", nil},
		{"invalidf", Invalidf("limit must be between 1 and %d", 100), Invalid, "limit must be between 1 and 100", nil},
		{"conflictf", Conflictf("hook %q is paused", "ci"), Conflict, `hook "ci" is paused`, nil},
		{"wrap shows the message, keeps the cause", Wrap(Unavailable, cause, "retry later"), Unavailable, "retry later", cause},
		{"wrap without message shows the cause", Wrap(Internal, cause, ""), Internal, cause.Error(), cause},
		{"no message, no cause: the kind", &Error{Kind: Forbidden}, Forbidden, "forbidden", nil},
		{"wrapped by fmt keeps its kind", fmt.Errorf("trigger: %w", New(RateLimited, "slow down")), RateLimited, "trigger: slow down", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := KindOf(c.err); got != c.wantKind {
				t.Errorf("KindOf = %v, want %v", got, c.wantKind)
			}
			if got := c.err.Error(); got != c.wantText {
				t.Errorf("Error() = %q, want %q", got, c.wantText)
			}
			if c.wantIs != nil && !errors.Is(c.err, c.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", c.err, c.wantIs)
			}
		})
	}
}

func TestAs(t *testing.T) {
	t.Parallel()
	limited := &Error{Kind: RateLimited, Message: "slow down", RetryAfter: 3 * time.Second}
	for _, c := range []struct {
		name string
		err  error
		want *Error
	}{
		{"nil", nil, nil},
		{"plain", errors.New("x"), nil},
		{"itself", limited, limited},
		{"wrapped", fmt.Errorf("a: %w", limited), limited},
		{"joined", errors.Join(errors.New("x"), limited), limited},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := As(c.err); got != c.want {
				t.Errorf("As = %v, want %v", got, c.want)
			}
		})
	}
}

// A sentinel that is itself an *Error matches only itself.
func TestSentinel(t *testing.T) {
	t.Parallel()
	sentinel := New(NotFound, "Deploy hook not found")
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"itself", sentinel, true},
		{"wrapped", fmt.Errorf("x: %w", sentinel), true},
		{"an equal error", New(NotFound, "Deploy hook not found"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := errors.Is(c.err, sentinel); got != c.want {
				t.Errorf("errors.Is = %v, want %v", got, c.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind Kind
		want string
	}{
		{Internal, "internal"}, {Invalid, "invalid"}, {MethodNotAllowed, "method not allowed"}, {Kind(99), "kind 99"}, {Kind(-1), "kind -1"},
	} {
		t.Run(c.want, func(t *testing.T) {
			t.Parallel()
			if got := c.kind.String(); got != c.want {
				t.Errorf("String() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"plain", errors.New("x"), 500},
		{"internal", New(Internal, "x"), 500},
		{"invalid", New(Invalid, "x"), 400},
		{"unauthorized", New(Unauthorized, "x"), 401},
		{"forbidden", New(Forbidden, "x"), 403},
		{"not found", New(NotFound, "x"), 404},
		{"method not allowed", New(MethodNotAllowed, "x"), 405},
		{"conflict", New(Conflict, "x"), 409},
		{"too large", New(TooLarge, "x"), 413},
		{"rate limited", fmt.Errorf("w: %w", New(RateLimited, "x")), 429},
		{"unavailable", New(Unavailable, "x"), 503},
		{"unknown kind", New(Kind(42), "x"), 500},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := HTTPStatus(c.err); got != c.want {
				t.Errorf("HTTPStatus = %d, want %d", got, c.want)
			}
		})
	}
}
