package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// browser is an HTTP client that keeps cookies per host, as a browser
// does, reaches every host through Liftoff's proxy, and does not follow
// redirects, so that a test sees them.
func (f *fixture) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	dial := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dial.DialContext(ctx, network, f.srv.proxy)
	}}
	f.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// page is an answer a browser got.
type page struct {
	status   int
	body     string
	location string
	cookies  []*http.Cookie
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: strings.TrimSpace(string(b)), location: resp.Header.Get("Location"), cookies: resp.Cookies()}
}

var (
	csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	nextInput = regexp.MustCompile(`name="next" value="([^"]*)"`)
)

// TestPreviewProtection: a preview is protected by default and production
// public; a protected preview answers 401 with the password form; a share
// link opens it, then its cookie does, and the service never sees that
// cookie; the right password opens it and a wrong one does not; a link
// past its expiry is refused saying when it expired; set public, the
// preview opens for anyone. The deploy hooks and the health checks of the
// deployments, which never go through the proxy, work throughout.
func TestPreviewProtection(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newProtectedFixture(t, dialect)
			ctx := context.Background()
			pv := f.project.Environments[1].EnvironmentID

			// Deploy hooks answer and deployments pass their health checks
			// with the preview protected.
			if d := f.wait(f.call("")); d.Status != "SUCCESS" {
				t.Fatalf("production deployment: %s %+v", d.Status, d.Error)
			}
			sha := f.branch("feature-12", map[string]string{"api/version.txt": "pr12"})
			d := f.wait(callHook(t, f.previewURL(12, sha)))
			if d.Status != "SUCCESS" {
				t.Fatalf("PR 12 deployment: %s %+v", d.Status, d.Error)
			}
			apiURL := *service(t, d, "api").Service.ServiceDomain // http://api.pr-12.preview.localhost:<port>

			// Production is public, the preview protected: no password yet,
			// so no form.
			if status, body := f.get("api", "/"); status != 200 || body != "v1" {
				t.Fatalf("production answers %d %q", status, body)
			}
			status, body := f.previewGet("api", 12)
			if status != http.StatusUnauthorized || !strings.Contains(body, "the preview of pull request #12 (preview)") || strings.Contains(body, "<form") {
				t.Fatalf("PR 12 without credentials answers %d %q", status, body)
			}

			// A password, through the CLI: now the page has the form.
			out := f.cliIn("correct horse battery\n", "envs", "protection", "--project", "mono", "--env", "preview", "--password-stdin")
			if !strings.Contains(out, "protected (the default of a preview environment); a password is set") {
				t.Fatalf("envs protection --password-stdin printed %q", out)
			}
			status, body = f.previewGet("api", 12)
			if status != http.StatusUnauthorized || !strings.Contains(body, `name="password"`) || !csrfInput.MatchString(body) {
				t.Fatalf("PR 12 with a password set answers %d %q", status, body)
			}

			// A share link, through the CLI: it leads to the API service of
			// PR 12, sets a cookie and comes back without the token.
			var link client.ShareLink
			if err := json.Unmarshal([]byte(f.cliIn("", "previews", "share", "--project", "mono", "--env", "preview", "--pr", "12", "--json")), &link); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(link.URL, apiURL+"/?liftoff_share=") {
				t.Fatalf("share link %q, want one on %s", link.URL, apiURL)
			}
			alice := f.browser()
			p := fetch(t, alice, http.MethodGet, link.URL, nil)
			if p.status != http.StatusSeeOther || p.location != "/" || len(p.cookies) != 1 || !p.cookies[0].HttpOnly {
				t.Fatalf("the share link answers %d, Location %q, cookies %+v", p.status, p.location, p.cookies)
			}
			if p := fetch(t, alice, http.MethodGet, apiURL+"/", nil); p.status != 200 || p.body != "pr12" {
				t.Fatalf("with the link's cookie PR 12 answers %d %q", p.status, p.body)
			}
			// The service gets its own cookies, never Liftoff's.
			req, _ := http.NewRequest(http.MethodGet, apiURL+"/header/Cookie", nil)
			req.AddCookie(&http.Cookie{Name: "theirs", Value: "1"})
			req.AddCookie(p.cookies[0])
			resp, err := f.browser().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != 200 || string(got) != "theirs=1" {
				t.Fatalf("the service received the Cookie header %q (%d)", got, resp.StatusCode)
			}

			// The password: a wrong one does not open it, the right one does,
			// and leads back to the page asked for.
			bob := f.browser()
			p = fetch(t, bob, http.MethodGet, apiURL+"/env/LIFTOFF_PR_NUMBER", nil)
			m, next := csrfInput.FindStringSubmatch(p.body), nextInput.FindStringSubmatch(p.body)
			if p.status != http.StatusUnauthorized || m == nil || next == nil || next[1] != "/env/LIFTOFF_PR_NUMBER" {
				t.Fatalf("the form: %d %q", p.status, p.body)
			}
			form := url.Values{"csrf": {m[1]}, "next": {next[1]}, "password": {"battery staple horse"}}
			if p := fetch(t, bob, http.MethodPost, apiURL+"/.liftoff/login", form); p.status != http.StatusUnauthorized ||
				!strings.Contains(p.body, "That password is not right.") {
				t.Fatalf("a wrong password: %d %q", p.status, p.body)
			}
			if p := fetch(t, bob, http.MethodGet, apiURL+"/", nil); p.status != http.StatusUnauthorized {
				t.Fatalf("after a wrong password PR 12 answers %d", p.status)
			}
			form.Set("password", "correct horse battery")
			if p := fetch(t, bob, http.MethodPost, apiURL+"/.liftoff/login", form); p.status != http.StatusSeeOther || p.location != "/env/LIFTOFF_PR_NUMBER" {
				t.Fatalf("the right password: %d, Location %q, %q", p.status, p.location, p.body)
			}
			if p := fetch(t, bob, http.MethodGet, apiURL+"/env/LIFTOFF_PR_NUMBER", nil); p.status != 200 || p.body != "12" {
				t.Fatalf("after the right password PR 12 answers %d %q", p.status, p.body)
			}

			// A link that expires in a second: once its expiry has passed,
			// which the server's answer shows, it is refused saying when.
			short, err := f.c.CreateShareLink(ctx, pv, client.NewShareLink{PRNumber: 12, ExpiresIn: "1s"})
			if err != nil {
				t.Fatal(err)
			}
			expiry, err := time.Parse(time.RFC3339, short.ExpiresAt)
			if err != nil {
				t.Fatal(err)
			}
			want := "This share link expired at " + expiry.UTC().Format(time.RFC3339)
			waitUntil(t, "the one-second link expires", func() bool {
				p := fetch(t, f.browser(), http.MethodGet, short.URL, nil)
				if p.status == http.StatusSeeOther {
					return false // not yet
				}
				if p.status != http.StatusUnauthorized || !strings.Contains(p.body, want) {
					t.Fatalf("the expired link answers %d %q, want %q", p.status, p.body, want)
				}
				return true
			})

			// Set public: anyone opens the preview, at once.
			public := "public"
			if _, err := f.c.SetProtection(ctx, pv, client.ProtectionChange{Mode: &public}); err != nil {
				t.Fatal(err)
			}
			if status, body := f.previewGet("api", 12); status != 200 || body != "pr12" {
				t.Fatalf("the public preview answers %d %q", status, body)
			}
		})
	}
}
