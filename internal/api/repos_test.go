package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/repoaccess"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// raw sends a request with a JSON body and an Authorization header, and
// returns the status and the body as it came.
func raw(t *testing.T, base, method, path, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// bareRepo makes root/name.git from a repository with the test config,
// and returns the repository to commit more to.
func bareRepo(t *testing.T, root, name string) *gittest.Repo {
	t.Helper()
	r := gittest.New(t)
	r.Commit("init", map[string]string{"liftoff.json": testConfig, "api/main.go": "package main"})
	r.Git("clone", "-q", "--bare", r.Dir, filepath.Join(root, name+".git"))
	return r
}

// TestRepoCredentialNeverShown creates a project from a private repository
// served over HTTP with basic authentication, its token in repoUrl: no
// answer (create, get, list, Get Deployment read with a hook secret), no
// stored row, no file of the mirror and no log line shows the token, and
// git still fetches with it (a sync reads a new config).
func TestRepoCredentialNeverShown(t *testing.T) {
	t.Parallel()
	const user, token = "x-access-token", "ghp_U2VjcmV0VG9rZW5PZkFjbWU"
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			root := t.TempDir()
			src := bareRepo(t, root, "private")
			srv := gittest.NewHTTPServer(t, root, user, token)
			plain := srv.URL + "/private.git"
			withToken := strings.Replace(plain, "http://", "http://"+user+":"+token+"@", 1)
			// The server is on 127.0.0.1: the operator names it.
			h := newHarnessAllowing(t, dialect, testHooks(), srv.URL+"/*")
			base, bearer := h.srv.URL, "Bearer "+h.key

			noToken := func(what, s string) {
				t.Helper()
				if strings.Contains(s, token) {
					t.Errorf("%s shows the token: %s", what, s)
				}
			}
			status, body := raw(t, base, "POST", "/v1/projects", bearer, `{"name":"private","repoUrl":"`+withToken+`"}`)
			if status != 201 {
				t.Fatalf("create: %d %s", status, body)
			}
			noToken("POST /v1/projects", body)
			var p client.Project
			if err := json.Unmarshal([]byte(body), &p); err != nil || p.RepoURL != plain {
				t.Fatalf("create answered repoUrl %q, %v; want %q", p.RepoURL, err, plain)
			}
			for _, path := range []string{"/v1/projects", "/v1/projects/" + p.ProjectID} {
				status, body := raw(t, base, "GET", path, bearer, "")
				if status != 200 || !strings.Contains(body, plain) {
					t.Fatalf("GET %s: %d %s", path, status, body)
				}
				noToken("GET "+path, body)
			}

			// A hook call stores a deployment; its reader sees the URL bare.
			var prod int64
			for _, e := range p.Environments {
				if e.GivenID == "production" {
					prod = e.EnvironmentID
				}
			}
			created, err := h.c.CreateHook(ctx, prod, "CI")
			if err != nil {
				t.Fatal(err)
			}
			status, body = raw(t, base, "GET", created.URL[strings.Index(created.URL, "/api/"):], "", "")
			var answer struct{ DeploymentID string }
			if status != 200 || json.Unmarshal([]byte(body), &answer) != nil {
				t.Fatalf("hook call: %d %s", status, body)
			}
			status, body = raw(t, base, "GET", "/v1/deployments/"+answer.DeploymentID, "Hook "+created.Secret, "")
			if status != 200 || !strings.Contains(body, `"repoUrl":"`+plain+`"`) {
				t.Fatalf("Get Deployment with the hook secret: %d %s", status, body)
			}
			noToken("Get Deployment", body)
			d, err := h.store.GetDeployment(ctx, store.GetDeploymentParams{ID: answer.DeploymentID})
			if err != nil || d.RepoURL != plain {
				t.Fatalf("deployments row: repo_url %q, %v", d.RepoURL, err)
			}
			stored, err := h.store.GetProject(ctx, store.GetProjectParams{ID: p.ProjectID})
			if err != nil || stored.RepoURL != plain {
				t.Fatalf("projects row: repo_url %q, %v", stored.RepoURL, err)
			}
			// Kept sealed: the database holds no token.
			if cred, err := h.store.GetRepoCredential(ctx, store.GetRepoCredentialParams{ProjectID: p.ProjectID}); err != nil ||
				!strings.HasPrefix(cred.Userinfo, "sealed:v1:") || strings.Contains(cred.Userinfo, token) {
				t.Fatalf("the credential was not kept sealed: %v", err)
			}

			// git fetches with it: a new environment appears on sync.
			src.Commit("add qa", map[string]string{"liftoff.json": strings.Replace(testConfig, `"environments": [`,
				`"environments": [{"id": "qa", "name": "QA", "source": {"branch": "main"}, "services": [{"id": "api", "name": "API", "type": "web", "startCommand": "./api"}]},`, 1)})
			src.Git("push", "-q", filepath.Join(root, "private.git"), "main")
			status, body = raw(t, base, "POST", "/v1/projects/"+p.ProjectID+"/sync", bearer, "")
			if status != 200 || !strings.Contains(body, `"givenId":"qa"`) {
				t.Fatalf("sync: %d %s", status, body)
			}
			noToken("sync", body)
			if srv.Unauthorized.Load() != 0 || srv.Authorized.Load() == 0 {
				t.Errorf("the server saw %d requests without the credential and %d with it", srv.Unauthorized.Load(), srv.Authorized.Load())
			}

			mirror := filepath.Join(h.mirrors, p.ProjectID+".git")
			config, err := os.ReadFile(filepath.Join(mirror, "config"))
			if err != nil {
				t.Fatal(err)
			}
			noToken("the mirror's config", string(config))
			out, err := exec.Command("git", "--git-dir="+mirror, "remote", "-v").CombinedOutput()
			if err != nil || !strings.Contains(string(out), plain) {
				t.Fatalf("git remote -v: %v %s", err, out)
			}
			noToken("git remote -v", string(out))
			noToken("the log", h.logs.String())
		})
	}
}

// TestRelativeRepoURLStoredAbsolute: a relative path is resolved against
// the working directory when the project is created, and stored absolute,
// so a later start from another directory finds the same repository.
func TestRelativeRepoURLStoredAbsolute(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			wd, err := os.Getwd()
			if err != nil {
				t.Fatal(err)
			}
			rel, err := filepath.Rel(wd, h.repo.Dir)
			if err != nil || filepath.IsAbs(rel) {
				t.Fatalf("no relative path to %s: %q %v", h.repo.Dir, rel, err)
			}
			for name, in := range map[string]string{"relative": rel, "file URL": "file://localhost" + h.repo.Dir + "/./"} {
				p, err := h.c.CreateProject(ctx, name, in, "")
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := h.repo.Dir
				if name == "file URL" {
					want = "file://" + h.repo.Dir
				}
				stored, err := h.store.GetProject(ctx, store.GetProjectParams{ID: p.ProjectID})
				if p.RepoURL != want || err != nil || stored.RepoURL != want {
					t.Errorf("%s %q: answered %q, stored %q (%v); want %q", name, in, p.RepoURL, stored.RepoURL, err, want)
				}
			}
		})
	}
}

// TestDefaultRepoRefusals runs an API with the default repository policy
// (no --allowed-repos): a repository under the data dir's repos/ is
// allowed; a local path elsewhere, the loopback, the cloud metadata
// address and a name resolving to loopback are refused with 400, before
// git reads anything.
func TestDefaultRepoRefusals(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, dialect)
			dataDir := t.TempDir()
			reposDir := filepath.Join(dataDir, "repos")
			policy, err := repoaccess.New(repoaccess.Config{LocalRoots: []string{reposDir}})
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.DiscardHandler)
			git := gitsource.NewManager(filepath.Join(dataDir, "mirrors"), log, policy)
			keys := apikey.NewService(st, cuid.New)
			vars := variablesOn(t, st)
			a := api.New(api.Deps{Deployments: deploymentsOn(st), Variables: vars, Projects: project.NewService(st, git, vars.Keys, log, cuid.New), APIKeys: keys, Log: log,
				Hooks: newHooks(t, st, hook.NewRecorder(st, 0, log), testHooks(), log)})
			srv := httptest.NewServer(a)
			t.Cleanup(srv.Close)
			_, key, err := keys.Create(context.Background(), apikey.CreateParams{Name: "test"})
			if err != nil {
				t.Fatal(err)
			}

			// Real repositories, so that only the policy can refuse them.
			if err := os.MkdirAll(reposDir, 0o700); err != nil {
				t.Fatal(err)
			}
			bareRepo(t, reposDir, "shop")
			elsewhere := gittest.New(t)
			elsewhere.Commit("init", map[string]string{"liftoff.json": testConfig})
			httpRoot := t.TempDir()
			bareRepo(t, httpRoot, "shop")
			gitSrv := gittest.NewHTTPServer(t, httpRoot, "u", "p")
			port := gitSrv.URL[strings.LastIndexByte(gitSrv.URL, ':')+1:]

			created := 0
			create := func(repoURL string) (int, string) {
				created++
				return raw(t, srv.URL, "POST", "/v1/projects", "Bearer "+key, fmt.Sprintf(`{"name":"x%d","repoUrl":%q}`, created, repoURL))
			}
			if status, body := create(filepath.Join(reposDir, "shop.git")); status != 201 {
				t.Fatalf("a repository under the data dir's repos/ was refused: %d %s", status, body)
			}
			for _, tc := range []struct{ name, url, says string }{
				{"local path outside repos", elsewhere.Dir, "only under " + reposDir},
				{"file URL outside repos", "file://" + elsewhere.Dir, "only under " + reposDir},
				{"loopback", "http://u:p@127.0.0.1:" + port + "/shop.git", "127.0.0.1 is a loopback address"},
				{"cloud metadata", "http://169.254.169.254/latest/shop.git", "169.254.169.254 is a link-local (cloud metadata) address"},
				{"name resolving to loopback", "http://localhost:" + port + "/shop.git", "localhost resolves to"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					status, body := create(tc.url)
					if status != 400 || !strings.Contains(body, "VALIDATION_ERROR") || !strings.Contains(body, tc.says) ||
						!strings.Contains(body, "--allowed-repos") || strings.Contains(body, "u:p@") {
						t.Fatalf("%s: %d %s\nwant 400 VALIDATION_ERROR saying %q and naming --allowed-repos", tc.url, status, body, tc.says)
					}
				})
			}
			if n := gitSrv.Authorized.Load() + gitSrv.Unauthorized.Load(); n != 0 {
				t.Errorf("git reached the refused server %d times", n)
			}
			if ps, err := st.ListProjects(context.Background()); err != nil || len(ps) != 1 {
				t.Errorf("projects after the refusals: %+v, %v; want the one allowed", ps, err)
			}
		})
	}
}

// TestConfigReadFromTheDefaultBranch: creating a project reads the config
// from the default branch itself, not from a tag of the same name (git's
// name lookup prefers refs/tags/main to refs/heads/main).
func TestConfigReadFromTheDefaultBranch(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			r := gittest.New(t)
			r.Commit("old", map[string]string{"liftoff.json": testConfig})
			r.Git("tag", "main")
			head := r.Commit("add qa", map[string]string{"liftoff.json": strings.Replace(testConfig, `"environments": [`,
				`"environments": [{"id": "qa", "name": "QA", "source": {"branch": "main"}, "services": [{"id": "api", "name": "API", "type": "web", "startCommand": "./api"}]},`, 1)})
			p, err := h.c.CreateProject(context.Background(), "tagged", r.Dir, "")
			if err != nil {
				t.Fatal(err)
			}
			hasQA := false
			for _, e := range p.Environments {
				hasQA = hasQA || e.GivenID == "qa"
			}
			if p.ConfigCommit != head || !hasQA {
				t.Fatalf("config read at %s (environments %+v), want the branch's %s", p.ConfigCommit, p.Environments, head)
			}
		})
	}
}
