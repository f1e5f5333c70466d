package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/project"
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

// writeError answers a /v1 error. Messages may quote what the caller sent;
// anything in them shaped like a secret is redacted, so an answer never
// repeats one (to the caller, or to a log or proxy on the way back).
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, client.ErrorBody{Error: redact.Lookalikes(msg), ErrorCode: code})
}

// validation is a 400 on /v1 naming what was wrong.
type validation struct{ msg string }

func (v *validation) Error() string { return v.msg }

func invalidf(msg string) error { return &validation{msg: msg} }

// fail maps a domain error to its status, in one place. notFound is the
// message for store.ErrNotFound ("Deployment not found"). 5xx answers never
// show the error itself: it is logged once with an id the answer carries.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	var v *validation
	var he *hook.Error
	switch {
	case errors.As(err, &he) && he.Kind == hook.KindBadRequest:
		writeError(w, http.StatusBadRequest, codeValidation, he.Message)
	case errors.As(err, &he) && he.Kind == hook.KindNotFound:
		writeError(w, http.StatusNotFound, codeNotFound, he.Message)
	case errors.As(err, &he) && he.Kind == hook.KindConflict:
		writeError(w, http.StatusConflict, codeConflict, he.Message)
	case errors.As(err, &he) && he.Kind == hook.KindUnavailable:
		a.fail(w, r, store.ErrUnavailable, notFound)
	case errors.As(err, &v):
		writeError(w, http.StatusBadRequest, codeValidation, v.msg)
	case errors.Is(err, project.ErrInvalid), errors.Is(err, hook.ErrInvalid):
		writeError(w, http.StatusBadRequest, codeValidation, userMessage(err))
	case errors.Is(err, project.ErrConflict):
		writeError(w, http.StatusConflict, codeConflict, userMessage(err))
	case errors.Is(err, apikey.ErrBadName):
		writeError(w, http.StatusBadRequest, codeValidation, err.Error())
	case errors.Is(err, apikey.ErrBadScope):
		writeError(w, http.StatusBadRequest, codeValidation, err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, codeNotFound, notFound)
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, codeConflict, "The request conflicts with the current state; reload and retry")
	case errors.Is(err, store.ErrUnavailable):
		id := a.logError(r, err)
		writeJSON(w, http.StatusServiceUnavailable, client.ErrorBody{Error: "Liftoff cannot reach its database right now; retry later",
			ErrorCode: codeUnavailable, ErrorID: id})
	case errors.Is(err, context.Canceled):
		// The client left; nobody reads an answer.
	default:
		id := a.logError(r, err)
		writeJSON(w, http.StatusInternalServerError, client.ErrorBody{Error: "There was an unexpected error; it was logged with id " + id,
			ErrorCode: codeInternal, ErrorID: id})
	}
}

// logError logs err once with a new id and returns the id.
func (a *API) logError(r *http.Request, err error) string {
	id := cuid.New()
	a.Log.ErrorContext(r.Context(), "request failed", "error_id", id, "method", redact.Lookalikes(r.Method),
		"path", RedactPath(r.URL.EscapedPath()), "err", redact.Lookalikes(err.Error()))
	return id
}

// userMessage strips the sentinel prefix from a validation error.
func userMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{project.ErrInvalid.Error() + ": ", project.ErrConflict.Error() + ": ", hook.ErrInvalid.Error() + ": "} {
		if i := strings.Index(msg, prefix); i >= 0 {
			return msg[i+len(prefix):]
		}
	}
	return msg
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
