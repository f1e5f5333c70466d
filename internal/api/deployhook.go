package api

import (
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/hook"
)

// MaxIdempotencyKeyLength bounds the Idempotency-Key header.
const MaxIdempotencyKeyLength = 255

// deployHook serves GET and POST /api/deploy-hook/{envId}/{secret} and
// /api/deploy-hook/{previewEnvId}/{secret}/{prNumber}/{commitSHA}: parse,
// authenticate and enqueue (hook.Trigger, one transaction), answer.
func (a *API) deployHook(w http.ResponseWriter, r *http.Request) {
	addr := clientAddress(r)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		setQuota(w, a.Hooks.Quota(addr))
		w.Header().Set("Allow", "GET, POST")
		writeHookError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed; call deploy hooks with GET or POST")
		return
	}
	if a.Draining() {
		setQuota(w, a.Hooks.Quota(addr))
		writeHookError(w, http.StatusServiceUnavailable, "Liftoff is shutting down; nothing was queued, retry in a moment")
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
		q, limited := a.Hooks.Refuse(addr)
		setQuota(w, q)
		if limited != nil {
			a.writeHookFailure(w, r, limited)
			return
		}
		a.writeHookFailure(w, r, err)
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
	_, _ = w.Write([]byte(`{"success": "true", "deploymentId": "` + res.DeploymentID + `"}`))
}

func notVisibleASCII(r rune) bool { return r < 0x21 || r > 0x7e }

// writeHookFailure maps a hook error to its status, in one place.
func (a *API) writeHookFailure(w http.ResponseWriter, r *http.Request, err error) {
	var pe *parseError
	if errors.As(err, &pe) {
		writeHookError(w, http.StatusBadRequest, pe.msg)
		return
	}
	var he *hook.Error
	if !errors.As(err, &he) {
		id := a.logError(r, err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"success": "false", "error": ` + jsonString("Internal error "+id) +
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
	writeHookError(w, status, he.Message)
}

func writeHookError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"success": "false", "error": ` + jsonString(msg) + `}`))
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

// clientAddress is the caller's IP address (the TCP peer).
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
