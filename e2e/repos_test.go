package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestPrivateRepositoryEndToEnd runs the real binary on a private
// repository served over HTTP with basic authentication, its token given
// in repoUrl (through the CLI):
//   - the token shows in no answer, no CLI output and no log line, and the
//     engine fetches and deploys with it;
//   - a hook's ?branch= naming a pull request's ref, a SHA or a tag ends
//     ERROR "branch X was not found";
//   - a replayed GitHub delivery queues nothing; a push older than what
//     production runs is not deployed; a force push back to it is.
func TestPrivateRepositoryEndToEnd(t *testing.T) {
	t.Parallel()
	const user, token = "x-access-token", "ghp_RTJFU2VjcmV0VG9rZW5PZkFjbWU"
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := &fixture{t: t, logs: &logLines{}}
			f.repo = gittest.New(t)
			f.repo.Commit("monorepo", map[string]string{
				"liftoff.json": monorepoConfig(), "api/build.sh": buildScript, "api/version.txt": "v1", "site/index.html": "<h1>site v1</h1>",
			})
			root := t.TempDir()
			bare := filepath.Join(root, "private.git")
			f.repo.Git("clone", "-q", "--bare", f.repo.Dir, bare)
			publish := func(refspecs ...string) {
				f.t.Helper()
				f.repo.Git(append([]string{"push", "-q", bare}, refspecs...)...)
			}
			gitSrv := gittest.NewHTTPServer(t, root, user, token)
			plain := gitSrv.URL + "/private.git"
			withToken := strings.Replace(plain, "http://", "http://"+user+":"+token+"@", 1)

			f.flags = storeFlags(t, dialect, t.TempDir())
			f.key = bootstrapKey(t, f.flags)
			// The git server is on 127.0.0.1: the operator names it.
			f.srv = start(t, append([]string{"--workers", "2", "--github-webhook-secret", webhookSecret,
				"--allowed-repos", allowTempRepos()[1] + "," + gitSrv.URL + "/*"}, f.flags...), f.logs)
			f.c = client.New(f.srv.url(), f.key)
			cli := func(args ...string) string {
				t.Helper()
				out := liftoffCLI(t, append(args, "--server", f.srv.url(), "--api-key", f.key)...)
				if strings.Contains(out, token) {
					t.Fatalf("liftoff %s shows the token:\n%s", strings.Join(args, " "), out)
				}
				return out
			}
			if err := json.Unmarshal([]byte(cli("projects", "create", "--name", "private", "--repo", withToken,
				"--github-repo", "octo-org/shop", "--json")), &f.project); err != nil || f.project.RepoURL != plain {
				t.Fatalf("projects create: repoUrl %q, %v; want %q", f.project.RepoURL, err, plain)
			}
			if out := cli("projects", "list"); !strings.Contains(out, plain) {
				t.Fatalf("projects list:\n%s", out)
			}
			var err error
			if f.hook, err = f.c.CreateHook(ctxT(t), f.project.Environments[0].EnvironmentID, "CI"); err != nil {
				t.Fatal(err)
			}

			// The engine clones and fetches with the token.
			d := f.deploy("force=true")
			if d.Status != "SUCCESS" || d.RepoURL != plain {
				t.Fatalf("deployment of the private repository: %s %+v, repoUrl %q", d.Status, d.Error, d.RepoURL)
			}
			f.expectAnswer("api", "v1")
			if out := cli("deployments", "get", d.DeploymentID, "--json"); !strings.Contains(out, plain) {
				t.Fatalf("deployments get:\n%s", out)
			}
			if gitSrv.Unauthorized.Load() != 0 {
				t.Errorf("git called the server %d times without the token", gitSrv.Unauthorized.Load())
			}

			// ?branch= resolves branches only.
			fork := f.branch("fork", map[string]string{"api/version.txt": "from a fork"})
			f.repo.Git("update-ref", "refs/pull/7/head", fork)
			f.repo.Git("tag", "v-fork", fork)
			publish("refs/pull/7/head", "v-fork")
			for _, branch := range []string{"pull/7/head", fork, "v-fork"} {
				d := f.deploy("branch=" + branch)
				want := "branch " + branch + " was not found in " + plain
				if d.Status != "ERROR" || len(d.Error) != 1 || d.Error[0]["ERROR"] != want {
					t.Errorf("?branch=%s ended %s %v; want ERROR %q", branch, d.Status, d.Error, want)
				}
			}

			// GitHub: B deployed by a push; its replay does nothing.
			f.repo.Write(map[string]string{"api/version.txt": "v2"})
			b := f.repo.Commit("v2", nil)
			publish("main")
			status, res, body := f.sendWebhook("push", "push.main.json", webhookSecret, map[string]string{fixtureMergeSHA: b})
			if status != 202 || len(res.Queued) != 1 {
				t.Fatalf("push of b: %d %s", status, body)
			}
			if d := f.wait(res.Queued[0].DeploymentID); d.Status != "SUCCESS" || d.GitCommit != b {
				t.Fatalf("push of b ended %s %v", d.Status, d.Error)
			}
			f.deliveries-- // the same delivery id again
			status, res, body = f.sendWebhook("push", "push.main.json", webhookSecret, map[string]string{fixtureMergeSHA: b})
			if status != 200 || len(res.Queued) != 0 || !strings.Contains(body, `"duplicate":true`) {
				t.Fatalf("replayed delivery: %d %s", status, body)
			}

			// C deploys; then a late push of B (another delivery) does not.
			f.repo.Write(map[string]string{"api/version.txt": "v3"})
			c := f.repo.Commit("v3", nil)
			publish("main")
			if d := f.deploy(""); d.Status != "SUCCESS" || d.GitCommit != c {
				t.Fatalf("deployment of c: %s %v", d.Status, d.Error)
			}
			late := map[string]string{fixtureMergeSHA: b, `"before": "205ae328d69b5b97e19a6b262ee0add144ee4130"`: `"before": "` + strings.Repeat("1", 40) + `"`}
			status, res, body = f.sendWebhook("push", "push.main.json", webhookSecret, late)
			if status != 202 || len(res.Queued) != 1 {
				t.Fatalf("late push of b: %d %s", status, body)
			}
			if d := f.wait(res.Queued[0].DeploymentID); d.Status != "CANCELLED" || len(d.Error) != 1 ||
				!strings.Contains(d.Error[0]["CANCELLED"], "is older than "+c[:7]) {
				t.Fatalf("late push of b ended %s %v; want CANCELLED, older than c", d.Status, d.Error)
			}
			f.expectAnswer("api", "v3")

			// A force push back to B deploys it.
			f.repo.Git("reset", "-q", "--hard", b)
			publish("+main")
			forced := map[string]string{fixtureMergeSHA: b, `"forced": false`: `"forced": true`}
			status, res, body = f.sendWebhook("push", "push.main.json", webhookSecret, forced)
			if status != 202 || len(res.Queued) != 1 {
				t.Fatalf("force push of b: %d %s", status, body)
			}
			if d := f.wait(res.Queued[0].DeploymentID); d.Status != "SUCCESS" || d.GitCommit != b {
				t.Fatalf("force push of b ended %s %v", d.Status, d.Error)
			}
			f.expectAnswer("api", "v2")

			if err := f.srv.stop(); err != nil {
				t.Fatal(err)
			}
			for _, line := range f.logs.all() {
				if strings.Contains(line, token) {
					t.Fatalf("a log line shows the token: %s", line)
				}
			}
			config, err := os.ReadFile(filepath.Join(f.flags[1], "mirrors", f.project.ProjectID+".git", "config"))
			if err != nil || strings.Contains(string(config), token) || !strings.Contains(string(config), plain) {
				t.Fatalf("the mirror's config (%v):\n%s", err, config)
			}
		})
	}
}
