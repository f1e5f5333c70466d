package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

// containerConfig is a project of one service, web, built from
// web/Dockerfile (context web/) and run as a container on port 3000, in
// production and in a preview environment.
func containerConfig() string {
	services := `[
  {"id": "web", "name": "Web", "type": "web", "buildType": "docker", "port": 3000,
   "dockerfilePath": "web/Dockerfile", "dockerContext": "web", "watchPaths": ["web/**"],
   "healthCheckPath": "/health", "healthCheckTimeoutSecs": 30}
]`
	return `{"environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": ` + services + `},
  {"id": "preview", "name": "Previews", "source": {"pr": true, "trigger": "push",
    "filter": {"toBranches": ["main"]}}, "services": ` + services + `}
]}`
}

// containerDockerfile builds the webserver image in two stages: the
// first, from the busybox base, gathers the committed static webserver
// and its text files (version.txt, crash.txt when there is one); the
// last, FROM scratch, holds only them.
const containerDockerfile = `FROM ` + containertest.BaseImage + ` AS gather
COPY . /src/
RUN mkdir -p /out && cp /src/webserver /src/*.txt /out/ && chmod 755 /out/webserver && echo "stage one gathered $(ls /out | wc -l) files"

FROM scratch
COPY --from=gather /out /app
WORKDIR /app
ENV WEBSERVER_HOST=0.0.0.0
CMD ["/app/webserver"]
`

// staticWebserver is e2e/testdata/webserver built without cgo, to run
// alone in an image FROM scratch; built once for the package.
var staticWebserver struct {
	once sync.Once
	data string
}

func staticWebserverBinary(t *testing.T) string {
	t.Helper()
	staticWebserver.once.Do(func() {
		// Built from this module (its data handlers use the module's
		// PostgreSQL and Redis clients), without cgo.
		out := filepath.Join(t.TempDir(), "webserver")
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./testdata/webserver")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build the static webserver: %v\n%s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		staticWebserver.data = string(b)
	})
	if staticWebserver.data == "" {
		t.Fatal("the static webserver was not built (see the first test that built it)")
	}
	return staticWebserver.data
}

// newContainerFixture starts Liftoff on SQLite (with more serve flags)
// and creates the project name (its slug, unique among the tests, names
// its images) from a repository with the container service web at
// version v1 and more files. Every container and image of the project is
// removed when the test ends, after Liftoff stopped (a stopping Liftoff
// leaves its containers running).
func newContainerFixture(t *testing.T, name string, files map[string]string, serve ...string) (*fixture, *container.CLI) {
	t.Helper()
	cli := containertest.CLI(t)
	f := &fixture{t: t, logs: &logLines{}, serve: serve}
	f.flags = storeFlags(t, "sqlite", t.TempDir())
	f.key = bootstrapKey(t, f.flags)
	// Registered before the server starts: it runs after the server's
	// stop (cleanups run last first).
	t.Cleanup(func() { removeProjectContainers(t, cli, f.project) })
	f.start()
	f.repo = gittest.New(t)
	commit := map[string]string{
		"liftoff.json":    containerConfig(),
		"web/Dockerfile":  containerDockerfile,
		"web/webserver":   staticWebserverBinary(t),
		"web/version.txt": "v1",
		// Each test's build context differs from its first layer on:
		// tests running at once share no layer of podman's cache, so
		// one's cleanup never removes a layer another's build uses, and
		// each first build runs every step.
		"web/test-id.txt": t.Name() + " " + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	for k, v := range files {
		commit[k] = v
	}
	f.repo.Commit("container service", commit)
	ctx := ctxT(t)
	var err error
	if f.project, err = f.c.CreateProjectWith(ctx, client.NewProject{Name: name, RepoURL: f.repo.Dir}); err != nil {
		t.Fatal(err)
	}
	if f.project.Slug != name {
		t.Fatalf("project %q has the slug %q: the tests' images would not be told apart", name, f.project.Slug)
	}
	if f.hook, err = f.c.CreateHook(ctx, f.project.Environments[0].EnvironmentID, "CI"); err != nil {
		t.Fatal(err)
	}
	if f.previewHook, err = f.c.CreateHook(ctx, f.project.Environments[1].EnvironmentID, "CI previews"); err != nil {
		t.Fatal(err)
	}
	f.publicPreviews()
	return f, cli
}

// imagePrefix starts the tags of a project's images (instance is
// production, or preview-pr-N).
func imagePrefix(p client.Project, instance string) string {
	return "localhost/liftoff/" + p.Slug + "/" + instance + "/"
}

// removeProjectContainers removes the containers of a project (by its
// label) and its images (by label and by tag), and fails the test if any
// is left.
func removeProjectContainers(t *testing.T, cli *container.CLI, p client.Project) {
	if p.ProjectID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	labels := map[string]string{"liftoff.project": p.ProjectID}
	cs, err := cli.List(ctx, labels)
	if err != nil {
		t.Errorf("list the test's containers: %v", err)
	}
	for _, c := range cs {
		if err := cli.Remove(ctx, c.ID); err != nil {
			t.Errorf("remove container %s: %v", c.Name, err)
		}
	}
	for _, tag := range projectImageTags(t, cli, p, "") {
		if err := cli.RemoveImage(ctx, tag); err != nil && !errors.Is(err, container.ErrNotFound) {
			t.Errorf("remove image %s: %v", tag, err)
		}
	}
	if cs, _ := cli.List(ctx, labels); len(cs) > 0 {
		t.Errorf("containers of project %s are left: %+v", p.Slug, cs)
	}
	if left := projectImageTags(t, cli, p, ""); len(left) > 0 {
		t.Errorf("images of project %s are left: %v", p.Slug, left)
	}
}

// projectImageTags lists the tags of a project's images, of one instance
// (production, preview-pr-N) or, with "", all of them.
func projectImageTags(t *testing.T, cli *container.CLI, p client.Project, instance string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	images, err := listImages(ctx, cli)
	if err != nil {
		t.Fatalf("list images: %v", err)
	}
	prefix := "localhost/liftoff/" + p.Slug + "/"
	if instance != "" {
		prefix = imagePrefix(p, instance)
	}
	var tags []string
	for _, im := range images {
		for _, tag := range im.Tags {
			if strings.HasPrefix(tag, prefix) {
				tags = append(tags, tag)
			}
		}
	}
	return tags
}

// listImages lists every image. Podman fails a listing when another
// test removes an image meanwhile ("image not known", "file does not
// exist"): it lists again, up to 10 times over about 5s.
func listImages(ctx context.Context, cli *container.CLI) ([]container.Image, error) {
	var err error
	for i := range 10 {
		var images []container.Image
		if images, err = cli.ListImages(ctx, nil); err == nil {
			return images, nil
		}
		time.Sleep(time.Duration(i+1) * 100 * time.Millisecond) // a retry's pause, not a synchronisation
	}
	return nil, err
}

// projectContainers lists the running containers of a project, of an
// instance (its key: production, pr-1.preview; "" for all), sorted by
// name.
func projectContainers(t *testing.T, cli *container.CLI, p client.Project, instance string) []container.State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := cli.List(ctx, map[string]string{"liftoff.project": p.ProjectID})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	var out []container.State
	for _, c := range cs {
		if c.Running && (instance == "" || c.Labels["liftoff.instance"] == instance) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b container.State) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// deployOK calls the production hook, waits for the deployment and fails
// unless it succeeded.
func (f *fixture) deployOK(query string) client.Deployment {
	f.t.Helper()
	d := f.deploy(query)
	if d.Status != "SUCCESS" {
		logs, _ := f.c.Logs(context.Background(), d.DeploymentID, "")
		f.t.Fatalf("deployment ended %s %v\n%s", d.Status, d.Error, logs)
	}
	return d
}

// TestContainerMultiStageZeroDowntime: a docker service built from a
// multi-stage Dockerfile (FROM the busybox base, then FROM scratch with
// a static Go web server) answers through the proxy; a client sends
// requests continuously while 10 commits redeploy it, and none fails.
func TestContainerMultiStageZeroDowntime(t *testing.T) {
	t.Parallel()
	f, cli := newContainerFixture(t, "ctr-zero", nil)
	d := f.deployOK("")
	if s := service(t, d, "web"); s.Status != "SUCCESS" || s.Service.Type != "web" {
		t.Fatalf("web = %s %s", s.Status, s.Service.Type)
	}
	logs, _ := f.c.Logs(context.Background(), d.DeploymentID, "web")
	if !strings.Contains(logs, "stage one gathered 3 files") || !strings.Contains(logs, "Built image "+imagePrefix(f.project, "production")+"web:") {
		t.Fatalf("the build log lacks the first stage's output or the image:\n%s", logs)
	}
	f.expectAnswer("web", "v1")
	if status, body := f.get("web", "/env/PORT"); status != 200 || body != "3000" {
		t.Fatalf("the container has PORT=%q (%d), want 3000", body, status)
	}

	done := f.proxyLoad("web.production.localhost")
	started := time.Now()
	for i := 2; i <= 11; i++ {
		version := "v" + strconv.Itoa(i)
		f.repo.Commit(version, map[string]string{"web/version.txt": version})
		d := f.deployOK("")
		if s := service(t, d, "web"); s.Status != "SUCCESS" {
			t.Fatalf("redeploy %s: web %s", version, s.Status)
		}
		f.expectAnswer("web", version)
	}
	sent, failed, first := done()
	t.Logf("containers: %d requests sent during 10 redeploys of a container service (%s), %d failed",
		sent, time.Since(started).Round(time.Millisecond), failed)
	if failed > 0 {
		t.Fatalf("%d of %d requests failed during redeploys; first: %v", failed, sent, first)
	}
	if sent < 200 {
		t.Fatalf("only %d requests were sent: the test proves nothing", sent)
	}
	// The old releases' containers are gone: one runs.
	waitUntil(t, "one container of the project runs", func() bool {
		return len(projectContainers(t, cli, f.project, "")) == 1
	})
}

// TestContainerRestartsACrash: a healthy container release whose server
// exits with status 3 is started again and answers again through the
// proxy; the restart shows in Get Service with the exit code. The time
// from the crash to answering again is printed; only a very long one
// fails.
func TestContainerRestartsACrash(t *testing.T) {
	t.Parallel()
	f, _ := newContainerFixture(t, "ctr-crash", nil)
	d := f.deployOK("")
	webID := service(t, d, "web").Service.ServiceID
	status, oldStart := f.get("web", "/started")
	if status != 200 {
		t.Fatalf("/started answered %d %q", status, oldStart)
	}
	waitUntil(t, "the web release to be recorded running", func() bool {
		in, ok := f.instanceOf(webID)
		return ok && in.State == "running"
	})
	if status, body := f.get("web", "/crash?code=3"); status != 200 || !strings.Contains(body, "crashing with status 3") {
		t.Fatalf("/crash answered %d %q", status, body)
	}
	crashed := time.Now()
	seen := map[int]int{}
	var back time.Duration
	for {
		status, body := f.get("web", "/started")
		seen[status]++
		if status == 200 && body != oldStart {
			back = time.Since(crashed)
			break
		}
		if time.Since(crashed) > 90*time.Second {
			t.Fatalf("web did not answer again within 90s of its crash (answers by status: %v)\n%s", seen, strings.Join(f.logs.all(), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("containers: a crashed container release answered again through the proxy %s after /crash answered (it exits 100ms later; restart backoff 1s; answers until then by status: %v)",
		back.Round(time.Millisecond), seen)
	if back > 45*time.Second {
		t.Errorf("the restart took %s, far beyond the 1s backoff", back)
	}
	f.expectAnswer("web", "v1")
	var in client.ServiceInstance
	waitUntil(t, "the restart to be recorded", func() bool {
		var ok bool
		in, ok = f.instanceOf(webID)
		return ok && in.State == "running" && in.RestartCount == 1 && len(in.LastRestarts) >= 1
	})
	if r := in.LastRestarts[0]; r.ExitCode == nil || *r.ExitCode != 3 || r.HealthCheck || r.State != "restarting" ||
		r.ReleaseID != service(t, d, "web").ServiceDeploymentID {
		t.Errorf("the restart recorded = %+v", r)
	}
}

// TestContainerCrashedRelease: a container release that exits each time
// it is up is restarted --max-restarts times, then crashed: Get Service
// shows it and the proxy answers 503.
func TestContainerCrashedRelease(t *testing.T) {
	t.Parallel()
	f, cli := newContainerFixture(t, "ctr-crashed", map[string]string{"web/crash.txt": "7"},
		"--restart-backoff", "100ms", "--restart-backoff-max", "200ms", "--max-restarts", "2")
	d := f.deployOK("")
	deployed := time.Now()
	webID := service(t, d, "web").Service.ServiceID
	var in client.ServiceInstance
	waitUntil(t, "the web release to be recorded crashed", func() bool {
		var ok bool
		in, ok = f.instanceOf(webID)
		return ok && in.State == "crashed"
	})
	t.Logf("containers: a container release that always crashes was recorded crashed %s after its deployment (backoff 100ms to 200ms, 2 restarts)",
		time.Since(deployed).Round(time.Millisecond))
	if in.RestartCount != 2 || len(in.LastRestarts) != 3 {
		t.Fatalf("crashed instance = %+v, want 2 restarts and 3 records", in)
	}
	for i, r := range in.LastRestarts {
		want := "restarting"
		if i == 0 {
			want = "crashed"
		}
		if r.State != want || r.ExitCode == nil || *r.ExitCode != 7 {
			t.Errorf("restart record %d = %+v, want %s with status 7", i, r, want)
		}
	}
	status, body := f.get("web", "/")
	if status != 503 || !strings.Contains(body, "has crashed") {
		t.Errorf("the proxy answers a crashed container service %d %q, want 503 with the crashed page", status, body)
	}
	if cs := projectContainers(t, cli, f.project, ""); len(cs) != 0 {
		t.Errorf("a crashed release leaves running containers: %+v", cs)
	}
}

// TestContainerSurvivesKill9: Liftoff is killed with SIGKILL while a
// container release runs: the container keeps answering on its published
// port; the restarted Liftoff adopts it (the same containers run, none
// more) and serves it through the proxy, and a redeploy replaces it.
func TestContainerSurvivesKill9(t *testing.T) {
	t.Parallel()
	f, cli := newContainerFixture(t, "ctr-kill9", nil)
	f.deployOK("")
	f.expectAnswer("web", "v1")
	before := projectContainers(t, cli, f.project, "")
	if len(before) != 1 {
		t.Fatalf("%d containers of the project run, want 1: %+v", len(before), before)
	}
	port := before[0].Labels["liftoff.port"]
	direct := func() (int, string) {
		resp, err := http.Get("http://127.0.0.1:" + port + "/")
		if err != nil {
			return 0, err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := direct(); status != 200 || body != "v1" {
		t.Fatalf("the container answers %d %q on its port %s", status, body, port)
	}

	f.srv.kill()
	if status, body := direct(); status != 200 || body != "v1" {
		t.Fatalf("after kill -9 of Liftoff the container answers %d %q on its port %s", status, body, port)
	}
	if during := projectContainers(t, cli, f.project, ""); !sameContainers(before, during) {
		t.Fatalf("after kill -9 of Liftoff the containers are %+v, were %+v", during, before)
	}

	f.start()
	waitUntil(t, "the restarted Liftoff serves web", func() bool {
		status, body := f.get("web", "/")
		return status == 200 && body == "v1"
	})
	after := projectContainers(t, cli, f.project, "")
	t.Logf("containers: %d running before kill -9 of Liftoff, %d after its restart (adopted: %v)", len(before), len(after), sameContainers(before, after))
	if !sameContainers(before, after) {
		t.Fatalf("the restarted Liftoff runs %+v, not the containers it had: %+v", after, before)
	}
	f.repo.Commit("v2", map[string]string{"web/version.txt": "v2"})
	d := f.deployOK("")
	if s := service(t, d, "web"); s.Status != "SUCCESS" {
		t.Fatalf("redeploy after the restart: web %s", s.Status)
	}
	f.expectAnswer("web", "v2")
	waitUntil(t, "the adopted container is replaced", func() bool {
		cs := projectContainers(t, cli, f.project, "")
		return len(cs) == 1 && cs[0].Name != before[0].Name
	})
}

// sameContainers reports whether two listings name the same containers.
func sameContainers(a, b []container.State) bool {
	return slices.EqualFunc(a, b, func(x, y container.State) bool { return x.Name == y.Name && x.ID == y.ID })
}

// TestContainerPreviewTeardown: a preview of a PR runs the docker service
// as a container beside production's; tearing the preview down removes
// its containers and images and leaves production's.
func TestContainerPreviewTeardown(t *testing.T) {
	t.Parallel()
	f, cli := newContainerFixture(t, "ctr-preview", nil)
	ctx := context.Background()
	f.deployOK("")
	pv := f.project.Environments[1].EnvironmentID
	sha := f.branch("feature-1", map[string]string{"web/version.txt": "pr1"})
	d := f.wait(callHook(t, f.previewURL(1, sha)))
	if d.Status != "SUCCESS" || d.PRNumber == nil || *d.PRNumber != 1 {
		t.Fatalf("PR 1 deployment = %s %+v", d.Status, d.Error)
	}
	if status, body := f.previewGet("web", 1); status != 200 || body != "pr1" {
		t.Fatalf("PR 1 web answers %d %q", status, body)
	}
	f.expectAnswer("web", "v1")
	if cs := projectContainers(t, cli, f.project, "pr-1.preview"); len(cs) != 1 {
		t.Fatalf("%d containers of PR 1 run, want 1: %+v", len(cs), cs)
	}
	if tags := projectImageTags(t, cli, f.project, "preview-pr-1"); len(tags) != 1 {
		t.Fatalf("PR 1 has the images %v, want 1", tags)
	}
	production := projectContainers(t, cli, f.project, "production")
	if len(production) != 1 {
		t.Fatalf("%d containers of production run, want 1: %+v", len(production), production)
	}

	if torn, err := f.c.DeletePreview(ctx, pv, 1); err != nil || torn.DeletedAt == nil {
		t.Fatalf("teardown of PR 1 = %+v, %v", torn, err)
	}
	// The signal that the cleanup finished: the server logs it. A round
	// that fails (it logs why) is tried again at the janitor's next one,
	// 30s later.
	cleaned := func(l string) bool {
		return strings.Contains(l, `"msg":"preview cleaned up"`) && strings.Contains(l, `"pr":1`)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for !slices.ContainsFunc(f.logs.all(), cleaned) {
		if time.Now().After(deadline) {
			t.Fatalf("the torn down preview was not cleaned up within 3m:\n%s", strings.Join(f.logs.all(), "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, l := range f.logs.all() {
		if strings.Contains(l, "clean up a torn down preview") {
			t.Logf("a cleanup round failed, and was tried again: %s", l)
		}
	}
	all, err := cli.List(ctx, map[string]string{"liftoff.project": f.project.ProjectID, "liftoff.instance": "pr-1.preview"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) > 0 {
		t.Errorf("containers of the torn down preview are left: %+v", all)
	}
	if tags := projectImageTags(t, cli, f.project, "preview-pr-1"); len(tags) > 0 {
		t.Errorf("images of the torn down preview are left: %v", tags)
	}
	if status, _ := f.previewGet("web", 1); status != 404 {
		t.Errorf("a torn down preview answers %d, want 404", status)
	}
	f.expectAnswer("web", "v1")
	if left := projectContainers(t, cli, f.project, ""); !sameContainers(left, production) {
		t.Errorf("the teardown touched production's containers: %+v, were %+v", left, production)
	}
	if tags := projectImageTags(t, cli, f.project, "production"); len(tags) != 1 {
		t.Errorf("production's images after the teardown: %v, want 1", tags)
	}
}

// TestContainerLogsFollow: liftoff logs -f follows what a running
// container release prints, and a secret variable's value it printed
// appears as [REDACTED].
func TestContainerLogsFollow(t *testing.T) {
	t.Parallel()
	f, _ := newContainerFixture(t, "ctr-logs", nil)
	const secret = "sk_live_c0n7a1ner-9f8e7d"
	f.cliIn(secret, "env", "set", "--project", "ctr-logs", "--env", "production", "--service", "web", "--secret", "PRINTED_SECRET")
	f.deployOK("")
	if status, body := f.get("web", "/env/PRINTED_SECRET"); status != 200 || body != secret {
		t.Fatalf("the container has PRINTED_SECRET=%q (%d)", body, status)
	}

	followScrubbed(t, f, "ctr-logs", "web", secret, 60*time.Second)
}
