package api_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/job"
	"github.com/liftoffhq/liftoff/internal/notify"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/protect"
	"github.com/liftoffhq/liftoff/internal/repoaccess"
	"github.com/liftoffhq/liftoff/internal/resources"
	rt "github.com/liftoffhq/liftoff/internal/resources/resourcestest"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/supervision"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// testConfig has a production and a staging environment with two services,
// a preview environment, and an environment whose only services are of types
// Liftoff does not run (so it has no services Liftoff deploys).
const testConfig = `{
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
    ]},
    {"id": "data", "name": "Data", "source": {"branch": "main"}, "services": [
      {"id": "db", "name": "DB", "type": "rds"},
      {"id": "cache", "name": "Cache", "type": "elasticache"}
    ]}
  ]
}`

// harness is a real API on a real store, over real HTTP, with a project made
// from a real git repository.
type harness struct {
	t       *testing.T
	store   store.Store
	srv     *httptest.Server
	c       *client.Client
	key     string
	rec     *hook.Recorder
	hooks   *hook.Service
	repo    *gittest.Repo
	logs    *syncBuffer
	project client.Project
	env     map[string]int64 // given id → environment id
	mirrors string           // the git mirrors' directory
	// resources makes databases on the test PostgreSQL server, when
	// LIFTOFF_TEST_DATABASE_URL names one.
	resources *resources.Service
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testHooks is the hook.Config liftoff serve passes by default, changed by
// each of tune.
func testHooks(tune ...func(*hook.Config)) hook.Config {
	cfg := hook.Config{PublicURL: "http://127.0.0.1:8080", PerHookPerMinute: 60, FailuresPerMinute: 20}
	for _, f := range tune {
		f(&cfg)
	}
	return cfg
}

// newHooks is the hooks domain on st with cfg, recording through rec,
// queueing with no preview limit on a node without an engine.
func newHooks(t testing.TB, st store.Store, rec *hook.Recorder, cfg hook.Config, log *slog.Logger) *hook.Service {
	t.Helper()
	return newHooksWith(t, st, rec, cfg, log, deploymentsOn(st))
}

// newHooksWith is newHooks queueing through deployments.
func newHooksWith(t testing.TB, st store.Store, rec *hook.Recorder, cfg hook.Config, log *slog.Logger, deployments *deployment.Service) *hook.Service {
	t.Helper()
	s, err := hook.NewService(st, rec, deployments, cfg, log, cuid.New)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newHarness(t *testing.T, dialect string, cfg hook.Config) *harness {
	t.Helper()
	return newHarnessAllowing(t, dialect, cfg)
}

// newHarnessAllowing is newHarness with more --allowed-repos patterns.
func newHarnessAllowing(t *testing.T, dialect string, cfg hook.Config, patterns ...string) *harness {
	t.Helper()
	return newHarnessLimited(t, dialect, cfg, deployment.Limits{}, patterns...)
}

// newHarnessLimited is newHarnessAllowing with limits on hook calls'
// deployments.
func newHarnessLimited(t *testing.T, dialect string, cfg hook.Config, lim deployment.Limits, patterns ...string) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, store: storetest.Open(t, dialect), logs: &syncBuffer{}, env: map[string]int64{}, mirrors: filepath.Join(t.TempDir(), "mirrors")}
	log := slog.New(slog.NewTextHandler(h.logs, nil))
	git := gitsource.NewManager(h.mirrors, log, tempDirPolicy(t, patterns...))
	h.rec = hook.NewRecorder(h.store, 0, log)
	h.rec.Start(ctx)
	t.Cleanup(h.rec.Stop)
	keys := apikey.NewService(h.store, cuid.New)
	deployments := deploymentsOn(h.store)
	deployments.Limits = lim
	vars := variablesOn(t, h.store)
	// Managed databases on the test server, when there is one.
	var managed resources.Config
	if os.Getenv(rt.EnvDatabaseURL) != "" {
		managed.PostgresURL = rt.PostgresAdmin(t)
	}
	res, err := resources.New(managed, h.store, vars.Keys, cuid.New, log)
	if err != nil {
		t.Fatal(err)
	}
	h.resources = res
	notifications, err := notify.New(notify.Config{Store: h.store, Keys: vars.Keys, NodeID: testNode, NewID: cuid.New, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Deps{Notifications: notifications, Resources: res, Deployments: deployments, Variables: vars, Jobs: &job.Service{Store: h.store, NewID: cuid.New, Now: time.Now},
		Supervision: &supervision.Service{Store: h.store, Reader: fakeLogs{}, NodeID: testNode}, Projects: project.NewService(h.store, git, vars.Keys, log, cuid.New), APIKeys: keys, Log: log,
		Hooks: newHooksWith(t, h.store, h.rec, cfg, log, deployments), Protection: protect.NewService(h.store, vars.Keys)})
	h.hooks = a.Hooks
	h.srv = httptest.NewServer(a)
	t.Cleanup(h.srv.Close)
	_, key, err := keys.Create(ctx, apikey.CreateParams{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	h.key = key
	h.c = client.New(h.srv.URL, key)

	h.repo = gittest.New(t)
	h.repo.Commit("init", map[string]string{"liftoff.json": testConfig, "api/main.go": "package main", "site/index.html": "hi"})
	p, err := h.c.CreateProject(ctx, "shop", h.repo.Dir, "")
	if err != nil {
		t.Fatal(err)
	}
	h.project = p
	for _, e := range p.Environments {
		h.env[e.GivenID] = e.EnvironmentID
	}
	return h
}

// createHook makes a hook and returns its secret and id.
func (h *harness) createHook(env string) (secret, id string) {
	h.t.Helper()
	c, err := h.c.CreateHook(context.Background(), h.env[env], "CI "+env)
	if err != nil {
		h.t.Fatal(err)
	}
	return c.Secret, c.ID
}

// call sends a raw request and returns status, headers and body.
func (h *harness) call(method, path string, header http.Header) (int, http.Header, string) {
	return callT(h.t, h, method, path, header)
}

func callT(t testing.TB, h *harness, method, path string, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+"/", strings.NewReader("ignored body"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	// Send the path exactly as written: no cleaning, no re-escaping.
	req.URL.Opaque = path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		req.URL.Opaque, req.URL.RawQuery = path[:i], path[i+1:]
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (h *harness) deployments() []client.Deployment {
	h.t.Helper()
	page, err := h.c.Deployments(context.Background(), client.DeploymentFilter{Limit: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	return page.Deployments
}

// tempDirPolicy allows the defaults and the test's temporary directories,
// where gittest makes its repositories: what --allowed-repos does for an
// operator's /srv/git.
func tempDirPolicy(t testing.TB, more ...string) *repoaccess.Policy {
	t.Helper()
	patterns := append([]string{filepath.Join(os.TempDir(), "**"), "https://*/**", "http://*/**", "ssh://*/**"}, more...)
	p, err := repoaccess.New(repoaccess.Config{Patterns: patterns})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// deploymentsOn is the deployment service of a node without an engine.
func deploymentsOn(st store.Store) *deployment.Service {
	return &deployment.Service{Store: st, NewID: cuid.New, Now: time.Now, Runner: deployment.NoRunner{}}
}

// variablesOn is the variables service of st, with a key file of the test.
func variablesOn(t testing.TB, st store.Store) *variables.Service {
	t.Helper()
	v, _, err := variables.Open(st, filepath.Join(t.TempDir(), "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// makeDatabase makes the database of service of an environment instance
// on the test PostgreSQL server; false when there is none.
func (h *harness) makeDatabase(env int64, pr int, service string) bool {
	h.t.Helper()
	if !h.resources.Available()[config.ManagedPostgres] {
		return false
	}
	id := resources.Identity{ProjectID: h.project.ProjectID, ProjectSlug: "t" + rt.Suffix(), EnvironmentID: env, EnvGivenID: "production",
		PRNumber: pr, ServiceID: service}
	if _, _, err := h.resources.Ensure(context.Background(), id, config.Service{ID: service, Type: "rds", Engine: "postgres"}, nil); err != nil {
		h.t.Fatal(err)
	}
	return true
}
