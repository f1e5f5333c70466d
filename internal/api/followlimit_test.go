package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestLogStreamsPerCredential: one credential may follow 16 deployments'
// logs at once; the 17th stream is refused with a 429 that says why, while
// another credential still follows, and closing a stream makes room.
func TestLogStreamsPerCredential(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", testHooks())
	secret, _ := h.createHook("production")
	id := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], secret), nil)
	asHook := http.Header{"Authorization": {"Hook " + secret}}
	follow := func(header http.Header) (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(t.Context())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+"/v1/deployments/"+id+"/logs?follow=true", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header
		resp, err := h.srv.Client().Do(req) // returns once the stream has begun, or was refused
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); _ = resp.Body.Close() })
		return resp, cancel
	}
	var cancels []context.CancelFunc
	for i := range 16 {
		resp, cancel := follow(asHook)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d, want 200", i+1, resp.StatusCode)
		}
		cancels = append(cancels, cancel)
	}
	resp, _ := follow(asHook)
	var e struct{ Error, ErrorCode string }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || e.ErrorCode != "RATE_LIMITED" ||
		!strings.Contains(e.Error, "16 deployments at once") {
		t.Fatalf("stream 17 of one hook secret: %d %+v (Retry-After %q), want a 429 saying why, with Retry-After",
			resp.StatusCode, e, resp.Header.Get("Retry-After"))
	}
	if other, _ := follow(http.Header{"Authorization": {"Bearer " + h.key}}); other.StatusCode != http.StatusOK {
		t.Fatalf("an API key's stream beside them: %d, want 200", other.StatusCode)
	}
	// Logs read without follow are never limited.
	if status, _, _ := h.call("GET", "/v1/deployments/"+id+"/logs", asHook); status != http.StatusOK {
		t.Fatalf("logs without follow: %d, want 200", status)
	}
	// Closing a stream makes room; the server notices the closed
	// connection when its handler returns, so retry until then.
	cancels[0]()
	for {
		resp, cancel := follow(asHook)
		cancel()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("after closing one: %d", resp.StatusCode)
		}
	}
}
