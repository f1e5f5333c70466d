package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

// TestProjectsSideBySide: two projects with the same environment and
// service ids deploy on one Liftoff. The first keeps the short host names;
// the second answers at names carrying its slug; deploying the second
// neither replaces the first's route nor stops its release, and both keep
// answering after a restart.
func TestProjectsSideBySide(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	if d := f.deploy(""); d.Status != "SUCCESS" {
		t.Fatalf("first project's deployment ended %s", d.Status)
	}
	f.expectAnswer("api", "v1")

	other := gittest.New(t)
	other.Commit("other monorepo", map[string]string{
		"liftoff.json":    monorepoConfig(),
		"api/build.sh":    buildScript,
		"api/version.txt": "BLOG",
		"site/index.html": "<h1>blog site</h1>",
	})
	ctx := ctxT(t)
	blog, err := f.c.CreateProject(ctx, "Blog", other.Dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if blog.Slug != "blog" {
		t.Fatalf("slug = %q", blog.Slug)
	}
	hook, err := f.c.CreateHook(ctx, blog.Environments[0].EnvironmentID, "CI")
	if err != nil {
		t.Fatal(err)
	}
	d := f.wait(callHook(t, f.srv.url()+hook.URL[strings.Index(hook.URL, "/api/"):]))
	if d.Status != "SUCCESS" {
		logs, _ := f.c.Logs(context.Background(), d.DeploymentID, "")
		t.Fatalf("second project's deployment ended %s\n%s", d.Status, logs)
	}
	_, port, _ := strings.Cut(f.srv.proxy, ":")
	for svc, want := range map[string]string{"api": "http://api.production.blog.localhost:" + port, "site": "http://site.production.blog.localhost:" + port} {
		if got := service(t, d, svc).Service.ServiceDomain; got == nil || *got != want {
			t.Errorf("serviceDomain of %s = %v, want %s", svc, got, want)
		}
	}

	check := func() {
		t.Helper()
		f.expectAnswer("api", "v1")
		f.expectAnswer("site", "site v1")
		if _, body := f.get("api", "/"); strings.Contains(body, "BLOG") {
			t.Fatalf("the short name answers with the second project: %q", body)
		}
		for host, want := range map[string]string{
			"api.production.mono.localhost":  "v1",
			"api.production.blog.localhost":  "BLOG",
			"site.production.blog.localhost": "blog site",
		} {
			if status, body := f.getHost(host, "/"); status != 200 || !strings.Contains(body, want) {
				t.Fatalf("%s answers %d %q, want %q", host, status, body, want)
			}
		}
	}
	check()
	first, err := f.c.Deployments(ctx, client.DeploymentFilter{EnvironmentID: f.project.Environments[0].EnvironmentID})
	if err != nil || len(first.Deployments) != 1 || first.Deployments[0].Status != "SUCCESS" {
		t.Fatalf("first project's deployments = %+v, %v", first, err)
	}

	// After a restart each project gets its own names back.
	if err := f.srv.stop(); err != nil {
		t.Fatal(err)
	}
	f.start()
	check()
}

// TestPathsThroughSymlinksRefused: a basePath or an outputDirectory that
// leads out of the checkout through a symbolic link of the repository
// fails the service, and nothing outside the checkout is built or served.
func TestPathsThroughSymlinksRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	// api becomes a link to a directory outside with a build script of
	// its own, which must never run; site/public a link to another one.
	outside, elsewhere := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "build.sh"), []byte("touch "+filepath.Join(outside, "RAN")), 0o755); err != nil {
		t.Fatal(err)
	}
	f.repo.Git("rm", "-rq", "api")
	for link, to := range map[string]string{"api": outside, "site/public": elsewhere} {
		if err := os.Symlink(to, filepath.Join(f.repo.Dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	f.repo.Commit("links out", map[string]string{"site/index.html": "<h1>site v2</h1>"})
	d := f.deploy("force=true")
	api, site := service(t, d, "api"), service(t, d, "site")
	if api.Status != "BUILD_ERROR" || len(api.Error) != 1 || !strings.Contains(api.Error[0]["BUILD_ERROR"], `basePath "api" leads out of the checkout`) {
		t.Errorf("api = %s %+v", api.Status, api.Error)
	}
	if sandboxFlags[1] == "bwrap" {
		// In the sandbox the link leads nowhere: the build cannot write
		// outside its checkout, so it fails before the refusal.
		if site.Status != "BUILD_ERROR" || len(site.Error) != 1 {
			t.Errorf("site = %s %+v", site.Status, site.Error)
		}
		if entries, _ := os.ReadDir(elsewhere); len(entries) > 0 {
			t.Errorf("the sandboxed build wrote outside its checkout: %v", entries)
		}
	} else if site.Status != "DEPLOY_ERROR" || len(site.Error) != 1 || !strings.Contains(site.Error[0]["DEPLOY_ERROR"], "leads out of the checkout") {
		t.Errorf("site = %s %+v", site.Status, site.Error)
	}
	if _, err := os.Stat(filepath.Join(outside, "RAN")); err == nil {
		t.Error("the build ran outside the checkout")
	}
	if status, body := f.get("site", "/"); status == 200 && strings.Contains(body, "site v2") {
		t.Error("the site outside the checkout is served")
	}
}
