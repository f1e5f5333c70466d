package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestRouteCheck: a route whose declaration does not say who may call it,
// or says it inconsistently, is refused before the server serves anything.
func TestRouteCheck(t *testing.T) {
	t.Parallel()
	h := func(http.ResponseWriter, *http.Request) error { return nil }
	for _, c := range []struct {
		name string
		rt   route
		want string // "" for a valid route
	}{
		{"no scope", route{pattern: "GET /v1/things", does: "list things", handler: h}, "declares no scope"},
		{"no handler", route{pattern: "GET /v1/things", need: readOnly, does: "list things"}, "has no handler"},
		{"no 403 text", route{pattern: "GET /v1/things", need: readOnly, handler: h}, "does not say what it does"},
		{"a mutation for read keys", route{pattern: "POST /v1/things", need: readOnly, does: "make things", handler: h}, "GET routes, and only they, are readOnly"},
		{"a read for deploy keys only", route{pattern: "GET /v1/environments/{environmentId}/things", need: deployOnly, env: envPath, does: "list things", handler: h}, "GET routes, and only they, are readOnly"},
		{"a deploy route without environment", route{pattern: "POST /v1/things", need: deployOnly, does: "make things", handler: h}, "finds no environment"},
		{"an environment in the path it ignores", route{pattern: "POST /v1/deploy-hooks/{hookId}/explode", need: deployOnly, env: envPath, does: "explode hooks", handler: h}, "which its path lacks"},
		{"a read of a hook without its environment", route{pattern: "GET /v1/deploy-hooks/{hookId}/secrets", need: readOnly, does: "read secrets", handler: h}, "finds no environment"},
		{"an admin route with an environment", route{pattern: "POST /v1/environments/{environmentId}/purge", need: adminOnly, env: envPath, does: "purge", handler: h}, "needs no environment"},
		{"a public route with a scope text", route{pattern: "GET /v1/status", need: public, does: "read status", handler: h}, "takes no key"},
		{"valid public", route{pattern: "GET /v1/status", need: public, handler: h}, ""},
		{"valid admin", route{pattern: "DELETE /v1/projects/{projectId}", need: adminOnly, does: "delete projects", handler: h}, ""},
		{"valid deploy", route{pattern: "POST /v1/deploy-hooks/{hookId}/explode", need: deployOnly, env: envOfHook, does: "explode hooks", handler: h}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.rt.check()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("valid route refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("check() = %v, want an error containing %q", err, c.want)
			}
		})
	}
	for _, rt := range (&API{}).table() {
		if err := rt.check(); err != nil {
			t.Errorf("the route table: %v", err)
		}
	}
}
