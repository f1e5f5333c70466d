package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/apikey"
)

// TestPageCheck: a page cannot be added without saying who may open it,
// and what it declares must hold together, as the API's routes.
func TestPageCheck(t *testing.T) {
	t.Parallel()
	h := func(http.ResponseWriter, *http.Request) error { return nil }
	for _, c := range []struct {
		p    page
		want string // "" when the page is fine
	}{
		{page{pattern: "GET /x", public: true, handler: h}, ""},
		{page{pattern: "GET /x", need: apikey.NeedRead, does: "read x", handler: h}, ""},
		{page{pattern: "POST /environments/{environmentId}/x", need: apikey.NeedDeploy, env: envPath, does: "x", handler: h}, ""},
		{page{pattern: "GET /x", handler: h}, "declares no need"},
		{page{pattern: "GET /x", need: apikey.NeedRead, handler: h}, "does not say what it does"},
		{page{pattern: "GET /x", need: apikey.NeedRead, does: "x"}, "has no handler"},
		{page{pattern: "GET /x", public: true, need: apikey.NeedRead, handler: h}, "takes no session"},
		{page{pattern: "POST /x", need: apikey.NeedRead, does: "x", handler: h}, "cannot need only read"},
		{page{pattern: "GET /x", need: apikey.NeedDeploy, env: envPath, does: "x", handler: h}, "needs read"},
		{page{pattern: "GET /x", need: apikey.NeedAdmin, does: "x", handler: h}, ""},
		{page{pattern: "GET /x", need: apikey.NeedAdmin, env: envPath, does: "x", handler: h}, "admins only"},
		{page{pattern: "POST /x", need: apikey.NeedDeploy, does: "x", handler: h}, "finds no one environment"},
		{page{pattern: "POST /x", need: apikey.NeedAdmin, env: envList, does: "x", handler: h}, "admins only"},
		{page{pattern: "POST /x/{hookId}", need: apikey.NeedDeploy, env: envPath, does: "x", handler: h}, "which its path lacks"},
	} {
		err := c.p.check()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.p.pattern, err, c.want)
		}
	}
	d := &Dashboard{}
	for _, p := range d.pageTable() {
		p.handler = h
		if err := p.check(); err != nil {
			t.Error(err)
		}
	}
}

// TestTemplatesParse: every page's template parses with the layout, and
// every partial a live update renders is in them.
func TestTemplatesParse(t *testing.T) {
	t.Parallel()
	pages, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"login", "projects", "project", "environment", "deployments", "deployment", "confirm", "error", "apikeys", "users", "variables"} {
		if pages[name] == nil {
			t.Errorf("no template %s", name)
		}
	}
	for _, partial := range []string{"deployment_status", "deployment_rows", "csrf", "badge"} {
		if pages["error"].Lookup(partial) == nil {
			t.Errorf("no partial %s", partial)
		}
	}
}
