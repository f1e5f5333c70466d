package engine

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	deployments "github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// fakeTarget runs nothing: it records what it was asked to release, fails
// the services named in fail with that message, and holds the release of
// the services in hold until the deployment is cancelled. Every Deploy is
// announced on started, so a test can act while one runs.
type fakeTarget struct {
	started chan string // service ids, as their Deploy starts; buffered for more than a test makes

	mu       sync.Mutex
	fail     map[string]string // by service id
	hold     map[string]bool   // by service id
	releases []target.Release
}

func newFakeTarget() *fakeTarget {
	return &fakeTarget{fail: map[string]string{}, hold: map[string]bool{}, started: make(chan string, 64)}
}

func (f *fakeTarget) Deploy(ctx context.Context, rel target.Release) error {
	f.mu.Lock()
	f.releases = append(f.releases, rel)
	hold, msg := f.hold[rel.Service.ID], f.fail[rel.Service.ID]
	f.mu.Unlock()
	f.started <- rel.Service.ID
	if hold {
		<-ctx.Done()
		return context.Cause(ctx)
	}
	if msg != "" {
		return errors.New(msg)
	}
	return nil
}

// failWith makes the releases of service fail with msg; "" lets them
// succeed again.
func (f *fakeTarget) failWith(service, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[service] = msg
}

// holdRelease makes the releases of service last until their deployment
// is cancelled.
func (f *fakeTarget) holdRelease(service string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold[service] = true
}

func (f *fakeTarget) Domain(_ config.Service, hosts []string) string {
	if len(hosts) == 0 {
		return ""
	}
	return "http://" + hosts[0]
}

func (f *fakeTarget) StopInstance(context.Context, target.Instance) error { return nil }

// released lists the releases made so far, in order.
func (f *fakeTarget) released() []target.Release {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]target.Release(nil), f.releases...)
}

// engineHarness is a started engine on a real SQLite store and a real
// repository, releasing to a fakeTarget: tests queue deployments and wait
// for their final status in the store.
type engineHarness struct {
	t    *testing.T
	ctx  context.Context
	st   store.Store
	e    *Engine
	tg   *fakeTarget
	repo *gittest.Repo
	p    liftoff.Project
	env  liftoff.Environment
	logs *syncBuffer
	vars *variables.Service
}

// newEngineHarness makes a repository whose first commit holds liftoff.json
// (cfg) and files, a project on it with the production environment
// (branch main), and a started engine with tg as both its local and its
// command target.
func newEngineHarness(t *testing.T, cfg string, files map[string]string, tg *fakeTarget, opts ...func(*Deps, *Config)) *engineHarness {
	t.Helper()
	h := &engineHarness{t: t, ctx: context.Background(), st: storetest.Open(t, "sqlite"), tg: tg, logs: &syncBuffer{}}
	all := map[string]string{"liftoff.json": cfg}
	for name, text := range files {
		all[name] = text
	}
	h.repo = gittest.New(t)
	h.repo.Commit("init", all)
	var err error
	h.p, err = h.st.CreateProject(h.ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: h.repo.Dir,
		ConfigPath: "liftoff.json", DefaultBranch: "main", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := h.st.SyncEnvironments(h.ctx, store.SyncEnvironmentsParams{ProjectID: h.p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main"}}})
	if err != nil {
		t.Fatal(err)
	}
	h.env = envs[0]

	log := slog.New(slog.NewTextHandler(h.logs, nil))
	h.vars = variablesOf(t, h.st)
	deps := Deps{Store: h.st, Git: gitsource.NewManager(filepath.Join(t.TempDir(), "mirrors"), log, nil),
		Logs: newLogs(t, h.st, log), Local: tg, Command: tg, Log: log, NewID: cuid.New, Variables: h.vars}
	cfg2 := Config{DataDir: t.TempDir(), NodeID: "node-a", SingleNode: true, Workers: 1, StopTimeout: 30 * time.Second}
	for _, o := range opts {
		o(&deps, &cfg2)
	}
	h.e, err = New(deps, cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.e.Start(h.ctx); err != nil {
		t.Fatal(err)
	}
	// Registered after the temp dirs: the engine stops before they go.
	t.Cleanup(func() {
		h.e.Stop()
		if t.Failed() {
			t.Logf("engine log:\n%s", h.logs)
		}
	})
	return h
}

// deployments is the use case service of this node.
func (h *engineHarness) deployments() *deployments.Service {
	return &deployments.Service{Store: h.st, NewID: cuid.New, Now: time.Now, Runner: h.e}
}

// queue stores d as a PENDING deployment of the branch head of main (d
// may set Force, RequestedCommit ...) and wakes the engine.
func (h *engineHarness) queue(d liftoff.Deployment) string {
	h.t.Helper()
	d.ID, d.ProjectID, d.EnvironmentID, d.RepoURL = cuid.New(), h.p.ID, h.env.ID, h.p.RepoURL
	d.Status, d.CreatedAt = liftoff.StatusPending, time.Now()
	if d.GitBranch == "" {
		d.GitBranch = "main"
	}
	if d.TriggerType == "" {
		d.TriggerType = liftoff.TriggerAPI
	}
	if err := h.st.InsertDeployment(h.ctx, d); err != nil {
		h.t.Fatal(err)
	}
	h.deployments().Queued()
	return d.ID
}

// deploy queues d and waits for its end.
func (h *engineHarness) deploy(d liftoff.Deployment) liftoff.Deployment {
	h.t.Helper()
	return h.wait(h.queue(d))
}

// waitBound bounds the wait for a deployment to end: generous, as image
// builds on a loaded machine take minutes; it only matters when one hangs.
const waitBound = 3 * time.Minute

// wait returns deployment id once it has a final status, read from the
// store until a deadline.
func (h *engineHarness) wait(id string) liftoff.Deployment {
	h.t.Helper()
	deadline := time.Now().Add(waitBound)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		d, err := h.st.GetDeployment(h.ctx, store.GetDeploymentParams{ID: id})
		if err != nil {
			h.t.Fatal(err)
		}
		if d.Status.Final() {
			return d
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("deployment %s is still %s after %s", id, d.Status, waitBound)
		}
		<-tick.C
	}
}

// service is the service deployment of given id in d.
func service(t *testing.T, d liftoff.Deployment, given string) liftoff.ServiceDeployment {
	t.Helper()
	for _, sd := range d.Services {
		if sd.ServiceGivenID == given {
			return sd
		}
	}
	t.Fatalf("deployment %s (%s) has no service %q: %+v", d.ID, d.Status, given, d.Services)
	return liftoff.ServiceDeployment{}
}

// newLogs are log streams on st with liftoff serve's default cap.
func newLogs(t *testing.T, st store.LogQueries, log *slog.Logger) *logstream.Streams {
	t.Helper()
	logs, err := logstream.New(st, log, logstream.Options{MaxDeploymentBytes: 10 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

// variablesOf is the variables service of st, with a key file of the test.
func variablesOf(t testing.TB, st store.Store) *variables.Service {
	t.Helper()
	v, _, err := variables.Open(st, filepath.Join(t.TempDir(), "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
