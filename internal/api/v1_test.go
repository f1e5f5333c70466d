package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

func apiError(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code || !strings.Contains(e.Msg, msg) {
		t.Fatalf("error = %v, want %d %s containing %q", err, status, code, msg)
	}
}

// TestGetDeploymentAuth checks every way to authenticate Get Deployment.
func TestGetDeploymentAuth(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			prod, prodID := h.createHook("production")
			other, _ := h.createHook("production")
			id := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], prod), nil)
			path := "/v1/deployments/" + id
			for _, c := range []struct {
				name, auth string
				status     int
				body       string
			}{
				{"no key", "", 401, `{"error":"Please use an API key for this request","errorCode":"UNAUTHORIZED"}`},
				{"invalid key", "Bearer lfk_nope", 401, `{"error":"Invalid API key","errorCode":"UNAUTHORIZED"}`},
				{"Bearer", "Bearer " + h.key, 200, ""},
				{"Bearer:", "Bearer: " + h.key, 200, ""},
				{"bare key", h.key, 200, ""},
				{"the hook's secret", "Hook " + prod, 200, ""},
				{"another hook's secret", "Hook " + other, 404, `{"error":"Deployment not found","errorCode":"NOT_FOUND"}`},
				{"a wrong hook secret", "Hook lfh_wrong", 404, `{"error":"Deployment not found","errorCode":"NOT_FOUND"}`},
			} {
				t.Run(c.name, func(t *testing.T) {
					status, header, body := callT(t, h, "GET", path, http.Header{"Authorization": {c.auth}})
					if status != c.status || (c.body != "" && strings.TrimSpace(body) != c.body) || header.Get("Content-Type") != "application/json" {
						t.Fatalf("%d %s", status, body)
					}
					if status == 200 {
						var d client.Deployment
						if err := json.Unmarshal([]byte(body), &d); err != nil || d.DeploymentID != id {
							t.Fatalf("body %s: %v", body, err)
						}
					}
				})
			}
			if status, _, body := h.call("GET", "/v1/deployments/cnope", http.Header{"Authorization": {"Bearer " + h.key}}); status != 404 ||
				strings.TrimSpace(body) != `{"error":"Deployment not found","errorCode":"NOT_FOUND"}` {
				t.Fatalf("unknown deployment: %d %s", status, body)
			}
			// A hook secret reads nothing but Get Deployment.
			if status, _, _ := h.call("GET", "/v1/deployments", http.Header{"Authorization": {"Hook " + prod}}); status != 401 {
				t.Fatalf("list with a hook secret: %d", status)
			}
			// Rotation with a grace period keeps the old secret working; without, it stops at once.
			rot, err := h.c.RotateHook(ctx, prodID, time.Hour)
			if err != nil || rot.PreviousSecretExpiresAt == nil || !strings.HasSuffix(rot.URL, "/"+rot.Secret) {
				t.Fatalf("rotate: %+v %v", rot, err)
			}
			if _, err := h.c.WithHookSecret(prod).Deployment(ctx, id); err != nil {
				t.Fatalf("old secret in its grace period: %v", err)
			}
			if _, err := h.c.WithHookSecret(rot.Secret).Deployment(ctx, id); err != nil {
				t.Fatalf("new secret: %v", err)
			}
			if _, err := client.CallHook(ctx, nil, h.srv.URL+fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], prod)); err != nil {
				t.Fatalf("old secret calling the hook in its grace period: %v", err)
			}
			rot2, err := h.c.RotateHook(ctx, prodID, 0)
			if err != nil || rot2.PreviousSecretExpiresAt != nil {
				t.Fatalf("rotate without grace: %+v %v", rot2, err)
			}
			_, err = h.c.WithHookSecret(rot.Secret).Deployment(ctx, id)
			apiError(t, err, 404, "NOT_FOUND", "Deployment not found")
			_, err = client.CallHook(ctx, nil, h.srv.URL+fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], rot.Secret))
			var he *client.HookError
			if !errors.As(err, &he) || he.Status != 404 {
				t.Fatalf("rotated-out secret calling the hook: %v", err)
			}
		})
	}
}

// TestListDeployments pages and filters.
func TestListDeployments(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			preview, _ := h.createHook("preview")
			prod, _ := h.createHook("production")
			var ids []string
			for pr := 1; pr <= 5; pr++ {
				ids = append(ids, h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s/%d/%s", h.env["preview"], preview, pr, strings.Repeat("a", 40)), nil))
			}
			prodID := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], prod), nil)
			var seen []string
			f := client.DeploymentFilter{Limit: 2}
			for {
				page, err := h.c.Deployments(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range page.Deployments {
					seen = append(seen, d.DeploymentID)
				}
				if page.NextCursor == nil {
					break
				}
				f.Cursor = *page.NextCursor
			}
			if len(seen) != 6 || seen[0] != prodID || seen[5] != ids[0] {
				t.Fatalf("pages = %v", seen)
			}
			byPR, err := h.c.Deployments(ctx, client.DeploymentFilter{EnvironmentID: h.env["preview"], PRNumber: 3})
			if err != nil || len(byPR.Deployments) != 1 || byPR.Deployments[0].DeploymentID != ids[2] {
				t.Fatalf("PR 3: %+v %v", byPR, err)
			}
			byEnv, err := h.c.Deployments(ctx, client.DeploymentFilter{EnvironmentID: h.env["production"], Status: "PENDING"})
			if err != nil || len(byEnv.Deployments) != 1 || byEnv.NextCursor != nil {
				t.Fatalf("production PENDING: %+v %v", byEnv, err)
			}
			for _, c := range []struct{ query, msg string }{
				{"status=DONE", "status must be one of PENDING"},
				{"limit=0", "limit must be a positive integer"},
				{"limit=101", "limit must be between 1 and 100"},
				{"cursor=zzz", "cursor is not one this API gave out"},
				{"environmentId=x", "environmentId must be a positive integer"},
				{"prNumber=-1", "prNumber must be a positive integer"},
			} {
				status, _, body := h.call("GET", "/v1/deployments?"+c.query, http.Header{"Authorization": {"Bearer " + h.key}})
				if status != 400 || !strings.Contains(body, c.msg) || !strings.Contains(body, `"errorCode":"VALIDATION_ERROR"`) {
					t.Errorf("%s: %d %s", c.query, status, body)
				}
			}
		})
	}
}

// TestV1Errors checks the JSON answers of unknown paths, wrong methods and
// bad bodies.
func TestV1Errors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", testHooks())
	auth := http.Header{"Authorization": {"Bearer " + h.key}}
	for _, c := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"unknown endpoint", "GET", "/v1/nothing", 404, `"errorCode":"NOT_FOUND"`},
		{"wrong method", "DELETE", "/v1/projects", 405, `"errorCode":"METHOD_NOT_ALLOWED"`},
		{"unknown project", "GET", "/v1/projects/cnope", 404, `{"error":"Project not found","errorCode":"NOT_FOUND"}`},
		{"unknown environment", "GET", "/v1/environments/99999", 404, `{"error":"Environment not found","errorCode":"NOT_FOUND"}`},
		{"non-integer environment", "GET", "/v1/environments/abc", 400, `environmentId must be a positive integer`},
		{"unknown hook", "POST", "/v1/deploy-hooks/cnope/pause", 404, `{"error":"Deploy hook not found","errorCode":"NOT_FOUND"}`},
		{"unknown API key", "DELETE", "/v1/api-keys/cnope", 404, `{"error":"API key not found","errorCode":"NOT_FOUND"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, header, body := callT(t, h, c.method, c.path, auth)
			if status != c.status || !strings.Contains(body, c.body) || header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s", status, body)
			}
			if status == 405 && header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
	post := func(path, body string) (int, string) {
		req, _ := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+h.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.Body)
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		return resp.StatusCode, string(buf[:n])
	}
	for _, c := range []struct{ name, path, body, msg string }{
		{"invalid JSON", "/v1/projects", `{"name":`, "not valid JSON"},
		{"unknown field", "/v1/projects", `{"name":"x","repo":"y"}`, `unknown field \"repo\"`},
		{"wrong type", "/v1/api-keys", `{"name":5}`, "name must be a JSON string"},
		{"missing name", "/v1/api-keys", `{}`, "name must be 1 to 100 characters"},
		{"missing repo", "/v1/projects", `{"name":"x"}`, "repoUrl is required"},
		{"bad repo", "/v1/projects", `{"name":"x","repoUrl":"/does/not/exist"}`, "local repository /does/not/exist does not exist"},
		{"loopback repo", "/v1/projects", `{"name":"x","repoUrl":"https://127.0.0.1:1/o/r.git"}`, "127.0.0.1 is a loopback address"},
		{"hook name", fmt.Sprintf("/v1/environments/%d/deploy-hooks", h.env["production"]), `{"name":"  "}`, "name must be 1 to 100 characters"},
		{"grace too long", "/v1/deploy-hooks/x/rotate", `{"gracePeriodSeconds": 99999999}`, "gracePeriodSeconds must be between 0 and"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(c.path, c.body)
			if status != 400 || !strings.Contains(body, c.msg) || !strings.Contains(body, "VALIDATION_ERROR") {
				t.Fatalf("%d %s", status, body)
			}
		})
	}
}

// TestProjects creates projects from real repositories and syncs them.
func TestProjects(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			p := h.project
			if len(p.Environments) != 4 || p.ConfigPath != "liftoff.json" || p.DefaultBranch != "main" || p.ConfigCommit != h.repo.Head() ||
				!strings.Contains(strings.Join(p.Warnings, "\n"), `"db" has type "rds"`) {
				t.Fatalf("project = %+v", p)
			}
			env, err := h.c.Environment(ctx, h.env["production"])
			if err != nil || len(env.Services) != 2 || env.Services[0].ServiceGivenID != "api" || env.Branch == nil || *env.Branch != "main" {
				t.Fatalf("environment = %+v, %v", env, err)
			}
			pv, _ := h.c.Environment(ctx, h.env["preview"])
			if !pv.IsPreviewEnvironment || pv.Branch != nil {
				t.Fatalf("preview environment = %+v", pv)
			}
			created, err := h.c.CreateHook(ctx, h.env["preview"], "GitHub Actions")
			if err != nil || !strings.HasSuffix(created.URL, fmt.Sprintf("/api/deploy-hook/%d/%s/{prNumber}/{commitSHA}", h.env["preview"], created.Secret)) ||
				!strings.HasPrefix(created.Secret, "lfh_") {
				t.Fatalf("preview hook = %+v, %v", created, err)
			}
			hooks, err := h.c.Hooks(ctx, h.env["preview"])
			if err != nil || len(hooks) != 1 || hooks[0].Name != "GitHub Actions" || hooks[0].LastUsedAt != nil {
				t.Fatalf("hooks = %+v, %v", hooks, err)
			}

			// Sync: a new environment gets a new id; existing ones keep theirs.
			h.repo.Commit("add qa", map[string]string{"liftoff.json": strings.Replace(testConfig, `"environments": [`,
				`"environments": [{"id": "qa", "name": "QA", "source": {"branch": "qa"}, "services": [{"id": "api", "name": "API", "type": "worker", "startCommand": "x"}]},`, 1)})
			synced, err := h.c.SyncProject(ctx, p.ProjectID)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]int64{}
			for _, e := range synced.Environments {
				ids[e.GivenID] = e.EnvironmentID
			}
			for given, id := range h.env {
				if ids[given] != id {
					t.Fatalf("%s changed id from %d to %d", given, id, ids[given])
				}
			}
			if ids["qa"] == 0 || ids["qa"] <= h.env["data"] || synced.ConfigCommit != h.repo.Head() {
				t.Fatalf("qa = %d; synced = %+v", ids["qa"], synced)
			}

			// flightcontrol.json is read when there is no liftoff.json.
			fc := gittest.New(t)
			fc.Commit("fc", map[string]string{"flightcontrol.json": `{"environments":[{"id":"production","name":"P","region":"us-east-1","source":{"branch":"main"},"services":[{"id":"web","name":"Web","type":"web","cpu":0.5,"memory":1,"startCommand":"x"}]}]}`})
			got, err := h.c.CreateProject(ctx, "fc", fc.Dir, "")
			if err != nil || got.ConfigPath != "flightcontrol.json" || len(got.Warnings) < 2 {
				t.Fatalf("flightcontrol.json project = %+v, %v", got, err)
			}
			// An invalid config is refused with every problem and its path.
			bad := gittest.New(t)
			bad.Commit("bad", map[string]string{"liftoff.json": `{"environments":[{"id":"p","name":"P","source":{"branch":"main"},"services":[{"id":"a","name":"A","type":"banana"},{"id":"b","name":"B","type":"web","port":"x"}]}]}`})
			_, err = h.c.CreateProject(ctx, "bad", bad.Dir, "")
			apiError(t, err, 400, "VALIDATION_ERROR", "/environments/0/services/0/type")
			apiError(t, err, 400, "VALIDATION_ERROR", "/environments/0/services/1/port")
			empty := gittest.New(t)
			empty.Commit("nothing", map[string]string{"README": "x"})
			_, err = h.c.CreateProject(ctx, "empty", empty.Dir, "")
			apiError(t, err, 400, "VALIDATION_ERROR", "neither liftoff.json nor flightcontrol.json was found")
			_, err = h.c.CreateProject(ctx, "custom", empty.Dir, "deploy/liftoff.json")
			apiError(t, err, 400, "VALIDATION_ERROR", "deploy/liftoff.json was not found on the default branch main")
			_, err = h.c.CreateProject(ctx, "escape", empty.Dir, "../x.json")
			apiError(t, err, 400, "VALIDATION_ERROR", "must be a path to a .json file inside the repository")
			list, err := h.c.Projects(ctx)
			if err != nil || len(list) != 2 {
				t.Fatalf("projects = %d, %v", len(list), err)
			}
		})
	}
}

// TestProjectSlugs: every project gets a slug for its host names, derived
// from its name or chosen; a slug another project has is refused with 409
// naming both projects.
func TestProjectSlugs(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			if h.project.Slug != "shop" {
				t.Fatalf("slug of project shop = %q", h.project.Slug)
			}
			_, err := h.c.CreateProject(ctx, "Shop!", h.repo.Dir, "")
			apiError(t, err, 409, "CONFLICT", `project "Shop!" would serve at <service>.<environment>.shop.localhost, which project "shop" (`+h.project.ProjectID+`) already uses`)
			other, err := h.c.CreateProjectWith(ctx, client.NewProject{Name: "Shop!", Slug: "shop-eu", RepoURL: h.repo.Dir})
			if err != nil || other.Slug != "shop-eu" {
				t.Fatalf("project with a chosen slug = %+v, %v", other, err)
			}
			got, err := h.c.Project(ctx, other.ProjectID)
			if err != nil || got.Slug != "shop-eu" {
				t.Fatalf("get = %+v, %v", got, err)
			}
			_, err = h.c.CreateProjectWith(ctx, client.NewProject{Name: "x", Slug: "Not_A.Label", RepoURL: h.repo.Dir})
			apiError(t, err, 400, "VALIDATION_ERROR", `slug "Not_A.Label" must be 1 to 63 lowercase letters`)
			derived, err := h.c.CreateProject(ctx, "  Ma Boutique (EU) ", h.repo.Dir, "")
			if err != nil || derived.Slug != "ma-boutique-eu" {
				t.Fatalf("derived slug = %+v, %v", derived, err)
			}
		})
	}
}
