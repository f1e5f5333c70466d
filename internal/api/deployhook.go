package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/metrics"
)

// MaxIdempotencyKeyLength bounds the Idempotency-Key header.
const MaxIdempotencyKeyLength = 255

// deployHook serves GET and POST /api/deploy-hook/{envId}/{secret} and
// /api/deploy-hook/{previewEnvId}/{secret}/{prNumber}/{commitSHA}: parse,
// authenticate and enqueue (hook.Trigger, one transaction), answer.
func (a *API) deployHook(w http.ResponseWriter, r *http.Request) error {
	res, err := a.callHook(w, r)
	switch {
	case err != nil:
		a.Metrics.HookCall(metrics.OutcomeRefused, fail.HTTPStatus(err))
	case res.Superseded:
		a.Metrics.HookCall(metrics.OutcomeSuperseded, http.StatusOK)
	default:
		a.Metrics.HookCall(res.Outcome, http.StatusOK)
	}
	return err
}

// callHook is deployHook without the metrics.
func (a *API) callHook(w http.ResponseWriter, r *http.Request) (hook.Result, error) {
	addr := a.client(r)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		setQuota(w, a.Hooks.Quota(addr))
		w.Header().Set("Allow", "GET, POST")
		return hook.Result{}, fail.New(fail.MethodNotAllowed, "Method "+methodOf(r)+" is not allowed; call deploy hooks with GET or POST")
	}
	if a.Draining() {
		setQuota(w, a.Hooks.Quota(addr))
		return hook.Result{}, fail.New(fail.Unavailable, "Liftoff is shutting down; nothing was queued, retry in a moment")
	}
	req, err := ParseHookCall(r.URL.EscapedPath(), r.URL.RawQuery)
	if err == nil {
		req.IdempotencyKey = r.Header.Get("Idempotency-Key")
		if len(req.IdempotencyKey) > MaxIdempotencyKeyLength || strings.ContainsFunc(req.IdempotencyKey, notVisibleASCII) {
			err = badParam("Idempotency-Key must be at most %d visible ASCII characters", MaxIdempotencyKeyLength)
		}
	}
	if err != nil {
		return hook.Result{}, a.refuseHookCall(w, r, err)
	}
	req.Address = addr
	res, q, err := a.Hooks.Trigger(r.Context(), req)
	setQuota(w, q)
	if err != nil {
		return res, err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// Byte for byte what Flightcontrol answers.
	_, _ = w.Write([]byte(a.hookOK + res.DeploymentID + `"}`))
	return res, nil
}

// refuseHookCall refuses a call before it reaches the hooks domain (a
// malformed path) with err, counting it against the caller's failure
// limit: the refusal is the limiter's when the caller is over it.
func (a *API) refuseHookCall(w http.ResponseWriter, r *http.Request, err error) error {
	q, limited := a.Hooks.Refuse(a.client(r))
	setQuota(w, q)
	if limited != nil {
		return limited
	}
	return err
}

func notVisibleASCII(r rune) bool { return r < 0x21 || r > 0x7e }

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
