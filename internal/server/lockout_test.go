package server_test

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/token"
)

// TestWrongCallsDoNotLockValidHooksOut calls with wrong secrets until the
// address is over its failed-call limit (20 a minute), then checks that a
// call with a valid secret still deploys while wrong ones stay refused; and
// that X-Forwarded-For names the client only when the peer is a trusted
// proxy, the same client for the limiter, the hook's call record and the
// access log.
func TestWrongCallsDoNotLockValidHooksOut(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			cfg := baseConfig(t, dialect)
			f := setUp(t, cfg)
			srv := start(t, cfg)
			wrong := hookPath(f.env, token.New(token.HookPrefix))
			xff := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }

			// No trusted proxy: the peer is the client, whatever
			// X-Forwarded-For says, so forging it escapes nothing.
			for i := range 21 {
				status, _, body := raw(t, "GET", srv.base, wrong, xff("198.51.100."+strconv.Itoa(i+1)))
				want := 404
				if i == 20 {
					want = 429
				}
				if status != want {
					t.Fatalf("wrong call %d: %d %s, want %d", i+1, status, body, want)
				}
			}
			for i, path := range []string{wrong, hookPath(f.env, "garbage")} {
				if status, _, body := raw(t, "GET", srv.base, path, nil); status != 429 {
					t.Fatalf("wrong call %d over the limit: %d %s", i, status, body)
				}
			}
			status, header, body := raw(t, "GET", srv.base, hookPath(f.env, f.secret), xff("203.0.113.50"))
			if status != 200 || header.Get("RateLimit-Limit") != "60" {
				t.Fatalf("a valid call from a locked-out address: %d %s %v", status, body, header)
			}
			waitForCall(t, srv.base, f, "127.0.0.1")
			srv.stop()
			if !strings.Contains(srv.logs.String(), "status=200") || strings.Contains(srv.logs.String(), "remote=203.0.113.50") ||
				strings.Contains(srv.logs.String(), "remote=198.51.100.") {
				t.Errorf("the access log believed X-Forwarded-For from an untrusted peer:\n%s", srv.logs)
			}

			// The loopback peer trusted as a proxy: X-Forwarded-For names
			// each client, and one client's failures lock out only it.
			trusted := cfg
			trusted.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			srv = start(t, trusted)
			for range 20 {
				if status, _, body := raw(t, "GET", srv.base, wrong, xff("6.6.6.6, 198.51.100.7")); status != 404 {
					t.Fatalf("wrong call from a forwarded client: %d %s", status, body)
				}
			}
			if status, _, body := raw(t, "GET", srv.base, wrong, xff("198.51.100.7")); status != 429 {
				t.Fatalf("21st wrong call of one forwarded client: %d %s", status, body)
			}
			if status, _, body := raw(t, "GET", srv.base, wrong, xff("198.51.100.8")); status != 404 {
				t.Fatalf("another client behind the same proxy is locked out: %d %s", status, body)
			}
			if status, _, body := raw(t, "GET", srv.base, hookPath(f.env, f.secret), xff("198.51.100.7")); status != 200 {
				t.Fatalf("a valid call of the locked-out client: %d %s", status, body)
			}
			waitForCall(t, srv.base, f, "198.51.100.7")
			srv.stop()
			if !strings.Contains(srv.logs.String(), "status=200 bytes=") || !strings.Contains(srv.logs.String(), "remote=198.51.100.7") {
				t.Errorf("the access log does not name the forwarded client:\n%s", srv.logs)
			}
		})
	}
}

// waitForCall waits until the hook's newest recorded call is a 200 from
// addr (calls are recorded in batches, after the answer).
func waitForCall(t *testing.T, base string, f fixture, addr string) {
	t.Helper()
	c := client.New(base, f.key)
	deadline := time.Now().Add(30 * time.Second)
	for {
		calls, err := c.HookCalls(context.Background(), f.hookID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) == 1 && calls[0].Status == 200 && calls[0].Address == addr {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hook's newest call is %+v, want a 200 from %s", calls, addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
