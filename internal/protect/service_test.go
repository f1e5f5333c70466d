package protect

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestCache: a change through this replica applies at once; one through
// another replica sharing the database applies once the entry is TTL
// old, and not before; while the store does not answer, what was read
// keeps serving and a host never read answers 503. On both databases.
func TestCache(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dialect)
			other := NewService(f.st, f.keys) // another replica
			other.Now = f.clock.Now
			ctx := context.Background()

			if a := f.get(host12, "/"); a.status != http.StatusUnauthorized {
				t.Fatalf("default: %d", a.status)
			}
			f.set(f.pv.ID, liftoff.ProtectionPublic, nil)
			if a := f.get(host12, "/"); a.status != http.StatusOK {
				t.Fatalf("at once after a change here: %d", a.status)
			}
			if _, err := other.Set(ctx, f.pv.ID, Change{Mode: ptr(liftoff.ProtectionProtected)}); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(f.svc.TTL - time.Millisecond)
			if a := f.get(host12, "/"); a.status != http.StatusOK {
				t.Fatalf("within TTL of a change elsewhere: %d, want the cached 200", a.status)
			}
			f.clock.Advance(time.Millisecond)
			if a := f.get(host12, "/"); a.status != http.StatusUnauthorized {
				t.Fatalf("TTL after a change elsewhere: %d", a.status)
			}

			// The store goes away: production, never read, answers 503;
			// the preview keeps its setting, also past TTL.
			if err := f.st.Close(); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Hour)
			if a := f.get(host12, "/"); a.status != http.StatusUnauthorized {
				t.Fatalf("store down, read before: %d", a.status)
			}
			if a := f.get(hostProd, "/"); a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
				t.Fatalf("store down, never read: %d %q", a.status, a.body)
			}
		})
	}
}

// TestTokens: a token opens only as sealed, for its purpose; one sealed
// under a key the key file no longer holds opens nothing.
func TestTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	c := claims{purpose: forPassword, environmentID: 1 << 40, prNumber: 12, expires: t0.Add(time.Hour), extra: []byte{1, 2, 3}}
	tok, err := sealToken(f.keys, c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := openToken(f.keys, tok)
	if err != nil || got.purpose != c.purpose || got.environmentID != c.environmentID || got.prNumber != 12 ||
		!got.expires.Equal(c.expires) || string(got.extra) != string(c.extra) {
		t.Fatalf("openToken = %+v, %v; want %+v", got, err, c)
	}
	if !got.matches(forPassword, 1<<40, 12) || got.matches(forShare, 1<<40, 12) || got.matches(forPassword, 1<<40, 13) ||
		got.matches(forPassword, 1, 12) {
		t.Fatal("matches does not tell purposes, environments and pull requests apart")
	}
	for _, bad := range []string{"", "!!!", tok + "A", tok[:len(tok)-1], "AA", strings.Repeat("A", maxToken+1)} {
		if _, err := openToken(f.keys, bad); err != errInvalidToken {
			t.Errorf("openToken(%q) = %v", bad, err)
		}
	}
	// A rotation retires the key the token was sealed with.
	id, err := secretbox.AddKey(f.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := secretbox.RetireKeys(f.keyFile, id); err != nil {
		t.Fatal(err)
	}
	if _, err := openToken(f.keys, tok); err != errInvalidToken {
		t.Fatalf("a token sealed under a retired key: %v", err)
	}
}

func TestParseExpiry(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"": 0, "24h": 24 * time.Hour, "90m": 90 * time.Minute, "7d": 7 * 24 * time.Hour, "1s": time.Second} {
		if got, err := ParseExpiry(in); err != nil || got != want {
			t.Errorf("ParseExpiry(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"0d", "-1h", "0s", "soon", "1.5d", "d", "400d"} {
		if got, err := ParseExpiry(in); err == nil {
			t.Errorf("ParseExpiry(%q) = %s, want an error", in, got)
		}
	}
}

func TestWithoutShare(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/?liftoff_share=x":                    "/",
		"/a/b?x=1&liftoff_share=t&y=2":         "/a/b?x=1&y=2",
		"/a?liftoff%5Fshare=t&liftoff_share=u": "/a",
		"/a%20b?z=%20&liftoff_share=t":         "/a%20b?z=%20",
		"//evil.example/?liftoff_share=t":      "/",
	} {
		u, err := url.ParseRequestURI(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := withoutShare(u); got != want {
			t.Errorf("withoutShare(%q) = %q, want %q", in, got, want)
		}
	}
}
