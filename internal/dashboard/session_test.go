package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/user"
)

// TestSignIn: a page without a session sends to the sign-in page and back;
// a wrong password is refused on the form, next to its fields; the session
// cookie is HttpOnly and SameSite=Lax; signing out ends the session.
func TestSignIn(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			b := h.browser()
			status, _, hdr := b.get("/environments/1?x=y")
			if status != http.StatusSeeOther || hdr.Get("Location") != "/login?next="+url.QueryEscape("/environments/1?x=y") {
				t.Fatalf("a page without a session: %d to %q", status, hdr.Get("Location"))
			}
			if status, _, hdr := b.get("/"); status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login") {
				t.Fatalf("/ without a session: %d to %q", status, hdr.Get("Location"))
			}
			status, body, _ := b.get("/login")
			if status != 200 || !strings.Contains(body, `<label for="email">Email</label>`) || !strings.Contains(body, `autocomplete="current-password"`) {
				t.Fatalf("the sign-in page: %d\n%s", status, body)
			}

			// A wrong password, a wrong email: the same refusal, on the form.
			for _, email := range []string{"admin@example.com", "nobody@example.com"} {
				_, body, _ := b.get("/login")
				resp, body := b.send("/login", url.Values{"email": {email}, "password": {"wrong password!"}, "csrf": {field(body, "csrf")}}, nil)
				if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `id="login-error" role="alert">Wrong email or password<`) ||
					!strings.Contains(body, `aria-describedby="login-error"`) || !strings.Contains(body, `value="`+email+`"`) {
					t.Fatalf("a wrong sign-in of %s: %d\n%s", email, resp.StatusCode, body)
				}
			}
			// The form's own token is required.
			if resp, _ := b.send("/login", url.Values{"email": {"admin@example.com"}, "password": {password}}, nil); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("a sign-in without the form's token: %d", resp.StatusCode)
			}

			// Signed in, back to the page asked for; never to another site.
			if status, loc := b.login("admin@example.com", password, "/environments/1?x=y"); status != http.StatusSeeOther || loc != "/environments/1?x=y" {
				t.Fatalf("sign in: %d to %q", status, loc)
			}
			u, _ := url.Parse(h.srv.URL)
			var session *http.Cookie
			for _, c := range b.c.Jar.Cookies(u) {
				if c.Name == "liftoff_session" {
					session = c
				}
			}
			if session == nil || !strings.HasPrefix(session.Value, "lfs_") {
				t.Fatalf("no session cookie: %v", b.c.Jar.Cookies(u))
			}
			// The jar does not keep the attributes: read them off an answer.
			_, _, hdr = b.get("/projects")
			set := hdr.Get("Set-Cookie")
			if !strings.Contains(set, "liftoff_session=lfs_") || !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") ||
				strings.Contains(set, "Secure") || !strings.Contains(set, "Max-Age=") {
				t.Fatalf("session cookie %q", set)
			}
			if hdr.Get("Cache-Control") != "no-store" || !strings.Contains(hdr.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Fatalf("page headers %v", hdr)
			}
			for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
				b2 := h.browser()
				if status, loc := b2.login("read@example.com", password, next); status != http.StatusSeeOther || loc != "/" {
					t.Errorf("sign in with next=%q: %d to %q, want /", next, status, loc)
				}
			}

			// Sign out: the session is gone, for this browser and its token.
			b.get("/projects")
			if status, _, hdr := b.post("/logout", nil); status != http.StatusSeeOther || hdr.Get("Location") != "/login" {
				t.Fatalf("sign out: %d to %q", status, hdr.Get("Location"))
			}
			stale := h.browser()
			stale.c.Jar.SetCookies(u, []*http.Cookie{{Name: "liftoff_session", Value: session.Value}})
			if status, _, _ := stale.get("/projects"); status != http.StatusSeeOther {
				t.Fatalf("the token of a signed-out session still opens pages: %d", status)
			}
		})
	}
}

// TestSecureCookieOverTLS: over HTTPS the session cookie is Secure.
func TestSecureCookieOverTLS(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, "sqlite", options{serve: httptest.NewTLSServer})
	b := h.signIn("admin@example.com")
	_, _, hdr := b.get("/projects")
	if set := hdr.Get("Set-Cookie"); !strings.Contains(set, "liftoff_session=") || !strings.Contains(set, "Secure") {
		t.Fatalf("session cookie over TLS %q", set)
	}
}

// TestSignInRateLimit: an address that tries too often is refused for a
// while, even with the right password.
func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	// A clock that stands still: no attempt is given back while the test
	// runs, however slow the machine.
	at := time.Now()
	h := newHarnessWith(t, "sqlite", options{users: user.Config{LoginsPerMinute: 10, Now: func() time.Time { return at }}})
	b := h.browser()
	for range 10 {
		if status, _ := b.login("admin@example.com", "wrong password!", "/"); status != http.StatusUnauthorized {
			t.Fatalf("a wrong password: %d", status)
		}
	}
	_, body, _ := b.get("/login")
	resp, body := b.send("/login", url.Values{"email": {"admin@example.com"}, "password": {password}, "csrf": {field(body, "csrf")}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many sign-in attempts") {
		t.Fatalf("the 11th attempt in a minute: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
}

// TestCSRF: a form posted without the session's token, with another
// session's, or from another site is refused, and does nothing.
func TestCSRF(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite")
	b := h.signIn("admin@example.com")
	other := h.signIn("deploy@example.com")
	other.get("/projects")
	path := envPath(h.env["production"]) + "/deploy-hooks"
	b.get(envPath(h.env["production"]))
	for _, c := range []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"no token", url.Values{"name": {"CI"}}, nil},
		{"an empty token", url.Values{"name": {"CI"}, "csrf": {""}}, nil},
		{"another session's token", url.Values{"name": {"CI"}, "csrf": {other.csrf}}, nil},
		{"from another site", url.Values{"name": {"CI"}, "csrf": {b.csrf}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"from another origin", url.Values{"name": {"CI"}, "csrf": {b.csrf}}, http.Header{"Origin": {"https://evil.example"}}},
	} {
		resp, body := b.send(path, c.form, c.header)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "role=\"alert\"") {
			t.Errorf("%s: %d\n%s", c.name, resp.StatusCode, body)
		}
	}
	hooks, err := h.hooks.List(t.Context(), h.env["production"])
	if err != nil || len(hooks) != 0 {
		t.Fatalf("hooks after refused forms: %+v %v", hooks, err)
	}
	// With its token, from its own page, the form works.
	if status, body, _ := b.post(path, url.Values{"name": {"CI"}}); status != 200 || shownURL(body) == "" {
		t.Fatalf("the form with its token: %d", status)
	}
}
