package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// monorepoConfig is a two-service monorepo: api, a web service built by
// build.sh (which fails when FAIL exists and takes 60 s when SLOW exists),
// and site, a static site. SLOW holds the number of seconds; each test uses
// its own, to find its sleep among the processes.
func monorepoConfig() string {
	services := `[
  {"id": "api", "name": "API", "type": "web", "basePath": "api", "watchPaths": ["api/**", "!api/**/*.md"],
   "buildCommand": "sh build.sh", "startCommand": "` + webserver + `",
   "healthCheckPath": "/health", "healthCheckTimeoutSecs": 5},
  {"id": "site", "name": "Site", "type": "static", "basePath": "site", "watchPaths": ["site/**"],
   "buildCommand": "mkdir -p public && cp index.html public/", "outputDirectory": "public"}
]`
	return `{"environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": ` + services + `},
  {"id": "preview", "name": "Previews", "source": {"pr": true, "trigger": "push",
    "filter": {"toBranches": ["main"], "watchPaths": ["api/**", "site/**"]}}, "services": ` + services + `}
]}`
}

const buildScript = `if [ -f FAIL ]; then echo "build failed on purpose" >&2; exit 3; fi
if [ -f SLOW ]; then echo slow build; sleep "$(cat SLOW)"; fi
echo built
`

// fixture is a running Liftoff with the monorepo project and a hook of
// each environment.
type fixture struct {
	t           *testing.T
	flags       []string
	logs        *logLines
	srv         *instance
	c           *client.Client
	repo        *gittest.Repo
	project     client.Project
	hook        client.CreatedHook // production's
	previewHook client.CreatedHook
	key         string
	deliveries  int      // GitHub deliveries sent, for their ids
	serve       []string // more flags of liftoff serve
}

func newFixture(t *testing.T, dialect string) *fixture {
	t.Helper()
	return newFixtureWith(t, dialect)
}

// newFixtureWith is newFixture with more flags of liftoff serve. Its
// preview environment is set public through the API, as a team that
// shares its previews with anyone would: the tests fetch previews through
// the proxy without a share link. Preview protection has tests of its own
// (protect_test.go).
func newFixtureWith(t *testing.T, dialect string, serve ...string) *fixture {
	t.Helper()
	f := newProtectedFixture(t, dialect, serve...)
	f.publicPreviews()
	return f
}

// publicPreviews sets the preview environment public.
func (f *fixture) publicPreviews() {
	f.t.Helper()
	public := "public"
	if _, err := f.c.SetProtection(ctxT(f.t), f.project.Environments[1].EnvironmentID, client.ProtectionChange{Mode: &public}); err != nil {
		f.t.Fatal(err)
	}
}

// newProtectedFixture is newFixtureWith leaving the preview environment
// protected, as it is by default.
func newProtectedFixture(t *testing.T, dialect string, serve ...string) *fixture {
	t.Helper()
	f := &fixture{t: t, logs: &logLines{}, serve: serve}
	f.flags = storeFlags(t, dialect, t.TempDir())
	f.key = bootstrapKey(t, f.flags)
	f.start()
	f.repo = gittest.New(t)
	f.repo.Commit("monorepo", map[string]string{
		"liftoff.json":    monorepoConfig(),
		"api/build.sh":    buildScript,
		"api/version.txt": "v1",
		"api/old.txt":     "moves later",
		"api/gone.txt":    "deleted later",
		"api/README.md":   "docs",
		"site/index.html": "<h1>site v1</h1>",
	})
	ctx := ctxT(t)
	var err error
	f.project, err = f.c.CreateProjectWith(ctx, client.NewProject{Name: "mono", RepoURL: f.repo.Dir, GitHubRepository: "octo-org/shop"})
	if err != nil {
		t.Fatal(err)
	}
	if f.hook, err = f.c.CreateHook(ctx, f.project.Environments[0].EnvironmentID, "CI"); err != nil {
		t.Fatal(err)
	}
	if f.previewHook, err = f.c.CreateHook(ctx, f.project.Environments[1].EnvironmentID, "GitHub Actions"); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) start() {
	flags := append([]string{"--workers", "2", "--github-webhook-secret", webhookSecret}, f.flags...)
	f.srv = start(f.t, append(flags, f.serve...), f.logs)
	f.c = client.New(f.srv.url(), f.key)
}

// hookURL is the hook's URL on the current server, with a query.
func (f *fixture) hookURL(query string) string {
	u := f.srv.url() + f.hook.URL[strings.Index(f.hook.URL, "/api/"):]
	if query != "" {
		u += "?" + query
	}
	return u
}

// call calls the hook and returns the deployment id.
func (f *fixture) call(query string) string {
	f.t.Helper()
	return callHook(f.t, f.hookURL(query))
}

// wait polls a deployment until it has ended, or fails the test.
func (f *fixture) wait(id string) client.Deployment {
	f.t.Helper()
	return f.waitFor(id, func(d client.Deployment) bool { return isFinal(d.Status) })
}

func (f *fixture) waitFor(id string, done func(client.Deployment) bool) client.Deployment {
	f.t.Helper()
	return f.waitUpTo(id, 3*time.Minute, done)
}

// waitUpTo polls a deployment until done says so, for up to d.
func (f *fixture) waitUpTo(id string, limit time.Duration, done func(client.Deployment) bool) client.Deployment {
	f.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		d, err := f.c.Deployment(context.Background(), id)
		if err != nil {
			f.t.Fatal(err)
		}
		if done(d) {
			return d
		}
		if time.Now().After(deadline) {
			logs, _ := f.c.Logs(context.Background(), id, "")
			f.t.Fatalf("deployment %s stuck at %s\n%s", id, d.Status, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deploy calls the hook and waits for the deployment to end.
func (f *fixture) deploy(query string) client.Deployment {
	f.t.Helper()
	return f.wait(f.call(query))
}

func isFinal(s string) bool {
	switch s {
	case "SUCCESS", "NO_CHANGE", "BUILD_ERROR", "DEPLOY_ERROR", "ERROR", "CANCELLED":
		return true
	}
	return false
}

// service returns a deployment's service deployment.
func service(t *testing.T, d client.Deployment, id string) client.ServiceDeployment {
	t.Helper()
	for _, s := range d.ServiceDeployments {
		if s.Service.ServiceGivenID == id {
			return s
		}
	}
	t.Fatalf("deployment %s has no service %s: %+v", d.DeploymentID, id, d.ServiceDeployments)
	return client.ServiceDeployment{}
}

func reason(s client.ServiceDeployment) string {
	if s.Reason == nil {
		return ""
	}
	return *s.Reason
}

// get fetches a path of a production service through Liftoff's proxy.
func (f *fixture) get(svc, path string) (int, string) {
	f.t.Helper()
	return f.getHost(svc+".production.localhost", path)
}

// getHost fetches a path of the host through Liftoff's proxy.
func (f *fixture) getHost(host, path string) (int, string) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+f.srv.proxy+path, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func (f *fixture) expectAnswer(svc, want string) {
	f.t.Helper()
	if status, body := f.get(svc, "/"); status != 200 || !strings.Contains(body, want) {
		f.t.Fatalf("%s answers %d %q, want %q", svc, status, body, want)
	}
}

// TestEngineDeploysOnlyWhatChanged covers the first deployment of a
// two-service monorepo, a commit touching one service, force, and the watch
// path cases docs/deployments.md describes (a rename out of a folder, a
// deletion, an excluded file), on both databases.
func TestEngineDeploysOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dialect)
			first := f.repo.Head()

			// 1. The first call deploys both; both answer through the proxy.
			d := f.deploy("")
			if d.Status != "SUCCESS" || d.GitCommit != first || d.StartedAt == nil || d.FinishedAt == nil {
				t.Fatalf("first deployment = %+v", d)
			}
			for _, svc := range []string{"api", "site"} {
				s := service(t, d, svc)
				if s.Status != "SUCCESS" || reason(s) != "first deployment here" || s.Service.ServiceDomain == nil ||
					!strings.HasPrefix(*s.Service.ServiceDomain, "http://"+svc+".production.localhost:") {
					t.Fatalf("%s = %+v", svc, s)
				}
			}
			f.expectAnswer("api", "v1")
			f.expectAnswer("site", "site v1")

			// 2. A commit touching only the site: only the site builds.
			base := f.repo.Head()
			f.repo.Commit("site only", map[string]string{"site/index.html": "<h1>site v2</h1>"})
			d = f.deploy("")
			api, site := service(t, d, "api"), service(t, d, "site")
			if d.Status != "SUCCESS" || api.Status != "NO_CHANGE" || site.Status != "SUCCESS" ||
				reason(api) != "no change matches its watchPaths (1 file changed since "+base[:7]+")" || reason(site) != "matched site/** (1 file)" {
				t.Fatalf("site-only deployment: api %s %q, site %s %q", api.Status, reason(api), site.Status, reason(site))
			}
			f.expectAnswer("site", "site v2")
			f.expectAnswer("api", "v1")
			// force=true deploys both.
			d = f.deploy("force=true")
			for _, svc := range []string{"api", "site"} {
				if s := service(t, d, svc); s.Status != "SUCCESS" || reason(s) != "forced (force=true)" {
					t.Fatalf("forced %s = %s %q", svc, s.Status, reason(s))
				}
			}
			// Nothing changed since: NO_CHANGE for the deployment.
			if d = f.deploy(""); d.Status != "NO_CHANGE" {
				t.Fatalf("a deployment without changes ended %s", d.Status)
			}

			// 3. A rename out of api's folder deploys api (the old path counts).
			f.repo.Git("mv", "api/old.txt", "moved.txt")
			f.repo.Commit("rename out", nil)
			d = f.deploy("")
			if s := service(t, d, "api"); s.Status != "SUCCESS" || reason(s) != "matched api/** (1 file)" {
				t.Fatalf("rename out of api/: %s %q", s.Status, reason(s))
			}
			if s := service(t, d, "site"); s.Status != "NO_CHANGE" {
				t.Fatalf("rename out of api/ deployed the site: %s", s.Status)
			}
			// A deletion deploys api.
			f.repo.Git("rm", "-q", "api/gone.txt")
			f.repo.Commit("delete", nil)
			if s := service(t, f.deploy(""), "api"); s.Status != "SUCCESS" || reason(s) != "matched api/** (1 file)" {
				t.Fatalf("deletion in api/: %s %q", s.Status, reason(s))
			}
			// An excluded file (!api/**/*.md) does not.
			f.repo.Commit("docs", map[string]string{"api/README.md": "more docs"})
			d = f.deploy("")
			if s := service(t, d, "api"); s.Status != "NO_CHANGE" || !strings.HasPrefix(reason(s), "no change matches its watchPaths") {
				t.Fatalf("excluded file: %s %q", s.Status, reason(s))
			}
			// The config each deployment read is kept with it, and its output.
			logs, err := f.c.Logs(context.Background(), d.DeploymentID, "")
			if err != nil || !strings.Contains(logs, "[deploy] ==> Deploying") || !strings.Contains(logs, "api: skip") {
				t.Fatalf("logs of %s: %v\n%s", d.DeploymentID, err, logs)
			}
		})
	}
}

// TestEngineFailuresKeepThePreviousRelease: a failing build ends
// BUILD_ERROR and a failing health check DEPLOY_ERROR; both times the
// previous release still answers.
func TestEngineFailuresKeepThePreviousRelease(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	if d := f.deploy(""); d.Status != "SUCCESS" {
		t.Fatalf("first deployment ended %s", d.Status)
	}
	f.expectAnswer("api", "v1")

	f.repo.Commit("broken build", map[string]string{"api/FAIL": "x", "api/version.txt": "v2"})
	d := f.deploy("")
	api := service(t, d, "api")
	if d.Status != "BUILD_ERROR" || api.Status != "BUILD_ERROR" || len(d.Error) != 1 ||
		d.Error[0]["BUILD_ERROR"] != `api: buildCommand "sh build.sh" exited with status 3` {
		t.Fatalf("broken build: %s %+v %+v", d.Status, d.Error, api)
	}
	logs, _ := f.c.Logs(context.Background(), d.DeploymentID, "api")
	if !strings.Contains(logs, "[api] build failed on purpose") {
		t.Fatalf("the build's stderr is not in its log:\n%s", logs)
	}
	f.expectAnswer("api", "v1")

	f.repo.Git("rm", "-q", "api/FAIL")
	f.repo.Commit("unhealthy", map[string]string{"api/health.txt": "fail", "api/version.txt": "v3"})
	d = f.deploy("")
	api = service(t, d, "api")
	if d.Status != "DEPLOY_ERROR" || api.Status != "DEPLOY_ERROR" || len(api.Error) != 1 ||
		!strings.Contains(api.Error[0]["DEPLOY_ERROR"], "health check") {
		t.Fatalf("unhealthy release: %s %+v", d.Status, api)
	}
	f.expectAnswer("api", "v1")

	// A commit touching only the site: api's base is still its last
	// success, so it sees version.txt and health.txt changed and deploys
	// (and fails) again.
	f.repo.Commit("site", map[string]string{"site/index.html": "<h1>site v2</h1>"})
	d = f.deploy("")
	if api := service(t, d, "api"); api.Status != "DEPLOY_ERROR" || reason(api) != "matched api/** (2 files)" {
		t.Fatalf("site-only commit after a failure: api %s %q", api.Status, reason(api))
	}
	if site := service(t, d, "site"); site.Status != "SUCCESS" {
		t.Fatalf("site-only commit after a failure: site %s", site.Status)
	}
	f.repo.Git("rm", "-q", "api/health.txt")
	f.repo.Commit("fixed", nil)
	d = f.deploy("")
	if api := service(t, d, "api"); api.Status != "SUCCESS" || reason(api) != "matched api/** (1 file)" {
		t.Fatalf("after the fix: %s %q", api.Status, reason(api))
	}
	f.expectAnswer("api", "v3")
}

// TestEngineCancelAndJoin: calls made while a deployment runs end as one
// PENDING deployment the others join; a running build is cancelled with its
// whole process group; then the PENDING one runs.
func TestEngineCancelAndJoin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	f.repo.Commit("slow", map[string]string{"api/SLOW": "61"})
	running := f.call("")
	apiBuilding := func(d client.Deployment) bool {
		return len(d.ServiceDeployments) > 0 && service(t, d, "api").Status == "BUILDING"
	}
	waitForSleep(t, running)
	ids := []string{f.call(""), f.call(""), f.call("")}
	if ids[0] == running || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Fatalf("three calls during a deployment gave %v (running %s)", ids, running)
	}
	if d, _ := f.c.Deployment(context.Background(), ids[0]); d.Status != "PENDING" {
		t.Fatalf("the joined deployment is %s", d.Status)
	}
	if d, _ := f.c.Deployment(context.Background(), running); !apiBuilding(d) {
		t.Fatalf("the running deployment is %s", d.Status)
	}
	if _, err := f.c.CancelDeployment(context.Background(), running); err != nil {
		t.Fatal(err)
	}
	d := f.wait(running)
	if d.Status != "CANCELLED" || service(t, d, "api").Status != "CANCELLED" {
		t.Fatalf("cancelled deployment = %s, api %s", d.Status, service(t, d, "api").Status)
	}
	// The build's processes (sh and its sleep) are gone with their group.
	noProcessesOf(t, running)
	// Cancelling a finished deployment is refused.
	var ae *client.Error
	if _, err := f.c.CancelDeployment(context.Background(), running); !errors.As(err, &ae) || ae.Status != 409 {
		t.Fatalf("second cancel: %v", err)
	}
	// The queued deployment runs next (still slow: cancel it too).
	waitForSleep(t, ids[0])
	if _, err := f.c.CancelDeployment(context.Background(), ids[0]); err != nil {
		t.Fatal(err)
	}
	if d := f.wait(ids[0]); d.Status != "CANCELLED" {
		t.Fatalf("second cancel ended %s", d.Status)
	}
	// Cancel of a PENDING deployment ends it at once.
	f.repo.Git("rm", "-q", "api/SLOW")
	f.repo.Commit("fast", nil)
	busy := f.call("")
	f.waitFor(busy, func(d client.Deployment) bool { return d.Status != "PENDING" })
	queued := f.call("force=true")
	if queued != busy {
		if d, err := f.c.CancelDeployment(context.Background(), queued); err == nil && d.Status != "CANCELLED" && d.Status != "INPROGRESS" && d.Status != "BUILDING" {
			t.Fatalf("cancel of a queued deployment: %s", d.Status)
		}
	}
	f.wait(busy)
}

// TestEngineSurvivesKill9: Liftoff is killed with SIGKILL during a build.
// After a restart that deployment ends ERROR with the restart message, the
// deployment queued behind it runs, and the services deployed before come
// back.
func TestEngineSurvivesKill9(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dialect)
			if d := f.deploy(""); d.Status != "SUCCESS" {
				t.Fatalf("first deployment ended %s", d.Status)
			}
			f.repo.Commit("slow", map[string]string{"api/SLOW": "62", "api/version.txt": "v2"})
			interrupted := f.call("")
			waitForSleep(t, interrupted)
			queued := f.call("force=true")
			f.srv.kill()
			if sandboxFlags[1] == "bwrap" {
				noProcessesOf(t, interrupted) // a sandboxed build dies with Liftoff, before any restart
			}

			f.repo.Git("rm", "-q", "api/SLOW")
			f.repo.Commit("fast again", nil)
			f.start()
			// The killed build's processes are gone too.
			noProcessesOf(t, interrupted)
			// Services come back before any new deployment.
			f.expectAnswer("api", "v1")
			f.expectAnswer("site", "site v1")
			d := f.wait(interrupted)
			if d.Status != "ERROR" || len(d.Error) != 1 || d.Error[0]["ERROR"] != "interrupted by a restart of Liftoff" {
				t.Fatalf("interrupted deployment = %s %+v", d.Status, d.Error)
			}
			next := f.wait(queued)
			if next.Status != "SUCCESS" {
				logs, _ := f.c.Logs(context.Background(), queued, "")
				t.Fatalf("queued deployment ended %s\n%s", next.Status, logs)
			}
			f.expectAnswer("api", "v2")
		})
	}
}

// TestEngineZeroDowntime: a client sends requests to the web service
// through the proxy continuously while it is redeployed 10 times; none fails.
func TestEngineZeroDowntime(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	if d := f.deploy(""); d.Status != "SUCCESS" {
		t.Fatalf("first deployment ended %s", d.Status)
	}
	done := f.proxyLoad("api.production.localhost")
	for i := range 10 {
		if d := f.deploy("force=true"); d.Status != "SUCCESS" {
			t.Fatalf("redeploy %d ended %s", i+1, d.Status)
		}
	}
	sent, failed, first := done()
	t.Logf("zero downtime: %d requests sent during 10 redeploys, %d failed", sent, failed)
	if failed > 0 {
		t.Fatalf("%d of %d requests failed during redeploys; first: %v", failed, sent, first)
	}
	if sent < 100 {
		t.Fatalf("only %d requests were sent: the test proves nothing", sent)
	}
}

// TestEngineRedeploy releases an earlier build again without building.
func TestEngineRedeploy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	v1 := f.deploy("")
	f.repo.Commit("v2", map[string]string{"api/version.txt": "v2"})
	if d := f.deploy(""); d.Status != "SUCCESS" {
		t.Fatalf("v2 ended %s", d.Status)
	}
	f.expectAnswer("api", "v2")
	back, err := f.c.RedeployDeployment(context.Background(), v1.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	d := f.wait(back.DeploymentID)
	if d.Status != "SUCCESS" || d.Trigger.Type != "redeploy" || d.GitCommit != v1.GitCommit {
		t.Fatalf("redeploy = %+v", d)
	}
	api := service(t, d, "api")
	if !strings.HasPrefix(reason(api), "redeploy of the build from") {
		t.Fatalf("redeploy reason %q", reason(api))
	}
	logs, _ := f.c.Logs(context.Background(), d.DeploymentID, "api")
	if strings.Contains(logs, "buildCommand") {
		t.Fatalf("a redeploy built again:\n%s", logs)
	}
	f.expectAnswer("api", "v1")
	// The next deployment sees the changes since the rolled-back commit.
	if d := f.deploy(""); service(t, d, "api").Status != "SUCCESS" {
		t.Fatalf("after a rollback the newer commit did not deploy api: %s", service(t, d, "api").Status)
	}
	f.expectAnswer("api", "v2")
}

func clientFilter() client.DeploymentFilter { return client.DeploymentFilter{Limit: 100} }

func clientFor(url, key string) *client.Client { return client.New(url, key) }

// proxyLoad sends requests to host through the proxy from 4 clients, each
// one after the other, until the returned function is called, which
// returns how many were sent, how many failed (an error or a status other
// than 200) and the first failure.
func (f *fixture) proxyLoad(host string) func() (sent, failed int64, first any) {
	var sentN, failedN atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 30 * time.Second}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", "http://"+f.srv.proxy+"/slow?ms=20", nil)
				req.Host = host
				resp, err := hc.Do(req)
				sentN.Add(1)
				if err != nil {
					failedN.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 {
					failedN.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprint("status ", resp.StatusCode))
				}
			}
		})
	}
	return func() (int64, int64, any) {
		close(stop)
		wg.Wait()
		return sentN.Load(), failedN.Load(), firstFailure.Load()
	}
}
