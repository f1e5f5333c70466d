package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

const e2eConfig = `{
  "environments": [
    {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
      {"id": "api", "name": "API", "type": "web", "watchPaths": ["api/**"], "startCommand": "./api"},
      {"id": "site", "name": "Site", "type": "static", "watchPaths": ["site/**"], "buildCommand": "true"}
    ]},
    {"id": "staging", "name": "Staging", "source": {"branch": "develop"}, "services": [
      {"id": "api", "name": "API", "type": "web", "startCommand": "./api"}
    ]},
    {"id": "preview", "name": "Preview", "source": {"pr": true}, "services": [
      {"id": "api", "name": "API", "type": "web", "startCommand": "./api"}
    ]}
  ]
}`

// TestHooksEndToEnd: the real binary on a temp data dir creates a project
// from a temp git repository with two environments and a preview
// environment; hooks are made through the API; both hook URLs are called
// over HTTP; the deployments are read back with Get Deployment, with an API
// key and with the hook's own secret; the access log never shows a secret.
func TestHooksEndToEnd(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			flags := storeFlags(t, dialect, t.TempDir())
			key := bootstrapKey(t, flags)
			logs := &logLines{}
			// No engine: this test is about the hook contract, and its
			// deployments must stay PENDING to be joined.
			flags = append(flags, "--workers", "-1")
			srv := start(t, flags, logs)
			c := client.New(srv.url(), key)

			repo := gittest.New(t)
			repo.Commit("monorepo", map[string]string{"liftoff.json": e2eConfig, "api/main.go": "package main", "site/index.html": "<h1>hi</h1>"})
			p, err := c.CreateProject(ctx, "shop", repo.Dir, "")
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]int64{}
			for _, e := range p.Environments {
				env[e.GivenID] = e.EnvironmentID
			}
			if len(env) != 3 || p.Environments[2].IsPreviewEnvironment != true {
				t.Fatalf("environments = %+v", p.Environments)
			}
			prodHook, err := c.CreateHook(ctx, env["production"], "CI")
			if err != nil {
				t.Fatal(err)
			}
			previewHook, err := c.CreateHook(ctx, env["preview"], "GitHub Actions")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(prodHook.URL, srv.url()+"/api/deploy-hook/") || !strings.HasSuffix(previewHook.URL, "/{prNumber}/{commitSHA}") {
				t.Fatalf("hook URLs %s and %s", prodHook.URL, previewHook.URL)
			}

			// Call both hooks with a plain HTTP client, as CI and cron do.
			prodID := callHook(t, prodHook.URL+"?force=true")
			sha := repo.Head()
			previewURL := strings.NewReplacer("{prNumber}", "7", "{commitSHA}", sha).Replace(previewHook.URL)
			previewID := callHook(t, previewURL)

			d, err := c.Deployment(ctx, prodID)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != "PENDING" || !d.Force || d.EnvironmentGivenID != "production" || d.Trigger.HookName == nil || *d.Trigger.HookName != "CI" {
				t.Fatalf("production deployment = %+v", d)
			}
			pd, err := c.WithHookSecret(previewHook.Secret).Deployment(ctx, previewID)
			if err != nil {
				t.Fatal(err)
			}
			if !pd.IsPreviewEnvironment || pd.PRNumber == nil || *pd.PRNumber != 7 || pd.EnvironmentID != env["preview"] {
				t.Fatalf("preview deployment = %+v", pd)
			}
			// The preview hook's secret cannot read production's deployment.
			if _, err := c.WithHookSecret(previewHook.Secret).Deployment(ctx, prodID); err == nil {
				t.Fatal("a hook secret read another hook's deployment")
			}

			// A restart keeps everything; then a clean stop.
			if err := srv.stop(); err != nil {
				t.Fatalf("graceful stop: %v", err)
			}
			srv = start(t, flags, logs)
			c = client.New(srv.url(), key)
			if d, err := c.Deployment(ctx, prodID); err != nil || d.DeploymentID != prodID {
				t.Fatalf("after restart: %+v %v", d, err)
			}
			// The old URL's address changed with the port; the path still works.
			rebased := srv.url() + prodHook.URL[strings.Index(prodHook.URL, "/api/"):]
			if again := callHook(t, rebased); again != prodID {
				t.Fatalf("call after restart made %s, want it to join %s", again, prodID)
			}
			if err := srv.stop(); err != nil {
				t.Fatal(err)
			}

			// No log line holds a secret, whatever happened above.
			all := strings.Join(logs.all(), "\n")
			for _, secret := range []string{prodHook.Secret, previewHook.Secret, key} {
				if strings.Contains(all, secret) {
					t.Fatalf("a secret reached the log")
				}
			}
			if !strings.Contains(all, "/api/deploy-hook/") || !strings.Contains(all, "[REDACTED]") {
				t.Fatalf("the access log does not show hook calls:\n%s", all)
			}
			if strings.Contains(all, "lfh_") || strings.Contains(all, "lfk_") {
				t.Fatalf("something shaped like a secret reached the log")
			}
		})
	}
}

func callHook(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	var a client.HookAnswer
	if resp.StatusCode != 200 || json.Unmarshal(body, &a) != nil || a.Success != "true" || len(a.DeploymentID) != 25 {
		t.Fatalf("hook call: %d %s", resp.StatusCode, body)
	}
	return a.DeploymentID
}

// TestCrashKeepsEveryAnsweredDeployment: clients call a hook concurrently
// while the server is killed with SIGKILL. Every deployment id a client
// received exists after the restart.
func TestCrashKeepsEveryAnsweredDeployment(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			flags := storeFlags(t, dialect, t.TempDir())
			key := bootstrapKey(t, flags)
			logs := &logLines{}
			// Every call is a new PR: no limit of live previews.
			srv := start(t, append(flags, "--hook-rate-limit", "100000", "--workers", "-1", "--max-previews-per-environment", "-1"), logs)
			c := client.New(srv.url(), key)
			repo := gittest.New(t)
			repo.Commit("init", map[string]string{"liftoff.json": e2eConfig})
			p, err := c.CreateProject(ctx, "shop", repo.Dir, "")
			if err != nil {
				t.Fatal(err)
			}
			var previewEnv int64
			for _, e := range p.Environments {
				if e.IsPreviewEnvironment {
					previewEnv = e.EnvironmentID
				}
			}
			h, err := c.CreateHook(ctx, previewEnv, "load")
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var answered []string
			var wg sync.WaitGroup
			killed := make(chan struct{})
			for w := range 8 {
				wg.Go(func() {
					for i := 0; ; i++ {
						url := strings.NewReplacer("{prNumber}", fmt.Sprint(w*100000+i+1), "{commitSHA}", strings.Repeat("a", 40)).Replace(h.URL)
						id, err := client.CallHook(ctx, nil, url)
						if err != nil {
							select {
							case <-killed:
								return
							default:
								t.Errorf("call before the crash failed: %v", err)
								return
							}
						}
						mu.Lock()
						answered = append(answered, id)
						n := len(answered)
						mu.Unlock()
						if n == 200 {
							close(killed)
							srv.kill()
						}
					}
				})
			}
			wg.Wait()
			srv = start(t, flags, logs)
			c = client.New(srv.url(), key)
			for _, id := range answered {
				if _, err := c.Deployment(ctx, id); err != nil {
					t.Fatalf("deployment %s was answered before the crash and is gone: %v", id, err)
				}
			}
			t.Logf("%d answered deployments all survived a SIGKILL", len(answered))
		})
	}
}
