package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDashboardBesideTheAPI: the dashboard is served on the API's address
// and leaves every route of the API as it was.
func TestDashboardBesideTheAPI(t *testing.T) {
	t.Parallel()
	r := start(t, baseConfig(t, "sqlite"))
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		method, path string
		header       http.Header
		status       int
		contentType  string
		body         string
	}{
		{"GET", "/", nil, http.StatusSeeOther, "text/html; charset=utf-8", "/login?next=%2F"},
		{"GET", "/login", nil, 200, "text/html; charset=utf-8", "Sign in to Liftoff"},
		{"GET", "/static/app.css", nil, 200, "text/css; charset=utf-8", ":focus-visible"},
		{"GET", "/static/app.js", nil, 200, "text/javascript; charset=utf-8", "EventSource"},
		{"GET", "/projects", nil, http.StatusSeeOther, "text/html; charset=utf-8", "/login?next=%2Fprojects"},
		{"POST", "/login", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden, "text/html; charset=utf-8", "came from another site"},
		{"GET", "/healthz", nil, 200, "application/json", `"status":"ok"`},
		{"GET", "/readyz", nil, 200, "application/json", `"status":"ready"`},
		{"GET", "/v1/projects", nil, http.StatusUnauthorized, "application/json", `"errorCode":"UNAUTHORIZED"`},
		{"GET", "/v1/openapi.json", nil, 200, "application/json", `"openapi"`},
		{"GET", "/schema/liftoff.json", nil, 200, "application/schema+json", `"$schema"`},
		{"GET", "/no/such/page", nil, http.StatusNotFound, "application/json", `"errorCode":"NOT_FOUND"`},
		{"DELETE", "/projects", nil, http.StatusNotFound, "application/json", `"errorCode":"NOT_FOUND"`},
		{"GET", "/api/deploy-hook/1/lfh_nope", nil, http.StatusNotFound, "application/json", `"success": "false"`},
		{"GET", "//projects", nil, http.StatusBadRequest, "application/json", "Liftoff does not clean paths"},
	} {
		req, err := http.NewRequest(tc.method, r.base+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = tc.path // as written: no cleaning
		for k, v := range tc.header {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.contentType || !strings.Contains(string(body), tc.body) {
			t.Errorf("%s %s: %d %q\n%.300s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}
