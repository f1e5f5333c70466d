package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// TestVariables: a deploy user sets, on its environment's page, a plain
// variable of the environment and a secret one of a service, and a named
// secret: the use cases store them, the page lists them (a plain value as
// the API shows it, secrets masked) and no page ever shows a secret's
// value; refusals are shown next to their fields; deleting asks first; a
// read user sees the list only.
func TestVariables(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			ctx := t.Context()
			prod, staging := h.env["production"], h.env["staging"]
			page := envPath(prod) + "/variables"
			api := service(t, h, prod, "api")
			stagingAPI := service(t, h, staging, "api")
			deployer := h.signIn("deploy@example.com")

			_, body, _ := deployer.get(envPath(prod))
			if !strings.Contains(body, `href="`+page+`"`) {
				t.Fatal("the settings page has no link to the variables")
			}
			status, body, _ := deployer.get(page)
			if status != 200 || !strings.Contains(body, "Service API (api)") || !strings.Contains(body, "None set.") {
				t.Fatalf("GET %s: %d\n%s", page, status, body)
			}
			formsCarryToken(t, body, deployer.csrf)

			const secretValue = "sk_live_0123456789abcdef"
			const namedValue = "hunter2-but-longer-9876"
			seen := func(what string) {
				t.Helper()
				for _, p := range []string{page, envPath(prod), "/projects"} {
					_, body, _ := deployer.get(p)
					for _, v := range []string{secretValue, namedValue} {
						if strings.Contains(body, v) {
							t.Errorf("%s: %s shows a secret's value", what, p)
						}
					}
				}
			}

			// Refusals next to their fields; a secret's value never sent back.
			for _, c := range []struct {
				form  url.Values
				field string
				want  string
			}{
				{url.Values{"name": {"1BAD"}, "value": {"x"}}, "var-name", "a name is letters, digits and"},
				{url.Values{"name": {"1BAD"}, "value": {secretValue}, "secret": {"on"}}, "var-name", "a name is letters, digits and"},
				{url.Values{"name": {"BIG"}, "value": {strings.Repeat("x", variables.MaxValue+1)}}, "var-value", "the value is"},
				{url.Values{"name": {"A"}, "value": {"x"}, "service": {stagingAPI}}, "var-service", "Choose a service of this environment"},
				{url.Values{"name": {"A"}, "value": {"x"}, "service": {"nosuch"}}, "var-service", "Choose a service of this environment"},
			} {
				status, body, _ := deployer.post(page, c.form)
				if status != http.StatusBadRequest || !strings.Contains(fieldError(body, c.field), c.want) {
					t.Errorf("POST %v: %d, error at %s %q, want %q", c.form["name"], status, c.field, fieldError(body, c.field), c.want)
				}
				if strings.Contains(body, secretValue) {
					t.Errorf("a refused secret is shown back")
				}
			}
			if status, body, _ := deployer.post(page, url.Values{"name": {"1BAD"}, "value": {"keep me"}}); status != 400 || !strings.Contains(body, ">keep me</textarea>") {
				t.Errorf("a refused plain value is not kept in the form: %d", status)
			}
			if status, body, _ := deployer.post(envPath(prod)+"/secrets", url.Values{"name": {" "}, "value": {namedValue}}); status != 400 ||
				!strings.Contains(fieldError(body, "secret-name"), "is empty") || strings.Contains(body, namedValue) {
				t.Errorf("a named secret without a name: %d %q", status, fieldError(body, "secret-name"))
			}
			if status, body, _ := deployer.post(envPath(prod)+"/secrets", url.Values{"name": {"db"}, "value": {""}}); status != 400 ||
				!strings.Contains(fieldError(body, "secret-value"), "the value is empty") {
				t.Errorf("a named secret without a value: %d %q", status, fieldError(body, "secret-value"))
			}

			// Set: a plain variable of the environment, a secret of a service,
			// a named secret.
			for _, f := range []url.Values{
				{"name": {"LOG_LEVEL"}, "value": {"debug"}},
				{"name": {"STRIPE_KEY"}, "value": {secretValue}, "secret": {"on"}, "service": {api}},
			} {
				status, body, hdr := deployer.post(page, f)
				if status != http.StatusSeeOther || hdr.Get("Location") != page || strings.Contains(body, secretValue) {
					t.Fatalf("set %s: %d to %s", f.Get("name"), status, hdr.Get("Location"))
				}
			}
			if status, _, hdr := deployer.post(envPath(prod)+"/secrets", url.Values{"name": {"/prod/db"}, "value": {namedValue}}); status != http.StatusSeeOther ||
				hdr.Get("Location") != page+"#secrets" {
				t.Fatalf("set a named secret: %d to %s", status, hdr.Get("Location"))
			}
			envScope, err := h.vars.EnvironmentScope(ctx, prod)
			if err != nil {
				t.Fatal(err)
			}
			apiScope, err := h.vars.ServiceScope(ctx, api)
			if err != nil {
				t.Fatal(err)
			}
			if vs, err := h.vars.List(ctx, envScope); err != nil || len(vs) != 1 || vs[0].Name != "LOG_LEVEL" || vs[0].Value != "debug" || vs[0].Kind != liftoff.VariablePlainText {
				t.Errorf("the environment's variables: %+v, %v", vs, err)
			}
			if vs, err := h.vars.List(ctx, apiScope); err != nil || len(vs) != 1 || vs[0].Name != "STRIPE_KEY" || vs[0].Kind != liftoff.VariableSecret {
				t.Errorf("the service's variables: %+v, %v", vs, err)
			}
			if ss, err := h.vars.ListSecrets(ctx, envScope.ProjectID, prod); err != nil || len(ss) != 1 || ss[0].Name != "/prod/db" {
				t.Errorf("the named secrets: %+v, %v", ss, err)
			}
			// Both secrets are kept sealed, to be resolved at deployment.
			stored, err := h.store.ListVariables(ctx, store.ListVariablesParams{ProjectID: envScope.ProjectID, EnvironmentIDs: []int64{prod}})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range stored {
				if v.Name == "STRIPE_KEY" && (len(v.Sealed) == 0 || v.Value != "") {
					t.Errorf("the secret is not sealed: %+v", v)
				}
			}

			_, body, _ = deployer.get(page)
			for _, want := range []string{"Set secret /prod/db.", `data-variable="/LOG_LEVEL"`, "<code>debug</code>",
				`data-variable="` + api + `/STRIPE_KEY"`, `data-secret="/prod/db"`} {
				if !strings.Contains(body, want) {
					t.Errorf("the page has no %q", want)
				}
			}
			seen("after setting")
			read := h.signIn("read@example.com")
			_, body, _ = read.get(page)
			if !strings.Contains(body, `data-variable="/LOG_LEVEL"`) || !strings.Contains(body, `data-secret="/prod/db"`) ||
				strings.Contains(body, "<form method=\"post\" action=\""+page) || strings.Contains(body, secretValue) || strings.Contains(body, namedValue) {
				t.Errorf("the read user's page:\n%s", body)
			}

			// Deleting asks first.
			del := url.Values{"name": {"STRIPE_KEY"}, "service": {api}}
			status, body, _ = deployer.post(page+"/delete", del)
			if status != 200 || !strings.Contains(body, "Delete variable STRIPE_KEY of service api?") || !strings.Contains(body, `name="service" value="`+api+`"`) {
				t.Fatalf("delete without confirm: %d\n%s", status, body)
			}
			formsCarryToken(t, body, deployer.csrf)
			del.Set("confirm", "yes")
			if status, _, _ := deployer.post(page+"/delete", del); status != http.StatusSeeOther {
				t.Fatalf("delete: %d", status)
			}
			if vs, err := h.vars.List(ctx, apiScope); err != nil || len(vs) != 0 {
				t.Errorf("after deleting: %+v, %v", vs, err)
			}
			if status, _, _ := deployer.post(page+"/delete", del); status != http.StatusNotFound {
				t.Errorf("deleting twice: %d", status)
			}
			status, body, _ = deployer.post(envPath(prod)+"/secrets/delete", url.Values{"name": {"/prod/db"}})
			if status != 200 || !strings.Contains(body, "Delete secret /prod/db?") {
				t.Fatalf("delete a secret without confirm: %d", status)
			}
			if status, _, _ := deployer.post(envPath(prod)+"/secrets/delete", url.Values{"name": {"/prod/db"}, "confirm": {"yes"}}); status != http.StatusSeeOther {
				t.Fatalf("delete a secret: %d", status)
			}
			if ss, err := h.vars.ListSecrets(ctx, envScope.ProjectID, prod); err != nil || len(ss) != 0 {
				t.Errorf("after deleting the secret: %+v, %v", ss, err)
			}
			seen("after deleting")
			if status, _, _ := deployer.get(fmt.Sprintf("/environments/%d/variables", staging)); status != http.StatusNotFound {
				t.Errorf("the deploy user opens staging's variables: %d", status)
			}
		})
	}
}

// service is the id of an environment's service.
func service(t *testing.T, h *harness, env int64, givenID string) string {
	t.Helper()
	svcs, err := h.store.ListServices(t.Context(), store.ListServicesParams{EnvironmentID: env})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		if s.GivenID == givenID {
			return s.ID
		}
	}
	t.Fatalf("no service %s in environment %d", givenID, env)
	return ""
}
