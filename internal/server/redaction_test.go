package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// lookalike is anything shaped like (part of) a Liftoff secret.
var lookalike = regexp.MustCompile(`(?i)lf[hk]_[a-z2-7]{8,}`)

// TestSecretsNeverEchoed sends a hook secret in every form of path a caller
// (or a proxy, or a typo) can give it, to a real server, and checks that
// no answer (status line, Location, body, any header) and no log line
// repeats it; that no answer is a redirect; and that every answer is JSON:
// the hook shape for paths that look like hook calls, the /v1 shape
// otherwise.
func TestSecretsNeverEchoed(t *testing.T) {
	t.Parallel()
	cfg := baseConfig(t, "sqlite")
	f := setUp(t, cfg)
	srv := start(t, cfg)
	s, e := f.secret, f.env
	escaped := strings.NewReplacer("l", "%6C", "_", "%5F").Replace(s)
	upper := strings.ToUpper(s)
	cases := []struct {
		name, method, path string
		header             http.Header
		status             int
		hookShape          bool
	}{
		{"double leading slash", "GET", "//api/deploy-hook/" + fmt.Sprint(e) + "/" + s, nil, 400, true},
		{"double inner slash", "GET", fmt.Sprintf("/api//deploy-hook/%d/%s", e, s), nil, 400, true},
		{"dot segment", "GET", fmt.Sprintf("/./api/deploy-hook/%d/%s", e, s), nil, 400, true},
		{"dot-dot segment", "GET", fmt.Sprintf("/v1/../api/deploy-hook/%d/%s", e, s), nil, 400, true},
		{"encoded dot segment", "GET", fmt.Sprintf("/%%2E/api/deploy-hook/%d/%s", e, s), nil, 400, true},
		{"upper-case API", "GET", fmt.Sprintf("/API/deploy-hook/%d/%s", e, s), nil, 400, true},
		{"capitalised Deploy-Hook", "POST", fmt.Sprintf("/api/Deploy-Hook/%d/%s", e, s), nil, 400, true},
		{"encoded letter in the prefix", "GET", fmt.Sprintf("/api/deploy%%2Dhook/%d/%s", e, s), nil, 400, true},
		{"encoded slashes", "GET", fmt.Sprintf("/api/deploy-hook%%2F%d%%2F%s", e, s), nil, 400, true},
		{"encoded slashes from the root", "GET", fmt.Sprintf("/api%%2Fdeploy-hook%%2F%d%%2F%s", e, s), nil, 400, true},
		{"lower-case encoded slash after the secret", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s%%2fx", e, s), nil, 400, true},
		{"dot segment after the prefix", "GET", fmt.Sprintf("/api/deploy-hook/%d/./%s", e, s), nil, 400, true},
		{"dot-dot after the prefix", "GET", fmt.Sprintf("/api/deploy-hook/../deploy-hook/%d/%s", e, s), nil, 400, true},
		{"trailing double slash", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s//", e, s), nil, 400, true},
		{"secret in the envId place", "GET", fmt.Sprintf("/api/deploy-hook/%s/%d", s, e), nil, 400, true},
		{"wrong method", "PATCH", hookPath(e, s), nil, 405, true},
		{"Get Deployment by secret, no key", "GET", "/v1/deployments/" + s, nil, 401, false},
		{"Get Deployment by secret", "GET", "/v1/deployments/" + s, bearer(f.key), 404, false},
		{"Get Deployment by secret, hook auth", "GET", "/v1/deployments/" + s, http.Header{"Authorization": {"Hook " + s}}, 404, false},
		{"Get Deployment by escaped secret", "GET", "/v1/deployments/" + escaped, bearer(f.key), 404, false},
		{"Get Deployment by upper-case secret", "GET", "/v1/deployments/" + upper, bearer(f.key), 404, false},
		{"logs by secret", "GET", "/v1/deployments/" + s + "/logs", bearer(f.key), 404, false},
		{"double slash under /v1", "GET", "/v1//deployments/" + s, bearer(f.key), 400, false},
		{"dot segment under /v1", "GET", "/v1/./deployments/" + s, bearer(f.key), 400, false},
		{"encoded slash under /v1", "GET", "/v1/deployments%2F" + s, bearer(f.key), 400, false},
		{"upper-case V1", "GET", "/V1/deployments/" + s, bearer(f.key), 404, false},
		{"unknown endpoint", "GET", "/v1/nothing/" + s, bearer(f.key), 404, false},
		{"unknown root path", "GET", "/" + s, nil, 404, false},
		{"wrong method under /v1", "PUT", "/v1/deployments/" + s, bearer(f.key), 405, false},
		{"secret as a query value", "GET", "/v1/deployments?status=" + s, bearer(f.key), 400, false},
		{"secret cut short as a query value", "GET", "/v1/deployments?status=" + s[:30], bearer(f.key), 400, false},
		{"secret in a method", s, "/v1/projects", bearer(f.key), 405, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, header, body := raw(t, c.method, srv.base, c.path, c.header)
			if status != c.status {
				t.Errorf("status = %d, want %d; body %s", status, c.status, body)
			}
			if status >= 300 && status < 400 || header.Get("Location") != "" {
				t.Errorf("a redirect: %d, Location %q", status, header.Get("Location"))
			}
			if ct := header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q; body %s", ct, body)
			}
			var answer struct {
				Success   *string `json:"success"`
				Error     string  `json:"error"`
				ErrorCode string  `json:"errorCode"`
			}
			if err := json.Unmarshal([]byte(body), &answer); err != nil || answer.Error == "" {
				t.Fatalf("body is not a JSON error: %s", body)
			}
			if c.hookShape && (answer.Success == nil || *answer.Success != "false" || answer.ErrorCode != "") {
				t.Errorf("want the hook shape {\"success\": \"false\", \"error\": ...}, got %s", body)
			}
			if !c.hookShape && (answer.Success != nil || answer.ErrorCode == "") {
				t.Errorf("want the /v1 shape {\"error\", \"errorCode\"}, got %s", body)
			}
			all := body
			for k, v := range header {
				all += "\n" + k + ": " + strings.Join(v, ", ")
			}
			if m := lookalike.FindString(all); m != "" {
				t.Errorf("the answer repeats %q:\n%s", m, all)
			}
		})
	}
	// The valid call, in its canonical form, still deploys.
	if status, _, body := raw(t, "GET", srv.base, hookPath(e, s), nil); status != 200 {
		t.Fatalf("canonical hook call: %d %s", status, body)
	}
	srv.stop()
	logs := srv.logs.String()
	if n := strings.Count(logs, "msg=http "); n < len(cases)+1 {
		t.Errorf("%d access log lines for %d requests:\n%s", n, len(cases)+1, logs)
	}
	for _, secret := range []string{s, upper, escaped, url.PathEscape(s), s[:30]} {
		if strings.Contains(logs, secret) {
			t.Errorf("a log line holds the secret as %q", secret)
		}
	}
	if m := lookalike.FindString(logs); m != "" {
		t.Errorf("a log line holds %q:\n%s", m, logs)
	}
}

// TestLongRequestsLogBounded: a caller decides neither how long Liftoff's
// access log lines are nor how much of a request line Liftoff reads.
func TestLongRequestsLogBounded(t *testing.T) {
	t.Parallel()
	cfg := baseConfig(t, "sqlite")
	srv := start(t, cfg)
	long := "/v1/" + strings.Repeat("a", 20000)
	if status, _, body := raw(t, "GET", srv.base, long, nil); status != 404 {
		t.Fatalf("GET a 20 kB path: %d %s, want 404", status, body)
	}
	if status, _, _ := raw(t, "GET", srv.base, "/v1/projects", http.Header{"X-Big": {strings.Repeat("b", 100<<10)}}); status != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 100 kB header: %d, want 431", status)
	}
	srv.stop()
	logs := srv.logs.String()
	if strings.Contains(logs, strings.Repeat("a", 600)) || !strings.Contains(logs, "…(20004 bytes)") {
		t.Fatalf("the long path was not logged cut to 512 bytes with its length:\n%.2000s", logs)
	}
}
