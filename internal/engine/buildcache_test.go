package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/buildcache"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/sandbox/sandboxtest"
	"github.com/liftoffhq/liftoff/internal/store"
)

// cacheService's commands say whether what the previous build left in its
// caches is there (GOCACHE, the environment's tools cache; node_modules,
// a cacheDirectories entry), then leave their own, as tools do (a new
// file in place of the old one): the environment and pull request that
// wrote them.
const cacheService = `{"id": "web", "type": "web", "startCommand": "true", "cacheDirectories": ["node_modules"],
	"installCommand": "if [ -f node_modules/by ]; then echo \"dir-hit $(cat node_modules/by)\"; else echo dir-miss; fi; mkdir -p node_modules; rm -f node_modules/by; echo $LIFTOFF_ENV_ID-${LIFTOFF_PR_NUMBER:-0} > node_modules/by",
	"buildCommand": "if [ -f \"$GOCACHE/by\" ]; then echo \"go-hit $(cat $GOCACHE/by)\"; else echo go-miss; fi; mkdir -p \"$GOCACHE\"; echo $LIFTOFF_ENV_ID-${LIFTOFF_PR_NUMBER:-0} > \"$GOCACHE/by\"; BUILD_EXTRA"}`

// cacheConfig is a production and a preview environment of cacheService,
// whose build command ends with extra.
func cacheConfig(extra string) string {
	svc := strings.Replace(cacheService, "BUILD_EXTRA", extra, 1)
	return `{"environments": [{"id": "production", "source": {"branch": "main"}, "services": [` + svc + `]},
		{"id": "preview", "source": {"pr": true}, "services": [` + svc + `]}]}`
}

// withBuildCache runs the engine's builds in a bubblewrap sandbox over its
// data dir, with build caches there.
func withBuildCache(t *testing.T) func(*Deps, *Config) {
	return func(d *Deps, c *Config) {
		d.Sandbox = sandboxtest.New(t, c.DataDir)
		m, err := buildcache.New(buildcache.Config{Dir: filepath.Join(c.DataDir, "buildcache"), MaxSize: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		d.BuildCache = m
	}
}

// deployCached deploys d and returns its log, failing the test unless it
// ends with status want.
func (h *engineHarness) deployCached(d liftoff.Deployment, want liftoff.Status) string {
	h.t.Helper()
	d.Force = true
	got := h.deploy(d)
	text := logText(h.t, h, got.ID)
	if got.Status != want {
		h.t.Fatalf("deployment ended %s, want %s: %+v\n%s", got.Status, want, got.Errors, text)
	}
	return text
}

func says(t *testing.T, log string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(log, l) {
			t.Errorf("the log does not say %q:\n%s", l, log)
		}
	}
}

func TestBuildCacheLastsBetweenDeployments(t *testing.T) {
	t.Parallel()
	h := newEngineHarness(t, cacheConfig(":"), nil, newFakeTarget(), withBuildCache(t))

	says(t, h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess),
		"go-miss", "dir-miss", "Build cache of web: none saved yet, building cold", "Build cache of web saved")
	says(t, h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess),
		"go-hit production-0", "dir-hit production-0", "Build cache of web restored", "Restored cacheDirectories: node_modules")

	// A failed build is not saved: what it wrote as tools do (a new
	// file in place of the old one) is not there at the next build.
	h.repo.Commit("break the build", map[string]string{"liftoff.json": cacheConfig(
		`rm \"$GOCACHE/by\" node_modules/by; echo poisoned > \"$GOCACHE/by\"; echo poisoned > node_modules/by; exit 3`)})
	failed := h.deployCached(liftoff.Deployment{}, liftoff.StatusBuildError)
	says(t, failed, "go-hit production-0", "Build cache of web not saved: the build did not succeed", "deploy with clearCache")
	if strings.Contains(failed, "building again") {
		t.Errorf("a build that failed on its own ran again:\n%s", failed)
	}
	h.repo.Commit("fix the build", map[string]string{"liftoff.json": cacheConfig(":")})
	says(t, h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess), "go-hit production-0", "dir-hit production-0")

	// One that wrote into a cached file in place, and failed: its file is
	// the saved cache's too; the next build drops that cache.
	h.repo.Commit("break it in place", map[string]string{"liftoff.json": cacheConfig(
		`echo half-written >> \"$GOCACHE/by\"; echo half-written >> node_modules/by; exit 3`)})
	h.deployCached(liftoff.Deployment{}, liftoff.StatusBuildError)
	h.repo.Commit("fix it again", map[string]string{"liftoff.json": cacheConfig(":")})
	says(t, h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess),
		"Build cache of web could not be restored (its files changed since it was saved", "dropped, building cold", "go-miss", "dir-miss")

	// clearCache starts from nothing.
	log := h.deployCached(liftoff.Deployment{ClearCache: true}, liftoff.StatusSuccess)
	says(t, log, "Build cache of web cleared (clearCache)", "go-miss", "dir-miss", "Build cache of web saved")
}

// TestBuildCachesOfProjectsAreApart: a build of project B neither sees
// nor writes the build cache of project A, though it knows its path.
func TestBuildCachesOfProjectsAreApart(t *testing.T) {
	t.Parallel()
	h := newEngineHarness(t, cacheConfig(":"), nil, newFakeTarget(), withBuildCache(t))
	h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess)
	theirs := filepath.Join(h.e.cfg.DataDir, "buildcache", h.p.ID, "production", "web", "cache")
	entry := filepath.Join(theirs, "go", "build", "by")
	if b, err := os.ReadFile(entry); err != nil || string(b) != "production-0\n" {
		t.Fatalf("project A's saved cache: %q, %v", b, err)
	}

	// Project B, on the same engine, reads and writes A's cache path, and
	// its working copy's (where A's build wrote).
	attack := fmt.Sprintf(`cat %[1]s/go/build/by %[2]s/go/build/by 2>&1; echo seen: $(ls %[3]s 2>&1); `+
		`mkdir -p %[1]s/go/build %[2]s/go/build && echo B > %[1]s/go/build/by && echo B > %[2]s/go/build/by && echo wrote-there`,
		theirs, filepath.Join(filepath.Dir(theirs), "work"), filepath.Join(h.e.cfg.DataDir, "buildcache"))
	b := newProject(t, h, "other", cacheConfig(attack))
	log := b.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess)
	says(t, log, "go-miss", "wrote-there", "seen: "+b.p.ID+"\n")
	if strings.Contains(log, "production-0") {
		t.Errorf("project B's build read project A's cache:\n%s", log)
	}
	if b, err := os.ReadFile(entry); err != nil || string(b) != "production-0\n" {
		t.Errorf("project A's saved cache after B's build: %q, %v", b, err)
	}
	says(t, h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess), "go-hit production-0")
}

// newProject is a second project, on a repository of its own with cfg,
// deployed by h's engine; its harness shares h's engine and store.
func newProject(t *testing.T, h *engineHarness, name, cfg string) *engineHarness {
	t.Helper()
	o := *h
	o.repo = newRepo(t, cfg)
	var err error
	o.p, err = h.st.CreateProject(h.ctx, store.CreateProjectParams{ID: cuid.New(), Name: name, RepoURL: o.repo.Dir,
		ConfigPath: "liftoff.json", DefaultBranch: "main", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := h.st.SyncEnvironments(h.ctx, store.SyncEnvironmentsParams{ProjectID: o.p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main"}}})
	if err != nil {
		t.Fatal(err)
	}
	o.env = envs[0]
	return &o
}

// TestPreviewBuildCache: a pull request's first build starts from
// production's cache, and then keeps its own; production never sees what
// a preview wrote.
func TestPreviewBuildCache(t *testing.T) {
	t.Parallel()
	h := newEngineHarness(t, cacheConfig(":"), nil, newFakeTarget(), withBuildCache(t))
	envs, err := h.st.SyncEnvironments(h.ctx, store.SyncEnvironmentsParams{ProjectID: h.p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main"},
			{GivenID: "preview", Name: "Previews", IsPreview: true,
				Config: fromJSON[config.Environment](`{"id": "preview", "source": {"pr": true}, "services": [` + strings.Replace(cacheService, "BUILD_EXTRA", ":", 1) + `]}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	preview := *h
	for _, e := range envs {
		if e.GivenID == "preview" {
			preview.env = e
		}
	}
	pr := func(n int) liftoff.Deployment {
		return liftoff.Deployment{PRNumber: n, RequestedCommit: h.repo.Head(), GitBranch: "feature"}
	}

	says(t, h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess), "go-miss")
	says(t, preview.deployCached(pr(7), liftoff.StatusSuccess),
		"Build cache of web starts from a copy of production/web's", "go-hit production-0", "dir-hit production-0")
	says(t, h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess), "go-hit production-0", "dir-hit production-0")
	says(t, preview.deployCached(pr(7), liftoff.StatusSuccess), "Build cache of web restored", "go-hit preview-7", "dir-hit preview-7")
	says(t, preview.deployCached(pr(8), liftoff.StatusSuccess), "go-hit production-0")

	// A torn down preview's cache goes with it.
	dir := filepath.Join(h.e.cfg.DataDir, "buildcache", h.p.ID, "preview.pr-7")
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	if err := h.e.cleanPreview(h.ctx, liftoff.PreviewInstance{EnvironmentID: preview.env.ID, PRNumber: 7}, preview.env); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the torn down preview's cache is still there: %v", err)
	}
}

// TestCorruptBuildCacheRunsCold: a saved cache that cannot be restored
// never fails the build: it is dropped, the log says so, the build runs
// cold and saves a good one.
func TestCorruptBuildCacheRunsCold(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		corrupt func(t *testing.T, saved string)
	}{
		{"half-written: no manifest", func(t *testing.T, saved string) {
			if err := os.Remove(filepath.Join(saved, ".liftoff-cache.json")); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage", func(t *testing.T, saved string) {
			if err := os.WriteFile(filepath.Join(saved, ".liftoff-cache.json"), []byte("\x00garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(saved, "go", "build", "by"), []byte("\x00\xff"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newEngineHarness(t, cacheConfig(":"), nil, newFakeTarget(), withBuildCache(t))
			h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess)
			c.corrupt(t, filepath.Join(h.e.cfg.DataDir, "buildcache", h.p.ID, "production", "web", "cache"))
			says(t, h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess),
				"Build cache of web could not be restored", "dropped, building cold", "go-miss", "dir-miss", "Build cache of web saved")
			says(t, h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess), "go-hit production-0")
		})
	}
}

// newRepo is a repository whose first commit holds liftoff.json.
func newRepo(t *testing.T, cfg string) *gittest.Repo {
	t.Helper()
	r := gittest.New(t)
	r.Commit("init", map[string]string{"liftoff.json": cfg})
	return r
}

// TestDockerBuildCache: a docker service's image builds read podman's
// layer cache, and its Dockerfile's cache mounts last from one build to
// the next in its build cache; clearCache builds with neither.
func TestDockerBuildCache(t *testing.T) {
	cli := containertest.CLI(t)
	if cli.Kind() != container.Podman {
		t.Skip("docker keeps cache mounts in BuildKit's daemon")
	}
	cfg := `{"environments": [{"id": "production", "source": {"branch": "main"}, "services": [
		{"id": "img", "type": "worker", "buildType": "docker"}]}]}`
	files := map[string]string{"Dockerfile": "FROM " + containertest.BaseImage + "\n" +
		"RUN echo layer-ran-$((1+1)) | tee /layer\n" +
		"ARG LIFTOFF_DEPLOYMENT_ID\n" +
		"RUN --mount=type=cache,target=/cache sh -c 'echo \"mount holds: $(ls /cache | tr \"\\n\" \" \")\"; touch /cache/$LIFTOFF_DEPLOYMENT_ID'\n"}
	h := newEngineHarness(t, cfg, files, newFakeTarget(), withBuildCache(t), func(d *Deps, _ *Config) { d.Containers = cli })
	containertest.Cleanup(t, cli, LabelProject, h.p.ID)

	first := h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess)
	says(t, first, "mount holds: \n", "layer-ran-2", "Build cache of img saved")
	second := h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess)
	says(t, second, "Build cache of img restored", "mount holds: c") // the first deployment's id
	if strings.Contains(second, "layer-ran-2") {
		t.Errorf("the second build ran a step whose layer is cached:\n%s", second)
	}
	says(t, h.deployCached(liftoff.Deployment{ClearCache: true}, liftoff.StatusSuccess),
		"Build cache of img cleared (clearCache)", "mount holds: \n", "layer-ran-2")
}

// TestBuildFailingOnItsCacheRunsAgainCold: a cached file whose bytes went
// bad without changing its size passes the saved cache's digest; the build
// fails on it, naming it; the build runs again, cold, and succeeds.
func TestBuildFailingOnItsCacheRunsAgainCold(t *testing.T) {
	t.Parallel()
	cfg := `{"environments": [{"id": "production", "source": {"branch": "main"}, "services": [{"id": "web", "type": "web", "startCommand": "true",
		"buildCommand": "if grep -q bitrot \"$GOCACHE/by\" 2>/dev/null; then echo \"corrupt entry in $GOCACHE/by\" >&2; exit 2; fi; echo build-ok; mkdir -p \"$GOCACHE\"; echo production-0 > \"$GOCACHE/by\""}]}]}`
	h := newEngineHarness(t, cfg, nil, newFakeTarget(), withBuildCache(t))
	h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess)
	entry := filepath.Join(h.e.cfg.DataDir, "buildcache", h.p.ID, "production", "web", "cache", "go", "build", "by")
	if err := os.WriteFile(entry, []byte("bitrot-00000\n"), 0o644); err != nil { // the same size
		t.Fatal(err)
	}
	log := h.deployCached(liftoff.Deployment{}, liftoff.StatusSuccess)
	says(t, log, "Build cache of web restored", "corrupt entry in", "The build failed on a file of its cache", "building again from a clean checkout, cold",
		"build-ok", "Build cache of web saved")
	if b, err := os.ReadFile(entry); err != nil || string(b) != "production-0\n" {
		t.Errorf("the saved cache after the cold build: %q, %v", b, err)
	}
}

// TestProductionCacheOfAPreview: which environment's cache a preview's
// first build starts from.
func TestProductionCacheOfAPreview(t *testing.T) {
	t.Parallel()
	const web = `{"id": "web", "type": "web", "startCommand": "s"}`
	env := func(id, source string, services ...string) string {
		return `{"id": "` + id + `", "source": ` + source + `, "services": [` + strings.Join(services, ",") + `]}`
	}
	parser, err := config.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		envs       []string
		baseBranch string
		want       string // environment; "" for none
	}{
		{"the base branch's environment", []string{env("production", `{"branch": "main"}`, web), env("staging", `{"branch": "develop"}`, web),
			env("preview", `{"pr": true}`, web)}, "develop", "staging"},
		{"the one branch the filter names", []string{env("production", `{"branch": "main"}`, web), env("staging", `{"branch": "develop"}`, web),
			env("preview", `{"pr": true, "filter": {"toBranches": ["develop"]}}`, web)}, "", "staging"},
		{"a filter's pattern names no branch: production", []string{env("staging", `{"branch": "develop"}`, web), env("production", `{"branch": "main"}`, web),
			env("preview", `{"pr": true, "filter": {"toBranches": ["release/*"]}}`, web)}, "", "production"},
		{"no production: the first", []string{env("live", `{"branch": "main"}`, web), env("staging", `{"branch": "develop"}`, web),
			env("preview", `{"pr": true}`, web)}, "feature", "live"},
		{"the service is not there", []string{env("production", `{"branch": "main"}`, `{"id": "api", "type": "web", "startCommand": "s"}`),
			env("preview", `{"pr": true}`, web)}, "main", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, _, err := parser.Parse([]byte(`{"environments": [` + strings.Join(c.envs, ",") + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			envCfg, _ := f.Environment("preview")
			r := &deployment{project: liftoff.Project{ID: "p1"}, file: f, envCfg: envCfg,
				d: liftoff.Deployment{PRNumber: 3, TriggerDetail: liftoff.TriggerDetail{BaseBranch: c.baseBranch}}}
			got := r.productionCache("web")
			switch {
			case c.want == "" && got != nil:
				t.Errorf("productionCache = %+v, want none", *got)
			case c.want != "" && (got == nil || got.Environment != c.want || got.Service != "web" || got.PR != 0 || got.Project != "p1"):
				t.Errorf("productionCache = %+v, want %s/web", got, c.want)
			}
		})
	}
}
