package e2e

import (
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
)

// TestRolesSplitTheWork: on one PostgreSQL, a replica with --role api
// takes the hook call and runs nothing; a replica with --role worker runs
// the deployment and serves its release through its proxy, and on its
// --addr answers its probes and metrics but not the API.
func TestRolesSplitTheWork(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, "postgres", "--role", "api", "--workers", "-1")
	i := slices.Index(f.flags, "--database-url")
	worker := start(t, []string{"--role", "worker", "--workers", "2", "--data-dir", t.TempDir(), "--database-url", f.flags[i+1],
		"--secret-key-file", filepath.Join(f.flags[slices.Index(f.flags, "--data-dir")+1], "secret.key")}, &logLines{})

	d := f.deploy("")
	if d.Status != "SUCCESS" {
		t.Fatalf("the deployment ended %s", d.Status)
	}
	get := func(base, path, host string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	// The worker serves the release; the API replica's proxy has none.
	if status := get("http://"+worker.proxy, "/", "api.production.localhost"); status != 200 {
		t.Errorf("the worker's proxy answers %d for the api", status)
	}
	if status, _ := f.get("api", "/"); status != 404 {
		t.Errorf("the API replica's proxy answers %d for the api, which it does not run", status)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/v1/projects": 404, "/projects": 404} {
		if status := get(worker.url(), path, ""); status != want {
			t.Errorf("the worker's %s answers %d, want %d", path, status, want)
		}
	}
	if w := scrape(t, worker.url()+"/metrics")["liftoff_workers"]; w != 2 {
		t.Errorf("the worker reports %v workers, want 2", w)
	}
	if w := scrape(t, f.srv.url()+"/metrics")["liftoff_workers"]; w != 0 {
		t.Errorf("the API replica reports %v workers, want none", w)
	}
	if n := scrape(t, worker.url()+"/metrics")[`liftoff_deployments_finished_total{status="SUCCESS"}`]; n != 1 {
		t.Errorf("the worker reports %v deployments finished SUCCESS, want 1", n)
	}
}
