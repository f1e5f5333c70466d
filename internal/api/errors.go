package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Error codes of /v1 error bodies.
const (
	codeNotFound         = "NOT_FOUND"
	codeValidation       = "VALIDATION_ERROR"
	codeUnauthorized     = "UNAUTHORIZED"
	codeForbidden        = "FORBIDDEN"
	codeConflict         = "CONFLICT"
	codeRateLimited      = "RATE_LIMITED"
	codeInternal         = "INTERNAL"
	codeUnavailable      = "UNAVAILABLE"
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// handler is a route's handler: it writes a successful answer itself and
// returns a failure for serve to answer. Headers it set stay (Allow,
// RateLimit-*).
type handler func(w http.ResponseWriter, r *http.Request) error

// surface is the shape a failure is answered in.
type surface int

const (
	// v1Surface answers client.ErrorBody: {"error", "errorCode", "errorId"}.
	v1Surface surface = iota
	// hookSurface answers as Flightcontrol's deploy hooks do:
	// {"success": "false", "error": ...}.
	hookSurface
)

// serve adapts h to net/http, answering its failure in the shape of s.
func (a *API) serve(s surface, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.answerFailure(w, r, s, err)
		}
	}
}

// answerFailure is the one place a failure becomes an answer: its kind
// picks the status (fail.HTTPStatus) and the code, its RetryAfter the
// Retry-After header. A 5xx is logged once with an id, which a /v1 answer
// carries in errorId and a hook's 500 in its error text (a hook's 503 has
// no room for it in Flightcontrol's shape); an Internal answer never shows
// the error itself. Messages may quote what the caller sent: anything in
// them shaped like a secret is redacted, so an answer never repeats one
// (to the caller, or to a log or proxy on the way back).
func (a *API) answerFailure(w http.ResponseWriter, r *http.Request, s surface, err error) {
	if errors.Is(err, context.Canceled) {
		return // the client left; nobody reads an answer
	}
	fe := classify(err)
	status := fail.HTTPStatus(fe)
	if fe.Kind == fail.RateLimited || fe.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ceilSeconds(fe.RetryAfter)))
	}
	id := ""
	if status >= 500 {
		id = a.logFailure(r, err, fe)
	}
	switch {
	case s == hookSurface && fe.Kind == fail.Internal:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"success": ` + a.hookFalse + `, "error": ` + jsonString("Internal error "+id) +
			`, "message": "There was an unexpected error."}`))
	case s == hookSurface:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"success": ` + a.hookFalse + `, "error": ` + jsonString(redact.Lookalikes(fe.Message)) + `}`))
	case fe.Kind == fail.Internal:
		writeJSON(w, status, client.ErrorBody{Error: "There was an unexpected error; it was logged with id " + id,
			ErrorCode: codeInternal, ErrorID: id})
	default:
		writeJSON(w, status, client.ErrorBody{Error: redact.Lookalikes(fe.Message), ErrorCode: codeOf(fe.Kind), ErrorID: id})
	}
}

// codeOf is the errorCode of a /v1 answer of each kind.
func codeOf(k fail.Kind) string {
	switch k {
	case fail.Invalid, fail.TooLarge:
		return codeValidation
	case fail.NotFound:
		return codeNotFound
	case fail.Conflict:
		return codeConflict
	case fail.RateLimited:
		return codeRateLimited
	case fail.Unavailable:
		return codeUnavailable
	case fail.Unauthorized:
		return codeUnauthorized
	case fail.Forbidden:
		return codeForbidden
	case fail.MethodNotAllowed:
		return codeMethodNotAllowed
	}
	return codeInternal
}

// classify gives every error a kind: a *fail.Error keeps its own, the
// store's sentinels get theirs, anything else is Internal.
func classify(err error) *fail.Error {
	if fe := fail.As(err); fe != nil {
		return fe
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail.Wrap(fail.NotFound, err, "")
	case errors.Is(err, store.ErrConflict):
		return fail.Wrap(fail.Conflict, err, "The request conflicts with the current state; reload and retry")
	case errors.Is(err, store.ErrUnavailable):
		return fail.Wrap(fail.Unavailable, err, "Liftoff cannot reach its database right now; retry later")
	}
	return fail.Wrap(fail.Internal, err, "")
}

// orNotFound names what the store did not find: a store.ErrNotFound
// becomes a NotFound answering msg ("Deployment not found"). Any other
// error, a *fail.Error first, is left as it is.
func orNotFound(err error, msg string) error {
	if err == nil || fail.As(err) != nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return fail.Wrap(fail.NotFound, err, msg)
}

// logFailure logs a 5xx once with a new id and returns the id. An
// Unavailable answer is expected now and then (a database restart, a
// shutdown, a bound reached): a warning; anything else is an error.
func (a *API) logFailure(r *http.Request, err error, fe *fail.Error) string {
	id := cuid.New()
	level := slog.LevelError
	if fe.Kind == fail.Unavailable {
		level = slog.LevelWarn
	}
	attrs := []any{"error_id", id, "method", redact.Lookalikes(r.Method), "path", RedactPath(r.URL.EscapedPath()),
		"err", redact.Lookalikes(err.Error())}
	if fe.Err != nil && fe.Message != "" {
		// err's text is the message the caller got: the cause says why.
		attrs = append(attrs, "cause", redact.Lookalikes(fe.Err.Error()))
	}
	a.Log.Log(r.Context(), level, "request failed", attrs...)
	return id
}

// RedactPath returns an escaped request path fit for logs. Under the deploy
// hook prefix every segment is replaced by [REDACTED] except ids, PR numbers
// and commit SHAs in their places. Elsewhere a segment is replaced when,
// decoded, it holds anything shaped like a secret, and every segment after
// one that names deploy-hook in any case or form (//api/deploy-hook/...,
// /API/Deploy-Hook/..., api%2Fdeploy-hook...) is replaced unless it is a
// number or a SHA: a secret never reaches a log line, whatever shape a
// caller gave the path.
func RedactPath(escapedPath string) string {
	if rest, ok := strings.CutPrefix(escapedPath, HookPathPrefix); ok {
		parts := strings.Split(rest, "/")
		for i, p := range parts {
			keep := p == "" ||
				(i == 0 || i == 2) && allDigits(p) ||
				i == 3 && checkSHA("", p) == nil
			if !keep {
				parts[i] = redact.Redacted
			}
		}
		return HookPathPrefix + strings.Join(parts, "/")
	}
	parts := strings.Split(escapedPath, "/")
	hook := false
	for i, p := range parts {
		secret := redact.HasLookalike(p)
		// A part may hold encoded slashes: judge each piece between them.
		for _, piece := range strings.Split(unescapeAll(p), "/") {
			if redact.HasLookalike(piece) || hook && piece != "" && !allDigits(piece) && checkSHA("", piece) != nil {
				secret = true
			}
			if strings.Contains(strings.ToLower(piece), "deploy-hook") {
				hook = true
			}
		}
		if secret {
			parts[i] = redact.Redacted
		}
	}
	return strings.Join(parts, "/")
}

// unescapeAll decodes percent-escapes, again and again (a path escaped
// twice is still a path a person can read), leaving malformed ones as they
// are.
func unescapeAll(s string) string {
	for range 4 {
		if !strings.Contains(s, "%") {
			return s
		}
		next := lenientUnescape(s)
		if next == s {
			return s
		}
		s = next
	}
	return s
}

func lenientUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
