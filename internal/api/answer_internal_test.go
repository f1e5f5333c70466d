package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// TestAnswerFailure: the adapter picks status, code and Retry-After from
// the error's kind, in both shapes; a 5xx is logged once with the id the
// answer carries and never shows the error's own text.
func TestAnswerFailure(t *testing.T) {
	t.Parallel()
	const raw = "pq: password authentication failed for user liftoff"
	for _, c := range []struct {
		name       string
		surface    surface
		err        error
		status     int
		body       string // the /v1 error or the hook body, exactly; "" to check only the parts below
		code       string
		retryAfter string
		logged     bool
	}{
		{name: "invalid", err: fail.Invalidf("limit must be between 1 and %d, got %d", 100, 101), status: 400,
			body: `{"error":"limit must be between 1 and 100, got 101","errorCode":"VALIDATION_ERROR"}`},
		{name: "wrapped not found", err: fmt.Errorf("get: %w", fail.New(fail.NotFound, "Deployment not found")), status: 404,
			body: `{"error":"Deployment not found","errorCode":"NOT_FOUND"}`},
		{name: "store conflict", err: fmt.Errorf("x: %w", store.ErrConflict), status: 409,
			body: `{"error":"The request conflicts with the current state; reload and retry","errorCode":"CONFLICT"}`},
		{name: "too large is a validation code", err: fail.New(fail.TooLarge, "too big"), status: 413,
			body: `{"error":"too big","errorCode":"VALIDATION_ERROR"}`},
		{name: "rate limited", err: &fail.Error{Kind: fail.RateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond},
			status: 429, body: `{"error":"slow down","errorCode":"RATE_LIMITED"}`, retryAfter: "2"},
		{name: "forbidden", err: fail.New(fail.Forbidden, "no"), status: 403, body: `{"error":"no","errorCode":"FORBIDDEN"}`},
		{name: "internal hides the error", err: errors.New(raw), status: 500, code: "INTERNAL", logged: true},
		{name: "internal with a message hides it too", err: fail.Wrap(fail.Internal, errors.New(raw), raw), status: 500, code: "INTERNAL", logged: true},
		{name: "store unavailable", err: fmt.Errorf("list: %w: %s", store.ErrUnavailable, raw), status: 503, code: "UNAVAILABLE", logged: true},
		{name: "hook not found", surface: hookSurface, err: fail.New(fail.NotFound, "Deploy hook not found"), status: 404,
			body: `{"success": "false", "error": "Deploy hook not found"}`},
		{name: "hook rate limited", surface: hookSurface, err: &fail.Error{Kind: fail.RateLimited, Message: "later"}, status: 429,
			body: `{"success": "false", "error": "later"}`, retryAfter: "0"},
		{name: "hook unavailable", surface: hookSurface, err: fail.Wrap(fail.Unavailable, errors.New(raw), "retry later"), status: 503,
			body: `{"success": "false", "error": "retry later"}`, logged: true},
		{name: "hook internal", surface: hookSurface, err: errors.New(raw), status: 500, logged: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			a := New(Deps{Deployments: &deployment.Service{}, Variables: &variables.Service{}, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
			w := httptest.NewRecorder()
			a.answerFailure(w, httptest.NewRequest(http.MethodGet, "/v1/things", nil), c.surface, c.err)
			body := strings.TrimSpace(w.Body.String())
			if w.Code != c.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, c.status, body)
			}
			if c.body != "" && body != c.body {
				t.Errorf("body %s, want %s", body, c.body)
			}
			if got := w.Header().Get("Retry-After"); got != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, c.retryAfter)
			}
			if strings.Contains(body, "password") {
				t.Errorf("the answer shows the error: %s", body)
			}
			lines := strings.Count(logs.String(), "\n")
			if !c.logged {
				if lines != 0 {
					t.Errorf("a %d was logged: %s", c.status, logs.String())
				}
				return
			}
			var entry struct {
				ID  string `json:"error_id"`
				Err string `json:"err"`
			}
			if lines != 1 || json.Unmarshal(logs.Bytes(), &entry) != nil || entry.ID == "" || !strings.Contains(entry.Err+logs.String(), "password") {
				t.Fatalf("want one log line with an error id and the error, got %q", logs.String())
			}
			// A hook's 503 has no room for the id in Flightcontrol's shape.
			if (c.surface == v1Surface || c.status == 500) && !strings.Contains(body, entry.ID) {
				t.Errorf("the answer %s does not carry the logged id %s", body, entry.ID)
			}
			if c.surface == v1Surface {
				var eb client.ErrorBody
				if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.ErrorCode != c.code || eb.ErrorID != entry.ID {
					t.Errorf("body %s: want code %s and errorId %s", body, c.code, entry.ID)
				}
			}
		})
	}
}

// A client that left gets no answer, and nothing is logged.
func TestAnswerFailureCanceled(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	a := New(Deps{Deployments: &deployment.Service{}, Variables: &variables.Service{}, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	for _, s := range []surface{v1Surface, hookSurface} {
		w := httptest.NewRecorder()
		a.answerFailure(w, httptest.NewRequest(http.MethodGet, "/v1/things", nil), s, fmt.Errorf("read: %w", context.Canceled))
		if w.Body.Len() != 0 || logs.Len() != 0 {
			t.Errorf("surface %d: answered %d %q, logged %q", s, w.Code, w.Body, logs.String())
		}
	}
}
