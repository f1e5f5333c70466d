package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/liftoffhq/liftoff/client"
)

// fakeServer answers the reads target resolution makes, with two projects
// that both have a "production" environment (the demo's and the user's),
// and records the paths of the changes it is asked for.
type fakeServer struct {
	*httptest.Server
	mu    sync.Mutex
	posts []string
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	branch := "main"
	projects := []client.Project{
		{ProjectID: "p-demo", Name: "demo", Environments: []client.EnvironmentSummary{
			{EnvironmentID: 1, GivenID: "production", Name: "Production", Branch: &branch},
			{EnvironmentID: 2, GivenID: "preview", Name: "Preview", IsPreviewEnvironment: true}}},
		{ProjectID: "p-shop", Name: "shop", Environments: []client.EnvironmentSummary{
			{EnvironmentID: 3, GivenID: "production", Name: "Production", Branch: &branch},
			{EnvironmentID: 4, GivenID: "staging", Name: "Staging", Branch: &branch}}},
	}
	f := &fakeServer{}
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /v1/projects", func(w http.ResponseWriter, _ *http.Request) {
		write(w, 200, map[string]any{"projects": projects})
	})
	mux.HandleFunc("GET /v1/projects/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, p := range projects {
			if p.ProjectID == r.PathValue("id") {
				write(w, 200, p)
				return
			}
		}
		write(w, 404, client.ErrorBody{Error: "Project not found", ErrorCode: "NOT_FOUND"})
	})
	mux.HandleFunc("GET /v1/environments/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, p := range projects {
			for _, e := range p.Environments {
				if r.PathValue("id") == jsonInt(e.EnvironmentID) {
					write(w, 200, client.Environment{EnvironmentSummary: e, ProjectID: p.ProjectID})
					return
				}
			}
		}
		write(w, 404, client.ErrorBody{Error: "Environment not found", ErrorCode: "NOT_FOUND"})
	})
	mux.HandleFunc("POST /v1/environments/{id}/deploy-hooks", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.posts = append(f.posts, r.URL.Path)
		f.mu.Unlock()
		id, _ := positiveInt(r.PathValue("id"))
		write(w, 201, client.CreatedHook{ID: "h1", EnvironmentID: id, Name: "CI", URL: "http://x/api/deploy-hook/" + r.PathValue("id") + "/lfh_s"})
	})
	var polls int
	mux.HandleFunc("POST /v1/environments/{id}/deployments", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.posts = append(f.posts, r.URL.Path)
		f.mu.Unlock()
		id, _ := positiveInt(r.PathValue("id"))
		write(w, 201, client.StartedDeployment{Outcome: "queued", Deployment: client.Deployment{DeploymentID: "dep" + r.PathValue("id"),
			EnvironmentID: id, Status: "PENDING"}})
	})
	mux.HandleFunc("GET /v1/deployments/{id}", func(w http.ResponseWriter, r *http.Request) {
		// dep3 succeeds, dep4 fails; each ends on the second poll.
		f.mu.Lock()
		polls++
		n := polls
		f.mu.Unlock()
		d := client.Deployment{DeploymentID: r.PathValue("id"), Status: "BUILDING"}
		url := "http://api.production.shop.localhost:8000"
		svc := client.ServiceDeployment{ServiceDeploymentID: "sd1", Service: client.ServiceRef{ServiceGivenID: "api", ServiceDomain: &url}, Status: "BUILDING"}
		if n%2 == 0 {
			d.Status, svc.Status = "SUCCESS", "SUCCESS"
			if d.DeploymentID == "dep4" {
				d.Status, svc.Status = "BUILD_ERROR", "BUILD_ERROR"
				svc.Error = []map[string]string{{"BUILD_ERROR": "go build failed"}}
			}
		}
		d.ServiceDeployments = []client.ServiceDeployment{svc}
		write(w, 200, d)
	})
	mux.HandleFunc("GET /v1/deployments/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("follow") == "true" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte("id: 1\ndata: [api] go build ./...\n\nid: 2\ndata: [deploy] released\n\nevent: end\ndata: SUCCESS\n\n"))
			return
		}
		_, _ = w.Write([]byte("[api] go build ./...\n[deploy] released\n"))
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func (f *fakeServer) posted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.posts...)
}

func TestHooksCreateNamesItsEnvironment(t *testing.T) {
	f := newFakeServer(t)
	cli := func(args ...string) (string, error) {
		return run(t, append(args, "--server", f.URL, "--api-key", "lfk_x")...)
	}
	out, err := cli("hooks", "create", "--project", "shop", "--env", "production", "--name", "CI")
	if err != nil || !strings.Contains(out, `Created deploy hook "CI" (h1) for shop/production (environment 3).`) {
		t.Errorf("--project shop --env production: %v\n%s", err, out)
	}
	// The project by id, the environment by its integer id.
	out, err = cli("hooks", "create", "--project", "p-shop", "--env", "4", "--name", "CI")
	if err != nil || !strings.Contains(out, "for shop/staging (environment 4)") {
		t.Errorf("--project p-shop --env 4: %v\n%s", err, out)
	}
	// The integer id alone still works, and says whose it is.
	out, err = cli("hooks", "create", "--env", "1", "--name", "CI")
	if err != nil || !strings.Contains(out, "for demo/production (environment 1)") {
		t.Errorf("--env 1: %v\n%s", err, out)
	}
	// A given id one project has needs no --project.
	out, err = cli("hooks", "create", "--env", "staging", "--name", "CI", "--json")
	var got map[string]any
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got["projectId"] != "p-shop" || got["projectName"] != "shop" ||
		got["environmentId"] != float64(4) || got["environmentGivenId"] != "staging" || got["url"] == nil {
		t.Errorf("--env staging --json: %v\n%s", err, out)
	}
	if p := f.posted(); strings.Join(p, " ") != "/v1/environments/3/deploy-hooks /v1/environments/4/deploy-hooks /v1/environments/1/deploy-hooks /v1/environments/4/deploy-hooks" {
		t.Errorf("hooks created at %v", p)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--env", "production"}, "--env production is ambiguous: demo/production (environment 1), shop/production (environment 3); " +
			"say which with --project (--project demo --env production) or use the integer id"},
		{[]string{"--project", "shop", "--env", "prod"}, `project shop has no environment "prod"; its environments are production (3), staging (4)`},
		{[]string{"--project", "shop", "--env", "1"}, `project shop has no environment "1"; its environments are production (3), staging (4)`},
		{[]string{"--project", "shp", "--env", "production"}, `no project "shp"; the projects are demo (p-demo), shop (p-shop)`},
		{[]string{"--env", "qa"}, `no environment "qa"; the environments are demo/production (environment 1), demo/preview (environment 2), ` +
			`shop/production (environment 3), shop/staging (environment 4)`},
		{[]string{"--env", "9"}, "no environment 9 (liftoff envs list shows them)"},
	} {
		_, err := cli(append([]string{"hooks", "create", "--name", "CI"}, c.args...)...)
		if err == nil || err.Error() != c.want {
			t.Errorf("%v: %v\nwant %s", c.args, err, c.want)
		}
	}
	if n := len(f.posted()); n != 4 {
		t.Errorf("a refused command created a hook: %d hooks", n)
	}
}

func TestEnvsList(t *testing.T) {
	f := newFakeServer(t)
	out, err := run(t, "envs", "list", "--server", f.URL, "--api-key", "lfk_x")
	for _, want := range []string{"demo     1       production", "demo     2       preview     Preview     pull requests", "shop     4       staging     Staging     branch main"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("envs list: %v, want %q in\n%s", err, want, out)
		}
	}
	out, err = run(t, "envs", "list", "--project", "shop", "--json", "--server", f.URL, "--api-key", "lfk_x")
	var items []envListItem
	if err != nil || json.Unmarshal([]byte(out), &items) != nil || len(items) != 2 || items[0].ProjectName != "shop" ||
		items[0].EnvironmentID != 3 || items[1].GivenID != "staging" {
		t.Errorf("envs list --project shop --json: %v\n%s", err, out)
	}
	if _, err := run(t, "envs", "list", "--project", "nope", "--server", f.URL, "--api-key", "lfk_x"); err == nil ||
		err.Error() != `no project "nope"; the projects are demo (p-demo), shop (p-shop)` {
		t.Errorf("envs list --project nope: %v", err)
	}
}

// jsonLines decodes output that must be one JSON object a line.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q (%v)\n%s", l, err, out)
		}
		got = append(got, m)
	}
	return got
}

func TestDeployWatchJSONLines(t *testing.T) {
	f := newFakeServer(t)
	out, err := run(t, "deploy", "--project", "shop", "--env", "production", "--watch", "--json", "--server", f.URL, "--api-key", "lfk_x")
	if err != nil {
		t.Fatalf("deploy --watch of a deployment that succeeds: %v\n%s", err, out)
	}
	var types []string
	for _, ev := range jsonLines(t, out) {
		types = append(types, ev["type"].(string)+":"+ev["status"].(string))
		if ev["deploymentId"] != "dep3" || ev["time"] == "" {
			t.Errorf("event %v", ev)
		}
	}
	if strings.Join(types, " ") != "deployment:BUILDING service:BUILDING deployment:SUCCESS service:SUCCESS end:SUCCESS" {
		t.Errorf("events %v\n%s", types, out)
	}
	if p := f.posted(); len(p) != 1 || p[0] != "/v1/environments/3/deployments" {
		t.Errorf("deployments started at %v", p)
	}

	// A deployment that fails: the exit status says so.
	out, err = run(t, "deploy", "--project", "shop", "--env", "staging", "--watch", "--server", f.URL, "--api-key", "lfk_x")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "Deployment dep4 of shop/staging (environment 4) (queued)") ||
		!strings.Contains(out, "api: BUILD_ERROR: go build failed") {
		t.Errorf("deploy --watch of a failing deployment: %v\n%s", err, out)
	}
	// Without --watch it prints the id and how to follow it.
	out, err = run(t, "deploy", "--env", "3", "--server", f.URL, "--api-key", "lfk_x")
	if err != nil || !strings.Contains(out, "Queued deployment dep3 of shop/production (environment 3).") {
		t.Errorf("deploy: %v\n%s", err, out)
	}
}

func TestLogsJSONLines(t *testing.T) {
	f := newFakeServer(t)
	for _, follow := range []bool{false, true} {
		args := []string{"deployments", "logs", "dep3", "--json", "--server", f.URL, "--api-key", "lfk_x"}
		if follow {
			args = append(args, "--follow")
		}
		out, err := run(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		evs := jsonLines(t, out)
		if len(evs) < 2 || evs[0]["type"] != "log" || evs[0]["service"] != "api" || evs[0]["text"] != "go build ./..." ||
			evs[1]["service"] != "deploy" || evs[1]["text"] != "released" {
			t.Errorf("logs --json (follow %v):\n%s", follow, out)
		}
		if follow && (len(evs) != 3 || evs[2]["type"] != "end" || evs[2]["status"] != "SUCCESS") {
			t.Errorf("logs --json --follow ends with %v", evs[len(evs)-1])
		}
	}
}
