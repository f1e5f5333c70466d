package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// send makes a request with a body and its path exactly as written.
func (h *harness) send(method, path, body string, header http.Header) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	req.URL.Opaque = path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		req.URL.Opaque, req.URL.RawQuery = path[:i], path[i+1:]
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTextNoStoreKeeps sends NUL bytes and invalid UTF-8 in every kind of
// input that reaches the store (names in bodies, ids in paths, query
// values, a cursor's id): both stores answer the same 400 naming the field
// (PostgreSQL used to fail with a 500, SQLite to store it).
func TestTextNoStoreKeeps(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			secret, hookID := h.createHook("production")
			key := http.Header{"Authorization": {"Bearer " + h.key}}
			env := h.env["production"]
			nulCursor := base64.RawURLEncoding.EncodeToString([]byte("1700000000000:c\x00x"))
			cases := []struct {
				name, method, path, body string
				header                   http.Header
				field                    string
			}{
				{"project name", "POST", "/v1/projects", `{"name": "shop\u0000", "repoUrl": "` + jsonEscape(h.repo.Dir) + `"}`, key, "name"},
				{"project repoUrl", "POST", "/v1/projects", `{"name": "shop2", "repoUrl": "/tmp/x\u0000"}`, key, "repoUrl"},
				{"project configPath", "POST", "/v1/projects", `{"name": "shop2", "repoUrl": "` + jsonEscape(h.repo.Dir) + `", "configPath": "a\u0000.json"}`, key, "configPath"},
				{"hook name", "POST", fmt.Sprintf("/v1/environments/%d/deploy-hooks", env), `{"name": "CI\u0000"}`, key, "name"},
				{"API key name", "POST", "/v1/api-keys", `{"name": "\u0000"}`, key, "name"},
				{"projectId in the path", "GET", "/v1/projects/c%00", "", key, "projectId"},
				{"projectId to sync", "POST", "/v1/projects/%00/sync", "", key, "projectId"},
				{"deploymentId in the path", "GET", "/v1/deployments/c%00x", "", key, "deploymentId"},
				{"deploymentId read with a hook secret", "GET", "/v1/deployments/c%00x", "", http.Header{"Authorization": {"Hook " + secret}}, "deploymentId"},
				{"deploymentId of logs", "GET", "/v1/deployments/%00/logs", "", key, "deploymentId"},
				{"deploymentId to cancel", "POST", "/v1/deployments/%00/cancel", "", key, "deploymentId"},
				{"deploymentId to redeploy", "POST", "/v1/deployments/%00/redeploy", "", key, "deploymentId"},
				{"hookId in the path", "GET", "/v1/deploy-hooks/%00", "", key, "hookId"},
				{"hookId of calls", "GET", "/v1/deploy-hooks/" + hookID + "%00/calls", "", key, "hookId"},
				{"hookId to rotate", "POST", "/v1/deploy-hooks/%00/rotate", "{}", key, "hookId"},
				{"hookId to delete", "DELETE", "/v1/deploy-hooks/%00", "", key, "hookId"},
				{"apiKeyId to delete", "DELETE", "/v1/api-keys/%00", "", key, "apiKeyId"},
				{"projectId query value", "GET", "/v1/deployments?projectId=c%00", "", key, "projectId"},
				{"service query value", "GET", "/v1/deployments/c1/logs?service=api%00", "", key, "service"},
				{"query parameter name", "GET", "/v1/projects?a%00b=1", "", key, "the name of a query parameter"},
				{"cursor with a NUL id", "GET", "/v1/deployments?cursor=" + nulCursor, "", key, "cursor"},
				{"invalid UTF-8 in the path", "GET", "/v1/deployments/c%ff", "", key, "deploymentId must be valid UTF-8"},
				{"invalid UTF-8 in a body", "POST", fmt.Sprintf("/v1/environments/%d/deploy-hooks", env), "{\"name\": \"CI\xff\"}", key, "the request body must be valid UTF-8"},
				{"a lone high surrogate in a body", "POST", fmt.Sprintf("/v1/environments/%d/deploy-hooks", env), `{"name": "CI\ud800"}`, key, "the request body holds half of a UTF-16 surrogate pair (\\ud800) at byte 12"},
				{"a lone low surrogate in a body", "POST", "/v1/api-keys", `{"name": "\uDC00x"}`, key, "the request body holds half of a UTF-16 surrogate pair"},
				{"a high surrogate before a non-surrogate", "POST", "/v1/api-keys", `{"name": "\ud83d\u0041"}`, key, "the request body holds half"},
				{"invalid UTF-8 in a query value", "GET", "/v1/deployments?projectId=%c3%28", "", key, "projectId must be valid UTF-8"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					status, body := h.send(c.method, c.path, c.body, c.header)
					var e client.ErrorBody
					if err := json.Unmarshal([]byte(body), &e); err != nil || status != 400 || e.ErrorCode != "VALIDATION_ERROR" ||
						!strings.HasPrefix(e.Error, c.field) {
						t.Fatalf("%d %s, want a 400 VALIDATION_ERROR naming %s", status, body, c.field)
					}
				})
			}
			// Nothing was stored.
			projects, err := h.c.Projects(t.Context())
			if err != nil || len(projects) != 1 {
				t.Fatalf("projects = %v, %v", projects, err)
			}
			keys, err := h.c.APIKeys(t.Context())
			if err != nil || len(keys) != 1 {
				t.Fatalf("API keys = %v, %v", keys, err)
			}
		})
	}
}

// TestMalformedQueryIs400 sends query strings that do not parse to every
// /v1 endpoint that reads one: a 400, never the first page.
func TestMalformedQueryIs400(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", testHooks())
	_, hookID := h.createHook("production")
	key := http.Header{"Authorization": {"Bearer " + h.key}}
	pv := h.env["preview"]
	for _, path := range []string{
		"/v1/deployments?cursor=%%%",
		"/v1/deployments?limit=5&status=%zz",
		"/v1/deployments?a=1;b=2",
		"/v1/projects?%%%",
		fmt.Sprintf("/v1/environments/%d/previews?%%", pv),
		fmt.Sprintf("/v1/environments/%d/deploy-hooks?x=%%g0", h.env["production"]),
		"/v1/deploy-hooks/" + hookID + "/calls?limit=%%%",
		"/v1/api-keys?%",
	} {
		status, body := h.send("GET", path, "", key)
		var e client.ErrorBody
		if err := json.Unmarshal([]byte(body), &e); err != nil || status != 400 || e.ErrorCode != "VALIDATION_ERROR" ||
			!strings.Contains(e.Error, "query string is malformed") {
			t.Errorf("GET %s: %d %s, want a 400 saying the query string is malformed", path, status, body)
		}
	}
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
