package e2e

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// previewURL is the preview hook's URL for a PR and commit on the current server.
func (f *fixture) previewURL(pr int, sha string) string {
	u := f.srv.url() + f.previewHook.URL[strings.Index(f.previewHook.URL, "/api/"):]
	return strings.NewReplacer("{prNumber}", strconv.Itoa(pr), "{commitSHA}", sha).Replace(u)
}

// branch makes a PR branch off main with files, returns its head SHA and
// goes back to main.
func (f *fixture) branch(name string, files map[string]string) string {
	f.repo.Git("checkout", "-q", "-B", name, "main")
	sha := f.repo.Commit(name, files)
	f.repo.Git("checkout", "-q", "main")
	return sha
}

// previewGet fetches a service of a PR's preview instance through the proxy.
func (f *fixture) previewGet(svc string, pr int) (int, string) {
	f.t.Helper()
	return f.getHost(svc+".pr-"+strconv.Itoa(pr)+".preview.localhost", "/")
}

// TestPreviewsEndToEnd: two PRs deployed side by side on their own domains;
// a second commit on one PR deploys only what changed; a newer commit
// supersedes a PENDING deployment; teardown and re-creation; an unknown SHA.
func TestPreviewsEndToEnd(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dialect)
			ctx := context.Background()
			pv := f.project.Environments[1].EnvironmentID

			one := f.branch("feature-1", map[string]string{"api/version.txt": "pr1"})
			two := f.branch("feature-2", map[string]string{"api/version.txt": "pr2", "site/index.html": "<h1>pr2 site</h1>"})
			d1, d2 := callHook(t, f.previewURL(1, one)), callHook(t, f.previewURL(2, two[:12]))
			for pr, id := range map[int]string{1: d1, 2: d2} {
				d := f.wait(id)
				if d.Status != "SUCCESS" || d.PRNumber == nil || *d.PRNumber != pr || !d.IsPreviewEnvironment {
					t.Fatalf("PR %d deployment = %s %+v", pr, d.Status, d.Error)
				}
				for _, s := range d.ServiceDeployments {
					if reason(s) != "first deployment here" || s.Service.ServiceDomain == nil ||
						!strings.HasPrefix(*s.Service.ServiceDomain, "http://"+s.Service.ServiceGivenID+".pr-"+strconv.Itoa(pr)+".preview.localhost:") {
						t.Fatalf("PR %d %s = %+v", pr, s.Service.ServiceGivenID, s)
					}
				}
			}
			if d, _ := f.c.Deployment(ctx, d2); d.GitCommit != two {
				t.Fatalf("the short SHA was not resolved to the full one: %v", d.GitCommit)
			}
			for pr, want := range map[int]string{1: "pr1", 2: "pr2"} {
				if status, body := f.previewGet("api", pr); status != 200 || body != want {
					t.Fatalf("PR %d api answers %d %q, want %q", pr, status, body, want)
				}
				host := "api.pr-" + strconv.Itoa(pr) + ".preview.localhost"
				if _, got := f.getHost(host, "/env/LIFTOFF_PR_NUMBER"); got != strconv.Itoa(pr) {
					t.Fatalf("PR %d runs with LIFTOFF_PR_NUMBER=%q", pr, got)
				}
				if _, got := f.getHost(host, "/env/LIFTOFF_ENV_ID"); got != "preview" {
					t.Fatalf("PR %d runs with LIFTOFF_ENV_ID=%q", pr, got)
				}
			}
			if status, body := f.previewGet("site", 2); status != 200 || !strings.Contains(body, "pr2 site") {
				t.Fatalf("PR 2 site answers %d %q", status, body)
			}
			// Production is untouched by previews.
			if status, _ := f.get("api", "/"); status != 404 {
				t.Fatalf("production api answers %d before any production deployment", status)
			}

			// A second commit on PR 1 touching only the site: only the site builds.
			f.repo.Git("checkout", "-q", "feature-1")
			one2 := f.repo.Commit("pr1 site", map[string]string{"site/index.html": "<h1>pr1 site v2</h1>"})
			f.repo.Git("checkout", "-q", "main")
			d := f.wait(callHook(t, f.previewURL(1, one2)))
			if api, site := service(t, d, "api"), service(t, d, "site"); api.Status != "NO_CHANGE" || site.Status != "SUCCESS" ||
				reason(site) != "matched site/** (1 file)" {
				t.Fatalf("PR 1 second commit: api %s %q, site %s %q", api.Status, reason(api), site.Status, reason(site))
			}
			if _, body := f.previewGet("site", 1); !strings.Contains(body, "pr1 site v2") {
				t.Fatalf("PR 1 site answers %q", body)
			}

			// A newer commit supersedes a PENDING deployment of the same PR.
			slow := f.branch("feature-3", map[string]string{"api/SLOW": "63"})
			running := callHook(t, f.previewURL(3, slow))
			// Its build runs (BUILDING is recorded before the checkout and
			// the build's processes exist): the calls below queue behind it.
			waitForSleep(t, running)
			older := callHook(t, f.previewURL(3, one))
			newer := callHook(t, f.previewURL(3, two))
			if older == newer || older == running {
				t.Fatalf("calls for other commits joined: %s %s %s", running, older, newer)
			}
			if d := f.wait(older); d.Status != "CANCELLED" || d.Error[0]["CANCELLED"] != "superseded by "+newer {
				t.Fatalf("superseded deployment = %s %+v", d.Status, d.Error)
			}

			// Teardown: the running deployment is cancelled, the PENDING one too,
			// services stop answering, builds go, history stays.
			torn, err := f.c.DeletePreview(ctx, pv, 3)
			if err != nil || torn.DeletedAt == nil {
				t.Fatalf("teardown of PR 3 = %+v, %v", torn, err)
			}
			if d := f.wait(running); d.Status != "CANCELLED" {
				t.Fatalf("the running deployment of a torn down PR ended %s", d.Status)
			}
			if d := f.wait(newer); d.Status != "CANCELLED" {
				t.Fatalf("the PENDING deployment of a torn down PR ended %s", d.Status)
			}
			if _, err := f.c.DeletePreview(ctx, pv, 1); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "PR 1's services stop answering", func() bool {
				a, _ := f.previewGet("api", 1)
				s, _ := f.previewGet("site", 1)
				return a == 404 && s == 404
			})
			waitUntil(t, "PR 1's builds are removed", func() bool { return noBuildsOf(t, f, d1) })
			if status, _ := f.previewGet("api", 2); status != 200 {
				t.Fatalf("tearing PR 1 down stopped PR 2: %d", status)
			}
			list, err := f.c.Previews(ctx, pv)
			if err != nil || len(list) != 1 || list[0].PRNumber != 2 {
				t.Fatalf("previews after teardown = %+v, %v", list, err)
			}
			if _, err := f.c.Deployment(ctx, d1); err != nil {
				t.Fatalf("PR 1's history is gone: %v", err)
			}
			var ae *client.Error
			if _, err := f.c.DeletePreview(ctx, pv, 1); !errors.As(err, &ae) || ae.Status != 404 {
				t.Fatalf("second teardown: %v", err)
			}
			// A later call for the same PR starts it afresh: everything deploys.
			d = f.wait(callHook(t, f.previewURL(1, one2)))
			if d.Status != "SUCCESS" || reason(service(t, d, "api")) != "first deployment here" || reason(service(t, d, "site")) != "first deployment here" {
				t.Fatalf("re-created PR 1: %s api %q site %q", d.Status, reason(service(t, d, "api")), reason(service(t, d, "site")))
			}
			if status, body := f.previewGet("api", 1); status != 200 || body != "pr1" {
				t.Fatalf("re-created PR 1 answers %d %q", status, body)
			}

			// An unknown SHA ends ERROR naming the SHA and the repository.
			unknown := strings.Repeat("ab", 20)
			d = f.wait(callHook(t, f.previewURL(9, unknown)))
			if d.Status != "ERROR" || !strings.Contains(d.Error[0]["ERROR"], unknown) || !strings.Contains(d.Error[0]["ERROR"], f.repo.Dir) {
				t.Fatalf("unknown SHA: %s %+v", d.Status, d.Error)
			}
		})
	}
}

// noBuildsOf reports whether the builds of a deployment's services are gone
// from the data dir.
func noBuildsOf(t *testing.T, f *fixture, deploymentID string) bool {
	d, err := f.c.Deployment(context.Background(), deploymentID)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := f.flags[1]
	for _, s := range d.ServiceDeployments {
		if _, err := os.Stat(dataDir + "/builds/" + s.ServiceDeploymentID); err == nil {
			return false
		}
	}
	return true
}
