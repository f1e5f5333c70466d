package protect

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// TestDefaults: with nothing set, a preview answers 401 with the page of
// a protected host (no form, as there is no password) and production is
// public; a host where nothing is deployed goes to the proxy.
func TestDefaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	a := f.get(host12, "/docs?x=1")
	if a.status != http.StatusUnauthorized || !strings.Contains(a.body, "the preview of pull request #12 (preview)") ||
		strings.Contains(a.body, "<form") || strings.Contains(a.body, "app ") {
		t.Fatalf("a preview with nothing set answers %d:\n%s", a.status, a.body)
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Type": "text/html; charset=utf-8"} {
		if got := a.header.Get(name); got != want {
			t.Errorf("401 page %s: %q, want %q", name, got, want)
		}
	}
	if a := f.get(hostProd, "/"); a.status != http.StatusOK || a.body != "app /" {
		t.Fatalf("production with nothing set answers %d %q", a.status, a.body)
	}
	if a := f.get("nothing.here.localhost", "/"); a.status != http.StatusOK || a.body != "app /" {
		t.Fatalf("an unknown host did not reach the proxy: %d %q", a.status, a.body)
	}
	s, err := f.svc.Get(context.Background(), f.pv.ID)
	if err != nil || s.Mode != liftoff.ProtectionProtected || !s.Default || s.HasPassword || !s.UpdatedAt.IsZero() {
		t.Fatalf("preview setting = %+v, %v", s, err)
	}
	s, err = f.svc.Get(context.Background(), f.prod.ID)
	if err != nil || s.Mode != liftoff.ProtectionPublic || !s.Default {
		t.Fatalf("production setting = %+v, %v", s, err)
	}

	// Set otherwise, each way round.
	f.set(f.pv.ID, liftoff.ProtectionPublic, nil)
	f.set(f.prod.ID, liftoff.ProtectionProtected, nil)
	if a := f.get(host12, "/"); a.status != http.StatusOK {
		t.Fatalf("a public preview answers %d", a.status)
	}
	if a := f.get(hostProd, "/"); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "an environment (production)") {
		t.Fatalf("protected production answers %d %q", a.status, a.body)
	}
}

// TestSetRefuses: what Set refuses, and that a setting never shows the
// password.
func TestSetRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	for name, c := range map[string]struct {
		env  int64
		ch   Change
		want string
	}{
		"nothing":      {f.pv.ID, Change{}, "give mode"},
		"bad mode":     {f.pv.ID, Change{Mode: ptr(liftoff.ProtectionMode("private"))}, `mode must be public or protected, got "private"`},
		"default mode": {f.pv.ID, Change{Mode: ptr(liftoff.ProtectionDefault)}, "mode must be public or protected"},
		"short":        {f.pv.ID, Change{Password: ptr("1234567")}, "at least 8 characters"},
		"long":         {f.pv.ID, Change{Password: ptr(strings.Repeat("x", MaxPassword+1))}, "at most 256 bytes"},
		"not UTF-8":    {f.pv.ID, Change{Password: ptr("abcdefgh\xff")}, "valid UTF-8"},
		"unknown":      {f.pv.ID + 1000, Change{Mode: ptr(liftoff.ProtectionPublic)}, "Environment not found"},
	} {
		if _, err := f.svc.Set(ctx, c.env, c.ch); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Set = %v, want %q", name, err, c.want)
		}
	}
	s := f.set(f.pv.ID, "", ptr("correct horse"))
	if !s.HasPassword || !s.Default || s.Mode != liftoff.ProtectionProtected || !s.UpdatedAt.Equal(t0) {
		t.Fatalf("after a password: %+v", s)
	}
	p, err := f.st.GetEnvironmentProtection(ctx, store.GetEnvironmentProtectionParams{EnvironmentID: f.pv.ID})
	if err != nil || strings.Contains(string(p.PasswordSealed), "correct horse") {
		t.Fatalf("the password is stored in clear: %+v, %v", p, err)
	}
	if s := f.set(f.pv.ID, "", ptr("")); s.HasPassword {
		t.Fatalf("after removing the password: %+v", s)
	}
}

// TestShareLink: a share link opens its preview, once as a link and then
// by its cookie, which the service never sees; it does not open another
// pull request's preview; altered, it opens nothing; after its expiry
// neither it nor its cookie opens anything, and the page says when it
// expired.
func TestShareLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	link, err := f.svc.Share(ctx, f.pv.ID, ShareRequest{PRNumber: 12, ExpiresIn: time.Hour, Host: host12 + ":8000"})
	if err != nil {
		t.Fatal(err)
	}
	if !link.ExpiresAt.Equal(t0.Add(time.Hour)) || !strings.HasPrefix(link.URL, "http://"+host12+":8000/?liftoff_share=") {
		t.Fatalf("share link = %+v", link)
	}
	u, _ := url.Parse(link.URL)
	tok := u.Query().Get(ShareParam)

	// The link, with another parameter: the cookie, and back to the URL
	// without the token.
	a := f.get(host12, "/pricing?"+ShareParam+"="+tok+"&plan=pro")
	c := a.cookies[accessCookie]
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/pricing?plan=pro" || c == nil {
		t.Fatalf("visiting the link: %d, Location %q, cookies %v", a.status, a.header.Get("Location"), a.cookies)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || !c.Expires.Equal(link.ExpiresAt) || c.MaxAge != 3600 {
		t.Fatalf("the link's cookie = %+v", c)
	}
	other := &http.Cookie{Name: "theirs", Value: "1"}
	if a := f.get(host12, "/pricing?plan=pro", c, other); a.status != http.StatusOK || a.body != "app /pricing?plan=pro" {
		t.Fatalf("with the cookie: %d %q", a.status, a.body)
	}
	if got := f.lastCookies(); got != "theirs=1" {
		t.Fatalf("the service received the cookies %q, want only its own", got)
	}
	// Neither the link nor its cookie opens PR 13.
	if a := f.get(host13, "/?"+ShareParam+"="+tok); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "not valid") {
		t.Fatalf("PR 12's link on PR 13: %d %q", a.status, a.body)
	}
	if a := f.get(host13, "/", c); a.status != http.StatusUnauthorized {
		t.Fatalf("PR 12's cookie on PR 13: %d", a.status)
	}
	// Altered: one character changed, or made up.
	mid := len(tok) / 2
	flipped := byte('A')
	if tok[mid] == 'A' {
		flipped = 'B'
	}
	altered := tok[:mid] + string(flipped) + tok[mid+1:]
	for _, bad := range []string{altered, "nonsense", strings.Repeat("A", 600)} {
		if a := f.get(host12, "/?"+ShareParam+"="+url.QueryEscape(bad)); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "not valid") {
			t.Errorf("link %q: %d %q", bad, a.status, a.body)
		}
	}

	// A second before its expiry it still works; at its expiry, not.
	f.clock.Advance(time.Hour - time.Second)
	if a := f.get(host12, "/", c); a.status != http.StatusOK {
		t.Fatalf("the cookie a second before expiry: %d", a.status)
	}
	f.clock.Advance(time.Second)
	a = f.get(host12, "/?"+ShareParam+"="+tok)
	if a.status != http.StatusUnauthorized || !strings.Contains(a.body, "expired at "+t0.Add(time.Hour).Format(time.RFC3339)) {
		t.Fatalf("the link at its expiry: %d %q", a.status, a.body)
	}
	if a := f.get(host12, "/", c); a.status != http.StatusUnauthorized {
		t.Fatalf("the cookie at its expiry: %d", a.status)
	}
}

// TestShareRequests: where a link leads without a host (the newest
// address of a web service, else static, or the service named), and what
// Share refuses.
func TestShareRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	if _, err := f.svc.Share(ctx, f.pv.ID, ShareRequest{PRNumber: 12}); err == nil || !strings.Contains(err.Error(), "pull request #12 has no web or static service deployed") {
		t.Fatalf("a link before any deployment: %v", err)
	}
	f.deployed(12, map[string]string{"site": "http://site.pr-12.preview.localhost:8000", "web": "http://web.pr-12.preview.localhost:8000"})
	for req, want := range map[ShareRequest]string{
		{PRNumber: 12}:                                       "http://web.pr-12.preview.localhost:8000/?liftoff_share=",
		{PRNumber: 12, Service: "site"}:                      "http://site.pr-12.preview.localhost:8000/?liftoff_share=",
		{PRNumber: 12, Host: "HTTPS://Pr-12.Example.com"}:    "https://pr-12.example.com/?liftoff_share=",
		{PRNumber: 12, Host: "pr-12.example.com:8443/"}:      "http://pr-12.example.com:8443/?liftoff_share=",
		{PRNumber: 12, ExpiresIn: MaxShareExpiry, Host: "x"}: "http://x/?liftoff_share=",
	} {
		link, err := f.svc.Share(ctx, f.pv.ID, req)
		if err != nil || !strings.HasPrefix(link.URL, want) {
			t.Errorf("Share(%+v) = %+v, %v; want %s...", req, link, err, want)
		}
	}
	if link, _ := f.svc.Share(ctx, f.pv.ID, ShareRequest{PRNumber: 12}); !link.ExpiresAt.Equal(t0.Add(DefaultShareExpiry)) {
		t.Errorf("the default expiry is %s", link.ExpiresAt)
	}
	for name, c := range map[string]struct {
		env  int64
		req  ShareRequest
		want string
	}{
		"no PR":          {f.pv.ID, ShareRequest{}, "give the pull request's number"},
		"PR of prod":     {f.prod.ID, ShareRequest{PRNumber: 3, Host: "x"}, "is not a preview environment"},
		"too long":       {f.pv.ID, ShareRequest{PRNumber: 12, ExpiresIn: MaxShareExpiry + time.Second, Host: "x"}, "expiresIn must be from 1s to 720h0m0s"},
		"negative":       {f.pv.ID, ShareRequest{PRNumber: 12, ExpiresIn: -time.Hour, Host: "x"}, "expiresIn must be"},
		"bad host":       {f.pv.ID, ShareRequest{PRNumber: 12, Host: "ftp://x"}, "host must be"},
		"host with path": {f.pv.ID, ShareRequest{PRNumber: 12, Host: "x/admin"}, "host must be"},
		"host with user": {f.pv.ID, ShareRequest{PRNumber: 12, Host: "me@x"}, "host must be"},
		"bad port":       {f.pv.ID, ShareRequest{PRNumber: 12, Host: "x:99999"}, "host must be"},
		"no service":     {f.pv.ID, ShareRequest{PRNumber: 12, Service: "worker"}, "service worker has no address in pull request #12"},
		"unknown env":    {f.pv.ID + 1000, ShareRequest{PRNumber: 12}, "Environment not found"},
	} {
		if _, err := f.svc.Share(ctx, c.env, c.req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Share = %v, want %q", name, err, c.want)
		}
	}
	// Production takes no PR.
	f.deployed(0, map[string]string{"web": "http://web.production.localhost:8000"})
	if link, err := f.svc.Share(ctx, f.prod.ID, ShareRequest{}); err != nil || !strings.HasPrefix(link.URL, "http://web.production.localhost:8000/?") {
		t.Errorf("a production link = %+v, %v", link, err)
	}
}

// deployed records a successful deployment of the services of a PR (0:
// production) at the addresses given.
func (f *fixture) deployed(pr int, domains map[string]string) {
	f.t.Helper()
	ctx := context.Background()
	env := f.pv
	if pr == 0 {
		env = f.prod
	}
	d := liftoff.Deployment{ID: cuid.New(), ProjectID: f.project.ID, EnvironmentID: env.ID, PRNumber: pr, RepoURL: "/srv/shop",
		TriggerType: liftoff.TriggerDeployHook, HookID: "h", HookName: "CI", Status: liftoff.StatusSuccess, CreatedAt: t0}
	if err := f.st.InsertDeployment(ctx, d); err != nil {
		f.t.Fatal(err)
	}
	pos := 0
	for _, id := range []string{"site", "web"} {
		domain, ok := domains[id]
		if !ok {
			continue
		}
		typ := "static"
		if id == "web" {
			typ = "web"
		}
		sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: cuid.New(), ServiceGivenID: id, ServiceName: id,
			ServiceType: typ, ServiceDomain: domain, Status: liftoff.StatusSuccess, EnvironmentID: env.ID, PRNumber: pr, Position: pos, CreatedAt: t0}
		pos++
		if err := f.st.InsertServiceDeployment(ctx, sd); err != nil {
			f.t.Fatal(err)
		}
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// form is the password form a protected host answers with: its CSRF
// token and the cookie that goes with it.
func (f *fixture) form(host, path string, cookies ...*http.Cookie) (url.Values, *http.Cookie) {
	f.t.Helper()
	a := f.get(host, path, cookies...)
	m := csrfField.FindStringSubmatch(a.body)
	if a.status != http.StatusUnauthorized || m == nil {
		f.t.Fatalf("%s%s answers %d without a form:\n%s", host, path, a.status, a.body)
	}
	nonce := a.cookies[csrfCookie]
	for _, c := range cookies {
		if c.Name == csrfCookie {
			nonce = c
		}
	}
	if nonce == nil {
		f.t.Fatalf("the form came without its CSRF cookie")
	}
	next := regexp.MustCompile(`name="next" value="([^"]*)"`).FindStringSubmatch(a.body)
	return url.Values{"csrf": {m[1]}, "next": {htmlUnescape(next[1])}}, nonce
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'").Replace(s)
}

func (f *fixture) login(host string, form url.Values, password string, cookies ...*http.Cookie) answer {
	f.t.Helper()
	v := url.Values{}
	for k, vs := range form {
		v[k] = vs
	}
	v.Set("password", password)
	return f.do(http.MethodPost, host, LoginPath, v, cookies...)
}

// TestPassword: the password form opens the preview with the right
// password only, for that pull request only, and leads back where the
// visitor was going; changing the password ends its cookies.
func TestPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	f.set(f.pv.ID, "", ptr("correct horse"))
	form, nonce := f.form(host12, "/docs?page=2")
	if form.Get("next") != "/docs?page=2" || !nonce.HttpOnly || nonce.SameSite != http.SameSiteLaxMode || nonce.Path != "/" {
		t.Fatalf("form next %q, nonce cookie %+v", form.Get("next"), nonce)
	}
	// Another page of the host, in another tab, keeps the nonce: the
	// first form still posts.
	if a := f.get(host12, "/other", nonce); a.status != http.StatusUnauthorized || a.cookies[csrfCookie] != nil {
		t.Fatalf("another page with the nonce: %d, cookies %v", a.status, a.cookies)
	}
	if a := f.login(host12, form, "battery staple", nonce); a.status != http.StatusUnauthorized ||
		!strings.Contains(a.body, "That password is not right.") || a.cookies[accessCookie] != nil {
		t.Fatalf("a wrong password: %d %v %q", a.status, a.cookies, a.body)
	}
	a := f.login(host12, form, "correct horse", nonce)
	c := a.cookies[accessCookie]
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/docs?page=2" || c == nil || !c.HttpOnly ||
		!c.Expires.Equal(t0.Add(DefaultPasswordTTL)) {
		t.Fatalf("the right password: %d, Location %q, cookie %+v", a.status, a.header.Get("Location"), c)
	}
	if a := f.get(host12, "/docs", c); a.status != http.StatusOK || a.body != "app /docs" {
		t.Fatalf("with the password's cookie: %d %q", a.status, a.body)
	}
	if got := f.lastCookies(); got != "" {
		t.Fatalf("the service received the cookies %q", got)
	}
	if a := f.get(host13, "/", c); a.status != http.StatusUnauthorized {
		t.Fatalf("PR 12's password cookie opens PR 13: %d", a.status)
	}
	// The password is PR 13's too, through its own form.
	form13, nonce13 := f.form(host13, "/")
	if a := f.login(host13, form13, "correct horse", nonce13); a.status != http.StatusSeeOther {
		t.Fatalf("the password on PR 13: %d", a.status)
	}
	// A new password: the cookie of the old one no longer opens.
	f.set(f.pv.ID, "", ptr("new password!"))
	if a := f.get(host12, "/", c); a.status != http.StatusUnauthorized {
		t.Fatalf("the old password's cookie after a change: %d", a.status)
	}
	form, nonce = f.form(host12, "/")
	if a := f.login(host12, form, "correct horse", nonce); a.status != http.StatusUnauthorized {
		t.Fatalf("the old password after a change: %d", a.status)
	}
	if a := f.login(host12, form, "new password!", nonce); a.status != http.StatusSeeOther {
		t.Fatalf("the new password: %d %q", a.status, a.body)
	}
	// The password removed: no form, and a login says so.
	f.set(f.pv.ID, "", ptr(""))
	if a := f.get(host12, "/"); strings.Contains(a.body, "<form") {
		t.Fatalf("a form without a password: %q", a.body)
	}
	if a := f.login(host12, form, "new password!", nonce); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "has no password") {
		t.Fatalf("a login without a password: %d %q", a.status, a.body)
	}
}

// TestLoginRefusals: a login without the form's CSRF token or its cookie,
// with another pull request's form, an expired form, or from another
// site is refused before the password is checked; where next may lead.
func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	f.set(f.pv.ID, "", ptr("correct horse"))
	form, nonce := f.form(host12, "/")
	form13, nonce13 := f.form(host13, "/")
	otherNonce := &http.Cookie{Name: csrfCookie, Value: "AAAAAAAAAAAAAAAAAAAAAA"}
	for name, c := range map[string]struct {
		form    url.Values
		cookies []*http.Cookie
	}{
		"no token":        {url.Values{"next": {"/"}}, []*http.Cookie{nonce}},
		"no cookie":       {form, nil},
		"another nonce":   {form, []*http.Cookie{otherNonce}},
		"PR 13's form":    {form13, []*http.Cookie{nonce13}},
		"a made-up token": {url.Values{"csrf": {"abc"}}, []*http.Cookie{nonce}},
	} {
		if a := f.login(host12, c.form, "correct horse", c.cookies...); a.status != http.StatusForbidden || a.cookies[accessCookie] != nil {
			t.Errorf("%s: %d %q", name, a.status, a.body)
		}
	}
	// From another site.
	v := url.Values{"csrf": form["csrf"], "password": {"correct horse"}}
	r := f.requestWith(v, nonce)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if a := f.serve(r); a.status != http.StatusForbidden || !strings.Contains(a.body, "another site") {
		t.Errorf("a cross-site login: %d %q", a.status, a.body)
	}
	r = f.requestWith(v, nonce)
	r.Header.Set("Origin", "http://evil.example")
	if a := f.serve(r); a.status != http.StatusForbidden {
		t.Errorf("a login from another origin: %d", a.status)
	}
	// A form an hour old.
	f.clock.Advance(csrfTTL)
	if a := f.login(host12, form, "correct horse", nonce); a.status != http.StatusForbidden || !strings.Contains(a.body, "expired") {
		t.Errorf("an expired form: %d %q", a.status, a.body)
	}
	// next leads only to a path of the same host.
	for next, want := range map[string]string{
		"/a/b?c=d":               "/a/b?c=d",
		"//evil.example/x":       "/",
		"/\\evil.example":        "/",
		"https://evil.example/":  "/",
		"javascript:alert(1)":    "/",
		"":                       "/",
		LoginPath:                "/",
		"/ok\r\nSet-Cookie: x=1": "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

// TestLoginRateLimit: a client address gets LoginLimit attempts a
// minute, whatever their passwords, then 429 with Retry-After; a minute
// later it may try again.
func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	f.set(f.pv.ID, "", ptr("correct horse"))
	form, nonce := f.form(host12, "/")
	for i := range DefaultLoginLimit {
		if a := f.login(host12, form, "wrong "+strconv.Itoa(i), nonce); a.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, a.status)
		}
	}
	a := f.login(host12, form, "correct horse", nonce)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "Too many password attempts") {
		t.Fatalf("attempt %d: %d, Retry-After %q", DefaultLoginLimit+1, a.status, a.header.Get("Retry-After"))
	}
	f.clock.Advance(time.Minute)
	if a := f.login(host12, form, "correct horse", nonce); a.status != http.StatusSeeOther {
		t.Fatalf("a minute later: %d", a.status)
	}
}

// TestSession: the seam of a signed-in member of the team opens every
// protected environment.
func TestSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("app")) })
	g, err := NewGate(next, Config{Protection: f.svc, Instances: f.routes,
		Session: func(r *http.Request) bool { return r.Header.Get("X-Test-Member") == "yes" }})
	if err != nil {
		t.Fatal(err)
	}
	f.gate = g
	if a := f.get(host12, "/"); a.status != http.StatusUnauthorized {
		t.Fatalf("without a session: %d", a.status)
	}
	r := f.requestWith(nil)
	r.Method, r.URL.Path = http.MethodGet, "/"
	r.Header.Set("X-Test-Member", "yes")
	if a := f.serve(r); a.status != http.StatusOK {
		t.Fatalf("with a session: %d", a.status)
	}
}

// TestSecureCookies: over TLS, to Liftoff or to a trusted proxy in front,
// the gate's cookies are Secure.
func TestSecureCookies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	link, err := f.svc.Share(context.Background(), f.pv.ID, ShareRequest{PRNumber: 12, Host: host12})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link.URL)
	r := f.requestWith(nil)
	r.Method, r.URL = http.MethodGet, u
	r.Header.Set("X-Forwarded-Proto", "https")
	if a := f.serve(r); a.cookies[accessCookie] == nil || a.cookies[accessCookie].Secure {
		t.Fatalf("X-Forwarded-Proto from an untrusted peer made the cookie Secure: %+v", a.cookies[accessCookie])
	}
	r = f.requestWith(nil)
	r.Method, r.URL = http.MethodGet, u
	r.TLS = &tlsState
	if a := f.serve(r); a.cookies[accessCookie] == nil || !a.cookies[accessCookie].Secure {
		t.Fatalf("over TLS the cookie is not Secure: %+v", a.cookies[accessCookie])
	}
}
