package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/protect"
	"github.com/liftoffhq/liftoff/internal/target"
)

// routesOf is a fake of the proxy's route table.
type routesOf map[string]target.Instance

func (r routesOf) InstanceAt(host string) (target.Instance, bool) {
	inst, ok := r[host]
	return inst, ok
}

// TestOpenProtectedPreview: the page of a protected preview links to the
// dashboard; a signed-in member of the team who may read the environment
// is sent back with a share link the gate takes; nobody else is, and no
// link is ever sent to a host that does not serve that very preview.
func TestOpenProtectedPreview(t *testing.T) {
	t.Parallel()
	routes := routesOf{}
	h := newHarnessWith(t, "sqlite", options{instanceAt: routes.InstanceAt})
	pv := h.env["preview"]
	routes["api.pr-3.preview.localhost:8000"] = target.Instance{EnvironmentID: pv, EnvGivenID: "preview", PRNumber: 3}
	routes["api.pr-4.preview.localhost:8000"] = target.Instance{EnvironmentID: pv, EnvGivenID: "preview", PRNumber: 4}

	// The gate's page links to the dashboard's page for this instance.
	var served string
	gate, err := protect.NewGate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served = r.Host }),
		protect.Config{Protection: h.protection, Instances: routes, SignInURL: h.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	gate.ServeHTTP(rec, httptest.NewRequest("GET", "http://api.pr-3.preview.localhost:8000/page", nil))
	open := envPath(pv) + "/open?" + url.Values{"origin": {"http://api.pr-3.preview.localhost:8000"}, "pr": {"3"}}.Encode()
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `href="`+strings.ReplaceAll(h.srv.URL+open, "&", "&amp;")+`"`) {
		t.Fatalf("the protected page: %d, no link to %s:\n%s", rec.Code, open, rec.Body.String())
	}

	// Not signed in: to the sign-in page, and back here after it.
	if status, _, hdr := h.browser().get(open); status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login") {
		t.Fatalf("not signed in: %d to %q", status, hdr.Get("Location"))
	}
	// A deploy user of production only may not read the preview.
	if status, _, _ := h.signIn("deploy@example.com").get(open); status != http.StatusNotFound && status != http.StatusForbidden {
		t.Fatalf("a deploy user of production: %d", status)
	}
	// A read user gets a share link of that host, which the gate takes.
	reader := h.signIn("read@example.com")
	status, _, hdr := reader.get(open)
	link := hdr.Get("Location")
	if status != http.StatusSeeOther || !strings.HasPrefix(link, "http://api.pr-3.preview.localhost:8000/?"+protect.ShareParam+"=") {
		t.Fatalf("a read user: %d to %q", status, link)
	}
	rec = httptest.NewRecorder()
	gate.ServeHTTP(rec, httptest.NewRequest("GET", link, nil))
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookies) == 0 {
		t.Fatalf("the gate took the link: %d, cookies %v", rec.Code, cookies)
	}
	req := httptest.NewRequest("GET", "http://api.pr-3.preview.localhost:8000/page", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	gate.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || served != "api.pr-3.preview.localhost:8000" {
		t.Fatalf("with the link's cookie: %d, served %q", rec.Code, served)
	}

	// Never a link to a host of another preview, or of nobody.
	for _, q := range []url.Values{
		{"origin": {"http://api.pr-4.preview.localhost:8000"}, "pr": {"3"}},
		{"origin": {"http://evil.example.com"}, "pr": {"3"}},
		{"origin": {"http://api.pr-3.preview.localhost:8000/x"}, "pr": {"3"}},
		{"origin": {"javascript:alert(1)"}, "pr": {"3"}},
		{"origin": {"http://api.pr-3.preview.localhost:8000"}, "pr": {"x"}},
	} {
		status, body, hdr := reader.get(envPath(pv) + "/open?" + q.Encode())
		if status != http.StatusBadRequest || hdr.Get("Location") != "" {
			t.Errorf("%v: %d to %q\n%s", q, status, hdr.Get("Location"), body)
		}
	}
}
