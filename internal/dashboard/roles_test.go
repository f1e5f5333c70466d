package dashboard_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestRoles: each role opens and does what the API lets a key of the same
// scope do, page by page: admin everything, read every page and no form,
// deploy the pages and forms of its environment (production) and, for
// other environments, the 404 of a page that does not exist.
func TestRoles(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			ctx := t.Context()
			prod, staging := h.env["production"], h.env["staging"]
			prodHook, err := h.hooks.Create(ctx, prod, "CI prod")
			if err != nil {
				t.Fatal(err)
			}
			stagingHook, err := h.hooks.Create(ctx, staging, "CI staging")
			if err != nil {
				t.Fatal(err)
			}
			_, prodDeploy := callHook(t, prodHook.URL)
			_, stagingDeploy := callHook(t, stagingHook.URL)
			prodID, stagingID := deploymentID(t, prodDeploy), deploymentID(t, stagingDeploy)
			project := "/projects/" + h.project.Project.ID
			prodAPI, stagingAPI := "/services/"+h.serviceIn("production", "api").ID, "/services/"+h.serviceIn("staging", "api").ID
			prodRun, stagingRun := "/job-executions/"+h.jobExecution("production"), "/job-executions/"+h.jobExecution("staging")
			preview := envPath(h.env["preview"])
			if _, err := h.store.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: h.env["preview"], PRNumber: 7, At: time.Now()}); err != nil {
				t.Fatal(err)
			}
			key, _, err := h.apiKeys.Create(ctx, apikey.CreateParams{Name: "ci", Scope: apikey.Read})
			if err != nil {
				t.Fatal(err)
			}
			readUser, err := h.users.Find(ctx, "read@example.com")
			if err != nil {
				t.Fatal(err)
			}
			prodVars, stagingVars := envPath(prod)+"/variables", envPath(staging)+"/variables"

			browsers := map[string]*browser{}
			for _, role := range []string{"admin", "read", "deploy"} {
				browsers[role] = h.signIn(role + "@example.com")
				browsers[role].get("/projects") // the session's CSRF token
			}
			type want struct{ admin, read, deploy int }
			for _, c := range []struct {
				method, path string
				form         url.Values
				want         want
			}{
				{"GET", "/projects", nil, want{200, 200, 200}},
				{"GET", project, nil, want{200, 200, 403}},
				{"GET", envPath(prod), nil, want{200, 200, 200}},
				{"GET", envPath(staging), nil, want{200, 200, 404}},
				{"GET", envPath(99999), nil, want{404, 404, 404}},
				{"GET", "/deployments", nil, want{200, 200, 200}},
				{"GET", "/deployments?environmentId=" + fmt.Sprint(staging), nil, want{200, 200, 404}},
				{"GET", "/deployments/" + prodID, nil, want{200, 200, 200}},
				{"GET", "/deployments/" + stagingID, nil, want{200, 200, 404}},
				{"POST", envPath(prod) + "/deploy-hooks", url.Values{"name": {"x"}}, want{200, 403, 200}},
				{"POST", envPath(staging) + "/deploy-hooks", url.Values{"name": {"x"}}, want{200, 403, 404}},
				{"POST", "/deploy-hooks/" + prodHook.Hook.ID + "/pause", nil, want{303, 403, 303}},
				{"POST", "/deploy-hooks/" + stagingHook.Hook.ID + "/pause", nil, want{303, 403, 404}},
				{"POST", "/deploy-hooks/" + stagingHook.Hook.ID + "/delete", nil, want{200, 403, 404}}, // 200: the confirmation
				{"POST", "/deployments/" + stagingID + "/cancel", nil, want{200, 403, 404}},
				{"POST", "/deployments/" + prodID + "/cancel", nil, want{200, 403, 200}},
				{"POST", "/projects", url.Values{"name": {"x"}}, want{400, 403, 403}},
				{"POST", project + "/delete", nil, want{200, 403, 403}},
				{"POST", project + "/sync", nil, want{303, 403, 403}},
				{"GET", prodAPI, nil, want{200, 200, 200}},
				{"GET", stagingAPI, nil, want{200, 200, 404}},
				{"GET", "/services/cnope", nil, want{404, 404, 404}},
				{"GET", stagingAPI + "/logs/events", nil, want{0, 0, 404}},        // 0: a stream, followed in TestServiceLogEvents
				{"POST", prodAPI + "/jobs/nightly/run", nil, want{303, 403, 303}}, // 303: the refusal (a web service has no jobs), said there
				{"POST", stagingAPI + "/jobs/nightly/run", nil, want{303, 403, 404}},
				{"GET", prodRun, nil, want{200, 200, 200}},
				{"GET", stagingRun, nil, want{200, 200, 404}},
				{"POST", preview + "/previews/7/teardown", nil, want{200, 403, 404}}, // 200: the confirmation
				{"POST", envPath(prod) + "/previews/7/teardown", nil, want{404, 403, 404}},
				{"POST", envPath(staging) + "/deployments", nil, want{303, 403, 404}},
				{"POST", envPath(prod) + "/deployments", nil, want{303, 403, 303}},

				{"GET", "/api-keys", nil, want{200, 200, 403}},
				{"POST", "/api-keys", url.Values{"name": {""}}, want{400, 403, 403}},
				{"POST", "/api-keys/" + key.ID + "/delete", nil, want{200, 403, 403}}, // 200: the confirmation
				{"POST", "/api-keys/nokey/delete", nil, want{404, 403, 403}},
				{"GET", "/users", nil, want{200, 403, 403}},
				{"POST", "/users", url.Values{"email": {"x"}}, want{400, 403, 403}},
				{"POST", "/users/" + readUser.ID + "/role", url.Values{"scope": {"read"}}, want{303, 403, 403}},
				{"POST", "/users/" + readUser.ID + "/delete", nil, want{200, 403, 403}},
				{"GET", prodVars, nil, want{200, 200, 200}},
				{"GET", stagingVars, nil, want{200, 200, 404}},
				{"GET", envPath(99999) + "/variables", nil, want{404, 404, 404}},
				{"POST", prodVars, url.Values{"name": {"A"}, "value": {"1"}}, want{303, 403, 303}},
				{"POST", stagingVars, url.Values{"name": {"A"}, "value": {"1"}}, want{303, 403, 404}},
				{"POST", prodVars + "/delete", url.Values{"name": {"A"}}, want{200, 403, 200}},
				{"POST", stagingVars + "/delete", url.Values{"name": {"A"}}, want{200, 403, 404}},
				{"POST", envPath(prod) + "/secrets", url.Values{"name": {"s"}, "value": {"v"}}, want{303, 403, 303}},
				{"POST", envPath(staging) + "/secrets", url.Values{"name": {"s"}, "value": {"v"}}, want{303, 403, 404}},
				{"POST", envPath(prod) + "/secrets/delete", url.Values{"name": {"s"}}, want{200, 403, 200}},
				{"POST", envPath(staging) + "/secrets/delete", url.Values{"name": {"s"}}, want{200, 403, 404}},
			} {
				for role, status := range map[string]int{"admin": c.want.admin, "read": c.want.read, "deploy": c.want.deploy} {
					if status == 0 {
						continue
					}
					b := browsers[role]
					var got int
					var body string
					if c.method == "GET" {
						got, body, _ = b.get(c.path)
					} else {
						got, body, _ = b.post(c.path, c.form)
					}
					if got != status {
						t.Errorf("%s %s as %s: %d, want %d\n%.300s", c.method, c.path, role, got, status, body)
					}
					if got == 403 && !strings.Contains(body, "Your role ("+role+") cannot") {
						t.Errorf("%s %s as %s: the 403 does not say why:\n%s", c.method, c.path, role, body)
					}
				}
			}

			// What each role's pages offer follows what it may do.
			admin, read, deployer := browsers["admin"], browsers["read"], browsers["deploy"]
			for _, c := range []struct {
				b     *browser
				path  string
				has   []string
				hasNo []string
			}{
				{admin, "/projects", []string{"Create a project", `href="/projects/`}, nil},
				{read, "/projects", []string{`href="/projects/`, "Staging"}, []string{"Create a project"}},
				{deployer, "/projects", []string{"Production", "shop"}, []string{"Staging", "Create a project", `href="/projects/`}},
				{admin, envPath(prod), []string{"Create Deploy Hook", "Pause"}, nil},
				{read, envPath(prod), []string{"Deploy Hooks", "CI prod"}, []string{"Create Deploy Hook", "Pause", "Delete…"}},
				{deployer, envPath(prod), []string{"Create Deploy Hook", "Rotate…"}, nil},
				{read, "/deployments/" + prodID, []string{prodID}, []string{"Cancel deployment"}},
				{deployer, "/deployments/" + prodID, []string{"Cancel deployment"}, nil},
				{deployer, "/deployments", []string{prodID}, []string{stagingID, "Staging"}},
				{read, "/deployments", []string{prodID, stagingID}, nil},
				{read, envPath(prod), []string{"Services", prodAPI}, []string{"Deploy now"}},
				{deployer, envPath(prod), []string{"Deploy now", prodAPI}, nil},
				{read, preview, []string{"PR #7"}, []string{"Tear down…"}},
				{admin, preview, []string{"Tear down…"}, nil},
				{read, prodAPI, []string{"Release and runtime", "Logs"}, nil},
				{read, prodRun, []string{"Job run", "nightly"}, nil},
				{admin, "/api-keys", []string{"Create an API key", "Revoke…", "ci"}, nil},
				{read, "/api-keys", []string{"ci", "read"}, []string{"Create an API key", "Revoke…"}},
				{admin, "/users", []string{"Create a user", "read@example.com", "deploy@example.com", "Change role"}, nil},
				{admin, envPath(prod), []string{`href="/environments/` + fmt.Sprint(prod) + `/variables"`}, nil},
				{read, envPath(prod), []string{`href="/environments/` + fmt.Sprint(prod) + `/variables"`}, nil},
				{admin, prodVars, []string{"Set a variable", "Set a named secret"}, nil},
				{deployer, prodVars, []string{"Set a variable", "Set a named secret", "Delete…"}, nil},
				{read, prodVars, []string{"Variables", "Named secrets", ">A<"}, []string{"Set a variable", "Set a named secret", "Delete…"}},
			} {
				status, body, _ := c.b.get(c.path)
				if status != 200 {
					t.Errorf("GET %s: %d", c.path, status)
					continue
				}
				main := body[strings.Index(body, "<main"):]
				for _, s := range c.has {
					if !strings.Contains(main, s) {
						t.Errorf("GET %s: no %q", c.path, s)
					}
				}
				for _, s := range c.hasNo {
					if strings.Contains(main, s) {
						t.Errorf("GET %s shows %q", c.path, s)
					}
				}
			}

			// The navigation offers the sections each role may open.
			for _, c := range []struct {
				b          *browser
				has, hasNo []string
			}{
				{admin, []string{`href="/api-keys"`, `href="/users"`}, nil},
				{read, []string{`href="/api-keys"`}, []string{`href="/users"`}},
				{deployer, nil, []string{`href="/api-keys"`, `href="/users"`}},
			} {
				_, body, _ := c.b.get("/projects")
				nav := body[:strings.Index(body, "<main")]
				for _, s := range c.has {
					if !strings.Contains(nav, s) {
						t.Errorf("%s: the navigation has no %s", c.b.role(), s)
					}
				}
				for _, s := range c.hasNo {
					if strings.Contains(nav, s) {
						t.Errorf("%s: the navigation offers %s", c.b.role(), s)
					}
				}
			}
		})
	}
}

// deploymentID reads the id from a hook call's answer.
func deploymentID(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `"deploymentId": "`)
	id, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 || id == "" {
		t.Fatalf("no deployment id in %s", body)
	}
	return id
}

// jobExecution records a run of job nightly of a service of environment
// env, and returns its id.
func (h *harness) jobExecution(env string) string {
	h.t.Helper()
	svc := h.serviceIn(env, "api")
	x := liftoff.JobExecution{ID: cuid.New(), ProjectID: h.project.Project.ID, EnvironmentID: svc.EnvironmentID, ServiceID: svc.ID, JobID: "nightly",
		Trigger: liftoff.JobTriggerManual, Command: config.Shell("node report.js"), Status: liftoff.JobInitializing, CreatedAt: time.Now()}
	if err := h.store.InsertJobExecution(context.Background(), x); err != nil {
		h.t.Fatal(err)
	}
	return x.ID
}
