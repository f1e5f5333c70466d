package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/redact"
)

// MaxIdempotencyKeyLength bounds the Idempotency-Key header.
const MaxIdempotencyKeyLength = 255

// deployHook serves GET and POST /api/deploy-hook/{envId}/{secret} and
// /api/deploy-hook/{previewEnvId}/{secret}/{prNumber}/{commitSHA}: parse,
// authenticate and enqueue (hook.Trigger, one transaction), answer.
func (a *API) deployHook(w http.ResponseWriter, r *http.Request) {
	addr := a.client(r)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		setQuota(w, a.Hooks.Quota(addr))
		w.Header().Set("Allow", "GET, POST")
		a.writeHookError(w, http.StatusMethodNotAllowed, "Method "+methodOf(r)+" is not allowed; call deploy hooks with GET or POST")
		return
	}
	if a.Draining() {
		setQuota(w, a.Hooks.Quota(addr))
		a.writeHookError(w, http.StatusServiceUnavailable, "Liftoff is shutting down; nothing was queued, retry in a moment")
		return
	}
	req, err := ParseHookCall(r.URL.EscapedPath(), r.URL.RawQuery)
	if err == nil {
		req.IdempotencyKey = r.Header.Get("Idempotency-Key")
		if len(req.IdempotencyKey) > MaxIdempotencyKeyLength || strings.ContainsFunc(req.IdempotencyKey, notVisibleASCII) {
			err = badParam("Idempotency-Key must be at most %d visible ASCII characters", MaxIdempotencyKeyLength)
		}
	}
	var pe *parseError
	if errors.As(err, &pe) || errors.Is(err, hook.ErrNotFound) {
		a.refuseHookCall(w, r, addr, err)
		return
	}
	req.Address = addr
	res, q, err := a.Hooks.Trigger(r.Context(), req)
	setQuota(w, q)
	if err != nil {
		a.writeHookFailure(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// Byte for byte what Flightcontrol answers.
	_, _ = w.Write([]byte(a.hookOK + res.DeploymentID + `"}`))
}

// refuseHookCall answers a call refused before it reached the hooks domain
// (a malformed path), counting it against the caller's failure limit.
func (a *API) refuseHookCall(w http.ResponseWriter, r *http.Request, addr string, err error) {
	q, limited := a.Hooks.Refuse(addr)
	setQuota(w, q)
	if limited != nil {
		err = limited
	}
	a.writeHookFailure(w, r, err)
}

func notVisibleASCII(r rune) bool { return r < 0x21 || r > 0x7e }

// writeHookFailure maps a hook error to its status, in one place.
func (a *API) writeHookFailure(w http.ResponseWriter, r *http.Request, err error) {
	var pe *parseError
	if errors.As(err, &pe) {
		a.writeHookError(w, http.StatusBadRequest, pe.msg)
		return
	}
	var he *hook.Error
	if !errors.As(err, &he) {
		id := a.logError(r, err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"success": ` + a.hookFalse + `, "error": ` + jsonString("Internal error "+id) +
			`, "message": "There was an unexpected error."}`))
		return
	}
	status := http.StatusInternalServerError
	switch he.Kind {
	case hook.KindBadRequest:
		status = http.StatusBadRequest
	case hook.KindNotFound:
		status = http.StatusNotFound
	case hook.KindConflict:
		status = http.StatusConflict
	case hook.KindRateLimited:
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(ceilSeconds(he.RetryAfter)))
	case hook.KindUnavailable:
		status = http.StatusServiceUnavailable
	}
	a.writeHookError(w, status, he.Message)
}

// writeHookError answers a hook call error in Flightcontrol's shape. Like
// writeError, it redacts anything shaped like a secret from the message.
func (a *API) writeHookError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"success": ` + a.hookFalse + `, "error": ` + jsonString(redact.Lookalikes(msg)) + `}`))
}

// HookSuccessType is how deploy hook answers write "success".
// Flightcontrol's Deploy Hooks page shows the string "true" and its Get
// Deployment page the boolean true: clients written against either exist,
// so a server picks one for all its answers (docs/api.md).
type HookSuccessType string

// The two ways to write "success".
const (
	// HookSuccessString writes "true" and "false", as Flightcontrol's
	// Deploy Hooks page shows them. The default.
	HookSuccessString HookSuccessType = "string"
	// HookSuccessBoolean writes true and false.
	HookSuccessBoolean HookSuccessType = "boolean"
)

// ParseHookSuccessType reads --hook-success-type.
func ParseHookSuccessType(s string) (HookSuccessType, error) {
	switch t := HookSuccessType(s); t {
	case HookSuccessString, HookSuccessBoolean:
		return t, nil
	case "":
		return HookSuccessString, nil
	}
	return "", fmt.Errorf("%q is not a hook success type: use string (\"success\": \"true\", the default) or boolean (\"success\": true)", s)
}

// hookAnswers are the parts of hook answers that depend on the
// HookSuccessType, made once: the success path only concatenates.
func hookAnswers(t HookSuccessType) (ok, falseValue string) {
	if t == HookSuccessBoolean {
		return `{"success": true, "deploymentId": "`, `false`
	}
	return `{"success": "true", "deploymentId": "`, `"false"`
}

// setQuota writes the RateLimit-* headers.
func setQuota(w http.ResponseWriter, q hook.Quota) {
	if q.Limit == 0 {
		return
	}
	w.Header().Set("RateLimit-Limit", strconv.Itoa(q.Limit))
	w.Header().Set("RateLimit-Remaining", strconv.Itoa(q.Remaining))
	w.Header().Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(q.Reset)))
}

func ceilSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// client is the caller's address: the TCP peer, or the client a trusted
// proxy names (Deps.Clients). The failure limiter, the hook call record and
// the access log all use this one address.
func (a *API) client(r *http.Request) string { return a.Clients.Client(r) }
