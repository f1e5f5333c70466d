package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	deployments "github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

// p0 is when the tests' preview instances were first deployed.
var p0 = time.Date(2026, 11, 26, 18, 43, 17, 123_000_000, time.UTC)

const previewSHA = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"

const apiService = `{"id":"api","name":"API","type":"worker","startCommand":"node worker.js","target":{"type":"local"}}`

// previewHarness is an engine that is never started: tests call
// sweepPreviews themselves, at times they choose.
type previewHarness struct {
	t    *testing.T
	ctx  context.Context
	st   store.Store
	e    *Engine
	tg   *local.Target
	p    liftoff.Project
	env  map[string]liftoff.Environment // by given id
	now  time.Time
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newPreviewHarness makes a project with three environments: "preview"
// (no previewTtlHours), "ttl" (previewTtlHours 1) and "production".
func newPreviewHarness(t *testing.T, dialect string) *previewHarness {
	t.Helper()
	return newPreviewHarnessGrace(t, dialect, 5*time.Second)
}

// newPreviewHarnessGrace is newPreviewHarness whose target gives a release
// stopGrace after SIGTERM before it kills it.
func newPreviewHarnessGrace(t *testing.T, dialect string, stopGrace time.Duration) *previewHarness {
	t.Helper()
	h := &previewHarness{t: t, ctx: context.Background(), st: storetest.Open(t, dialect), now: p0, logs: &syncBuffer{}}
	// Made before the target, so that it is removed after the target
	// stopped the releases running in its builds.
	dataDir := t.TempDir()
	tg, err := local.New(local.Config{Dir: t.TempDir(), WorkerGrace: 200 * time.Millisecond, StopGrace: stopGrace, StopTimeout: stopGrace + 30*time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := tg.Close(ctx); err != nil {
			t.Errorf("close the local target: %v", err)
		}
	})
	h.tg = tg
	h.e, err = New(Deps{Store: h.st, Local: tg, Variables: variablesOf(t, h.st), Log: slog.New(slog.NewTextHandler(h.logs, nil)), NewID: cuid.New},
		Config{DataDir: dataDir, NodeID: "node-a", Workers: 2, StopTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.e.now = func() time.Time { return h.now }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine log:\n%s", h.logs)
		}
	})

	h.p, err = h.st.CreateProject(h.ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "https://github.com/octo-org/shop.git",
		ConfigPath: "liftoff.json", DefaultBranch: "main", ConfigCommit: previewSHA, At: p0})
	if err != nil {
		t.Fatal(err)
	}
	svcs := []store.ServiceSpec{{GivenID: "api", Name: "API", Type: "worker", Config: fromJSON[config.Service](apiService)}}
	envs, err := h.st.SyncEnvironments(h.ctx, store.SyncEnvironmentsParams{ProjectID: h.p.ID, At: p0, NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{
			{GivenID: "preview", Name: "Previews", IsPreview: true, Services: svcs,
				Config: fromJSON[config.Environment](`{"id":"preview","name":"Previews","source":{"pr":true,"trigger":"push"},"services":[` + apiService + `]}`)},
			{GivenID: "ttl", Name: "Short-lived previews", IsPreview: true, Services: svcs,
				Config: fromJSON[config.Environment](`{"id":"ttl","name":"Short-lived previews","source":{"pr":true,"trigger":"push","filter":{"labels":["preview"]}},` +
					`"previewTtlHours":1,"services":[` + apiService + `]}`)},
			{GivenID: "production", Name: "Production", Branch: "main", Services: svcs,
				Config: fromJSON[config.Environment](`{"id":"production","name":"Production","source":{"branch":"main","trigger":"push"},"services":[` + apiService + `]}`)},
		}})
	if err != nil {
		t.Fatal(err)
	}
	h.env = map[string]liftoff.Environment{}
	for _, e := range envs {
		h.env[e.GivenID] = e
	}
	return h
}

// deployments is the use case service of a replica with this engine.
func (h *previewHarness) deployments() *deployments.Service {
	return &deployments.Service{Store: h.st, NewID: cuid.New, Now: func() time.Time { return h.now }, Runner: h.e}
}

func (h *previewHarness) sweep(at time.Time) {
	h.t.Helper()
	h.now = at
	h.e.sweepPreviews(h.ctx)
	h.e.cleanups.Wait()
}

func (h *previewHarness) upsert(env string, pr int, at time.Time) {
	h.t.Helper()
	if _, err := h.st.UpsertPreviewInstance(h.ctx, store.UpsertPreviewParams{EnvironmentID: h.env[env].ID, PRNumber: pr,
		HeadBranch: "feature/pr-" + strconv.Itoa(pr), At: at}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *previewHarness) instance(env string, pr int) liftoff.PreviewInstance {
	h.t.Helper()
	inst, err := h.st.GetPreviewInstance(h.ctx, store.GetPreviewInstanceParams{EnvironmentID: h.env[env].ID, PRNumber: pr})
	if err != nil {
		h.t.Fatal(err)
	}
	return inst
}

func (h *previewHarness) deployment(id string) liftoff.Deployment {
	h.t.Helper()
	d, err := h.st.GetDeployment(h.ctx, store.GetDeploymentParams{ID: id})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// insert stores a deployment of a preview instance with status (a final
// one finished at at).
func (h *previewHarness) insert(env string, pr int, status liftoff.Status, at time.Time) liftoff.Deployment {
	h.t.Helper()
	d := liftoff.Deployment{ID: cuid.New(), ProjectID: h.p.ID, EnvironmentID: h.env[env].ID, PRNumber: pr, RepoURL: h.p.RepoURL,
		RequestedCommit: previewSHA, TriggerType: liftoff.TriggerGitHub, Status: status, CreatedAt: at,
		TriggerDetail: liftoff.TriggerDetail{Event: "pull_request", Action: "synchronize", HeadBranch: "feature/pr-" + strconv.Itoa(pr)}}
	if status.Final() {
		d.GitCommit, d.StartedAt, d.FinishedAt = previewSHA, at, at
	}
	if err := h.st.InsertDeployment(h.ctx, d); err != nil {
		h.t.Fatal(err)
	}
	return d
}

// claim starts the oldest PENDING deployment on node-a, as a worker does.
func (h *previewHarness) claim(want string, at time.Time) {
	h.t.Helper()
	d, err := h.st.ClaimDeployment(h.ctx, store.ClaimParams{Owner: "node-a", At: at, LeaseUntil: at.Add(time.Hour)})
	if err != nil || d.ID != want || d.Status != liftoff.StatusInProgress {
		h.t.Fatalf("ClaimDeployment = %s %s, %v; want %s INPROGRESS", d.ID, d.Status, err, want)
	}
}

// build records a successful service deployment of d whose build is kept
// in a new directory (with a file) under the engine's DataDir.
func (h *previewHarness) build(d liftoff.Deployment) (sdID, dir string) {
	h.t.Helper()
	svcs, err := h.st.ListServices(h.ctx, store.ListServicesParams{EnvironmentID: d.EnvironmentID})
	if err != nil || len(svcs) != 1 {
		h.t.Fatalf("ListServices = %+v, %v", svcs, err)
	}
	dir = filepath.Join(h.e.cfg.DataDir, "builds", cuid.New())
	if err := os.MkdirAll(filepath.Join(dir, "dist"), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dist", "worker.js"), []byte("setInterval(() => {}, 1000)\n"), 0o644); err != nil {
		h.t.Fatal(err)
	}
	sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: svcs[0].ID, ServiceGivenID: "api", ServiceName: "API",
		ServiceType: "worker", Status: liftoff.StatusSuccess, StartedAt: d.CreatedAt, FinishedAt: d.CreatedAt,
		EnvironmentID: d.EnvironmentID, PRNumber: d.PRNumber, GitCommit: previewSHA, Config: fromJSON[config.Service](apiService), BuildDir: dir, CreatedAt: d.CreatedAt}
	if err := h.st.InsertServiceDeployment(h.ctx, sd); err != nil {
		h.t.Fatal(err)
	}
	return sd.ID, dir
}

// buildDir returns what the store records as a service deployment's build.
func (h *previewHarness) buildDir(deploymentID, sdID string) string {
	h.t.Helper()
	for _, sd := range h.deployment(deploymentID).Services {
		if sd.ID == sdID {
			return sd.BuildDir
		}
	}
	h.t.Fatalf("deployment %s has no service deployment %s", deploymentID, sdID)
	return ""
}

// release runs a real worker release of the instance in dir, as the engine
// would have, and returns its process group.
func (h *previewHarness) release(env string, pr int, id, dir string) int {
	h.t.Helper()
	return h.releaseRunning(env, pr, id, dir, "echo $$ > pgid; exec sleep 60")
}

// releaseRunning is release with a start command of its own, which writes
// its process id to the file pgid.
func (h *previewHarness) releaseRunning(env string, pr int, id, dir, command string) int {
	h.t.Helper()
	rel := target.Release{ID: id, Instance: target.Instance{EnvironmentID: h.env[env].ID, EnvGivenID: env, PRNumber: pr},
		Service: config.Service{ID: "api", Name: "API", Type: config.TypeWorker, StartCommand: config.Shell(command)},
		Dir:     dir, Env: []string{"PATH=" + os.Getenv("PATH")}, Log: io.Discard}
	if err := h.tg.Deploy(h.ctx, rel); err != nil {
		h.t.Fatalf("deploy a release of %s #%d: %v", env, pr, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "pgid"))
	if err != nil {
		h.t.Fatal(err)
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pgid <= 1 {
		h.t.Fatalf("pgid %q: %v", b, err)
	}
	return pgid
}

// groupAlive reports whether a process group has a process left.
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}

// running registers a deployment as running on this node, as run does, and
// returns its context.
func (h *previewHarness) running(env string, pr int) context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	h.t.Cleanup(func() { cancel(nil) })
	h.e.mu.Lock()
	h.e.running[cuid.New()] = runningDeployment{env: h.env[env].ID, pr: pr, cancel: cancel}
	h.e.mu.Unlock()
	return ctx
}

func eachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			fn(t, dialect)
		})
	}
}

func TestSweepTearsDownScheduledPreviews(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newPreviewHarness(t, dialect)
		h.upsert("preview", 7, p0)
		h.upsert("preview", 8, p0)
		pending7 := h.insert("preview", 7, liftoff.StatusPending, p0.Add(time.Minute))
		pending8 := h.insert("preview", 8, liftoff.StatusPending, p0.Add(time.Minute))
		run7, run8 := h.running("preview", 7), h.running("preview", 8)
		at := p0.Add(30 * time.Minute)
		if err := deployments.ScheduleTearDown(h.ctx, h.st, h.env["preview"].ID, 7, at); err != nil {
			t.Fatal(err)
		}

		h.sweep(p0.Add(10 * time.Minute))
		if inst := h.instance("preview", 7); inst.Deleted() || inst.TeardownAt != at {
			t.Fatalf("#7 before its teardown time = %+v", inst)
		}
		if d := h.deployment(pending7.ID); d.Status != liftoff.StatusPending {
			t.Fatalf("#7's deployment before its teardown time = %s", d.Status)
		}

		due := at.Add(time.Minute)
		h.sweep(due)
		inst := h.instance("preview", 7)
		if inst.DeletedAt != due || !inst.TeardownAt.IsZero() {
			t.Errorf("#7 after its teardown time = %+v, want torn down at %s", inst, due)
		}
		// Nothing runs and nothing was built: cleaned in the same round.
		if inst.CleanedAt != due {
			t.Errorf("#7 cleaned at %s, want %s", inst.CleanedAt, due)
		}
		d := h.deployment(pending7.ID)
		if d.Status != liftoff.StatusCancelled || len(d.Errors) != 1 || d.Errors[0].Message != "the preview instance was torn down" ||
			d.FinishedAt != due {
			t.Errorf("#7's PENDING deployment after the teardown = %+v", d)
		}
		if err := context.Cause(run7); !errors.Is(err, errTornDown) {
			t.Errorf("#7's deployment running on this node: cause %v, want %v", err, errTornDown)
		}
		// PR 8 was not scheduled.
		if inst := h.instance("preview", 8); inst.Deleted() {
			t.Errorf("#8 = %+v, want live", inst)
		}
		if d := h.deployment(pending8.ID); d.Status != liftoff.StatusPending {
			t.Errorf("#8's deployment = %s, want PENDING", d.Status)
		}
		if run8.Err() != nil {
			t.Errorf("#8's running deployment was cancelled: %v", context.Cause(run8))
		}
		if logs := h.logs.String(); !strings.Contains(logs, `msg="preview torn down"`) || !strings.Contains(logs, `reason="scheduled (pull request closed)"`) {
			t.Errorf("log does not say why #7 was torn down:\n%s", logs)
		}

		// A later round does nothing more.
		h.sweep(due.Add(time.Hour))
		if again := h.instance("preview", 7); again != inst {
			t.Errorf("#7 after another round = %+v, want %+v", again, inst)
		}
	})
}

func TestSweepTearsDownAfterPreviewTTL(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newPreviewHarness(t, dialect)
		now := p0.Add(10 * time.Hour)
		h.upsert("ttl", 1, now.Add(-2*time.Hour))
		h.upsert("ttl", 2, now.Add(-30*time.Minute))
		h.upsert("ttl", 3, now.Add(-59*time.Minute))
		h.upsert("preview", 1, now.Add(-100*time.Hour)) // no previewTtlHours: lives on

		h.sweep(now)
		if inst := h.instance("ttl", 1); inst.DeletedAt != now {
			t.Errorf("ttl #1, deployed 2 h ago = %+v, want torn down at %s", inst, now)
		}
		for _, pr := range []int{2, 3} {
			if inst := h.instance("ttl", pr); inst.Deleted() {
				t.Errorf("ttl #%d, deployed within the hour, was torn down: %+v", pr, inst)
			}
		}
		if inst := h.instance("preview", 1); inst.Deleted() {
			t.Errorf("preview #1 (no previewTtlHours) was torn down: %+v", inst)
		}
		if logs := h.logs.String(); !strings.Contains(logs, `reason="no deployment within previewTtlHours"`) {
			t.Errorf("log does not say why ttl #1 was torn down:\n%s", logs)
		}

		// 45 minutes later #2 (then 75 minutes without a deployment) and #3
		// have had their hour too.
		later := now.Add(45 * time.Minute)
		h.sweep(later)
		for _, pr := range []int{2, 3} {
			if inst := h.instance("ttl", pr); inst.DeletedAt != later {
				t.Errorf("ttl #%d after its hour = %+v, want torn down at %s", pr, inst, later)
			}
		}
		if inst := h.instance("ttl", 1); inst.DeletedAt != now {
			t.Errorf("ttl #1 torn down again: %+v", inst)
		}
		if inst := h.instance("preview", 1); inst.Deleted() {
			t.Errorf("preview #1 (no previewTtlHours) was torn down: %+v", inst)
		}

		// A deployment of a torn down PR starts it afresh, and the hour
		// counts from then.
		h.upsert("ttl", 1, later)
		h.sweep(later.Add(30 * time.Minute))
		if inst := h.instance("ttl", 1); inst.Deleted() || inst.CreatedAt != later {
			t.Errorf("ttl #1 deployed again = %+v, want live since %s", inst, later)
		}
	})
}

func TestSweepCleansTornDownPreviews(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newPreviewHarness(t, dialect)
		h.upsert("preview", 5, p0)
		h.upsert("preview", 6, p0)
		d5 := h.insert("preview", 5, liftoff.StatusSuccess, p0)
		d6 := h.insert("preview", 6, liftoff.StatusSuccess, p0)
		sd5, dir5 := h.build(d5)
		sd6, dir6 := h.build(d6)
		pg5 := h.release("preview", 5, sd5, dir5)
		pg6 := h.release("preview", 6, sd6, dir6)
		if !groupAlive(pg5) || !groupAlive(pg6) {
			t.Fatal("the releases do not run")
		}

		tornDown := p0.Add(time.Hour)
		if _, err := deployments.TearDownPreview(h.ctx, h.st, h.env["preview"].ID, 5, tornDown); err != nil {
			t.Fatal(err)
		}
		cleaned := p0.Add(2 * time.Hour)
		h.sweep(cleaned)

		inst := h.instance("preview", 5)
		if inst.DeletedAt != tornDown || inst.CleanedAt != cleaned {
			t.Errorf("#5 = %+v, want torn down at %s and cleaned at %s", inst, tornDown, cleaned)
		}
		if _, err := os.Stat(dir5); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("#5's build %s: %v, want it removed", dir5, err)
		}
		if got := h.buildDir(d5.ID, sd5); got != "" {
			t.Errorf("#5's build_dir = %q, want it cleared", got)
		}
		if groupAlive(pg5) {
			t.Errorf("#5's release (process group %d) still runs", pg5)
		}
		// Its history stays.
		if d := h.deployment(d5.ID); d.Status != liftoff.StatusSuccess || len(d.Services) != 1 {
			t.Errorf("#5's deployment after the cleanup = %+v", d)
		}
		// Another PR's release and build are left alone.
		if _, err := os.Stat(filepath.Join(dir6, "dist", "worker.js")); err != nil {
			t.Errorf("#6's build: %v", err)
		}
		if got := h.buildDir(d6.ID, sd6); got != dir6 {
			t.Errorf("#6's build_dir = %q, want %q", got, dir6)
		}
		if !groupAlive(pg6) {
			t.Errorf("#6's release (process group %d) was stopped", pg6)
		}
		if inst := h.instance("preview", 6); inst.Deleted() || !inst.CleanedAt.IsZero() {
			t.Errorf("#6 = %+v, want live", inst)
		}
		if clean, err := h.st.PreviewsToClean(h.ctx); err != nil || len(clean) != 0 {
			t.Errorf("PreviewsToClean after the cleanup = %+v, %v", clean, err)
		}
		if logs := h.logs.String(); !strings.Contains(logs, `msg="preview cleaned up" environment=preview pr=5 builds_removed=1`) {
			t.Errorf("log does not record the cleanup:\n%s", logs)
		}

		// A later round does nothing more.
		h.sweep(cleaned.Add(time.Hour))
		if again := h.instance("preview", 5); again != inst {
			t.Errorf("#5 after another round = %+v, want %+v", again, inst)
		}
	})
}

// TestSweepCleansEachPreviewOnItsOwn: a torn down preview whose cleanup
// takes long (a release that ignores SIGTERM, as a container CLI busy with
// a build would) keeps no other torn down preview serving, and the sweep
// returns without waiting for it.
func TestSweepCleansEachPreviewOnItsOwn(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newPreviewHarnessGrace(t, dialect, 10*time.Minute)
		h.upsert("preview", 5, p0)
		h.upsert("preview", 6, p0)
		d5 := h.insert("preview", 5, liftoff.StatusSuccess, p0)
		d6 := h.insert("preview", 6, liftoff.StatusSuccess, p0)
		sd5, dir5 := h.build(d5)
		sd6, dir6 := h.build(d6)
		stubborn := h.releaseRunning("preview", 5, sd5, dir5, "trap '' TERM; echo $$ > pgid; while :; do sleep 1; done")
		pg6 := h.releaseRunning("preview", 6, sd6, dir6, "echo $$ > pgid; exec sleep 600")
		for _, pr := range []int{5, 6} {
			if _, err := deployments.TearDownPreview(h.ctx, h.st, h.env["preview"].ID, pr, p0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		returned := make(chan struct{})
		h.now = p0.Add(2 * time.Hour)
		go func() {
			defer close(returned)
			h.e.sweepPreviews(h.ctx)
		}()
		t.Cleanup(func() {
			_ = syscall.Kill(-stubborn, syscall.SIGKILL)
			<-returned
			h.e.cleanups.Wait()
		})
		// #5's release is given its grace, which #6 does not wait out,
		// nor the sweep: the janitor's next round is not held up by it.
		deadline := time.Now().Add(time.Minute)
		for groupAlive(pg6) {
			if time.Now().After(deadline) {
				t.Fatalf("#6's release still runs while #5's is given its grace")
			}
			time.Sleep(20 * time.Millisecond)
		}
		select {
		case <-returned:
		case <-time.After(time.Minute):
			t.Fatal("the sweep waits for #5's cleanup")
		}
		if !groupAlive(stubborn) {
			t.Fatal("#5's release, which ignores SIGTERM, stopped before its grace ended")
		}
		// A round meanwhile does not start #5's cleanup again.
		h.e.sweepPreviews(h.ctx)
		if err := syscall.Kill(-stubborn, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		h.e.cleanups.Wait() // the cleanup of #5 ends once its release is gone
		for _, pr := range []int{5, 6} {
			if inst := h.instance("preview", pr); inst.CleanedAt.IsZero() {
				t.Errorf("#%d = %+v, want cleaned", pr, inst)
			}
		}
	})
}

func TestSweepWaitsForTheRunningDeployment(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newPreviewHarness(t, dialect)
		h.upsert("preview", 9, p0)
		done := h.insert("preview", 9, liftoff.StatusSuccess, p0)
		sd, dir := h.build(done)
		run := h.insert("preview", 9, liftoff.StatusPending, p0.Add(time.Minute))
		h.claim(run.ID, p0.Add(time.Minute))
		if err := deployments.ScheduleTearDown(h.ctx, h.st, h.env["preview"].ID, 9, p0.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}

		// The janitor tears it down and asks the running deployment to stop,
		// but cleans nothing while it runs.
		first := p0.Add(6 * time.Minute)
		h.sweep(first)
		inst := h.instance("preview", 9)
		if inst.DeletedAt != first || !inst.CleanedAt.IsZero() {
			t.Fatalf("#9 while its deployment runs = %+v, want torn down at %s, not cleaned", inst, first)
		}
		if d := h.deployment(run.ID); d.Status != liftoff.StatusInProgress || !d.CancelRequested {
			t.Fatalf("the running deployment = %s, cancel requested %v; want INPROGRESS, asked to stop", d.Status, d.CancelRequested)
		}
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("the build was removed while a deployment runs: %v", err)
		}
		if got := h.buildDir(done.ID, sd); got != dir {
			t.Fatalf("build_dir = %q while a deployment runs, want %q", got, dir)
		}
		if clean, err := h.st.PreviewsToClean(h.ctx); err != nil || len(clean) != 1 || clean[0].PRNumber != 9 {
			t.Fatalf("PreviewsToClean = %+v, %v", clean, err)
		}
		h.sweep(first.Add(30 * time.Second))
		if inst := h.instance("preview", 9); !inst.CleanedAt.IsZero() {
			t.Fatalf("#9 cleaned while its deployment runs: %+v", inst)
		}

		// Once it ended, the next round cleans.
		if ok, err := h.st.FinishDeployment(h.ctx, store.FinishDeploymentParams{ID: run.ID, Status: liftoff.StatusCancelled,
			Errors: []liftoff.ErrorEntry{{Status: liftoff.StatusCancelled, Message: deployments.TornDownMessage}}, At: first.Add(time.Minute)}); err != nil || !ok {
			t.Fatalf("FinishDeployment = %v, %v", ok, err)
		}
		second := first.Add(2 * time.Minute)
		h.sweep(second)
		if inst := h.instance("preview", 9); inst.CleanedAt != second || inst.DeletedAt != first {
			t.Errorf("#9 after its deployment ended = %+v, want cleaned at %s", inst, second)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("build %s: %v, want it removed", dir, err)
		}
		if got := h.buildDir(done.ID, sd); got != "" {
			t.Errorf("build_dir = %q, want it cleared", got)
		}
	})
}

func TestTearDownPreview(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newPreviewHarness(t, dialect)
		env := h.env["preview"].ID
		h.upsert("preview", 11, p0)
		h.upsert("preview", 12, p0)
		running := h.insert("preview", 11, liftoff.StatusPending, p0)
		h.claim(running.ID, p0)
		pending := h.insert("preview", 11, liftoff.StatusPending, p0.Add(time.Minute))
		other := h.insert("preview", 12, liftoff.StatusPending, p0.Add(time.Minute))

		at := p0.Add(time.Hour)
		inst, err := deployments.TearDownPreview(h.ctx, h.st, env, 11, at)
		if err != nil {
			t.Fatal(err)
		}
		if inst.EnvironmentID != env || inst.PRNumber != 11 || inst.DeletedAt != at || inst.CreatedAt != p0 ||
			inst.HeadBranch != "feature/pr-11" || !inst.CleanedAt.IsZero() {
			t.Errorf("TearDownPreview = %+v", inst)
		}
		if got := h.instance("preview", 11); got != inst {
			t.Errorf("stored instance = %+v, want %+v", got, inst)
		}
		if d := h.deployment(pending.ID); d.Status != liftoff.StatusCancelled || d.FinishedAt != at ||
			!reflect.DeepEqual(d.Errors, []liftoff.ErrorEntry{{Status: liftoff.StatusCancelled, Message: deployments.TornDownMessage}}) {
			t.Errorf("PENDING deployment after the teardown = %+v", d)
		}
		if d := h.deployment(running.ID); d.Status != liftoff.StatusInProgress || !d.CancelRequested {
			t.Errorf("running deployment after the teardown = %s, cancel requested %v", d.Status, d.CancelRequested)
		}
		if d := h.deployment(other.ID); d.Status != liftoff.StatusPending || d.CancelRequested {
			t.Errorf("another PR's deployment = %s", d.Status)
		}
		if _, err := deployments.TearDownPreview(h.ctx, h.st, env, 11, at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second TearDownPreview: %v, want ErrNotFound", err)
		}
		if _, err := deployments.TearDownPreview(h.ctx, h.st, env, 99, at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("TearDownPreview of a PR without an instance: %v, want ErrNotFound", err)
		}

		// Service.TearDown with the engine as Runner also stops what runs
		// on this node and wakes the janitor.
		run12 := h.running("preview", 12)
		h.now = at
		got, err := h.deployments().TearDown(h.ctx, env, 12)
		if err != nil || got.DeletedAt != at {
			t.Fatalf("Service.TearDown = %+v, %v", got, err)
		}
		if err := context.Cause(run12); !errors.Is(err, errTornDown) {
			t.Errorf("#12's deployment running on this node: cause %v, want %v", err, errTornDown)
		}
		select {
		case <-h.e.janitorWake:
		default:
			t.Error("Service.TearDown did not wake the janitor")
		}
		if d := h.deployment(other.ID); d.Status != liftoff.StatusCancelled {
			t.Errorf("#12's PENDING deployment = %s, want CANCELLED", d.Status)
		}
	})
}

func TestTeardownReason(t *testing.T) {
	t.Parallel()
	now := p0.Add(time.Hour)
	for _, tc := range []struct {
		name string
		inst liftoff.PreviewInstance
		want string
	}{
		{"scheduled and due", liftoff.PreviewInstance{TeardownAt: now}, "scheduled (pull request closed)"},
		{"scheduled, not yet due", liftoff.PreviewInstance{TeardownAt: now.Add(time.Minute)}, "no deployment within previewTtlHours"},
		{"not scheduled", liftoff.PreviewInstance{LastDeployedAt: p0}, "no deployment within previewTtlHours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := teardownReason(tc.inst, now); got != tc.want {
				t.Errorf("teardownReason = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTriggerDetailThroughStore stores trigger details and reads them back,
// on every dialect.
func TestTriggerDetailThroughStore(t *testing.T) {
	t.Parallel()
	details := []struct {
		name string
		d    liftoff.TriggerDetail
	}{
		{"empty", liftoff.TriggerDetail{}},
		{"push", liftoff.TriggerDetail{Event: "push", Sender: "kenji-sato"}},
		{"pull request", liftoff.TriggerDetail{Event: "pull_request", Action: "opened", Sender: "ana-lima", BaseBranch: "main",
			HeadBranch: "feature/checkout", FilterWatchPaths: []string{"apps/**", "!apps/docs/**"}}},
		{"forced push with superseded commits", liftoff.TriggerDetail{Event: "push", Forced: true, Superseded: []string{"", "abc"}}},
	}
	// Through the store, on every dialect.
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newPreviewHarness(t, dialect)
		for i, tc := range details {
			d := liftoff.Deployment{ID: cuid.New(), ProjectID: h.p.ID, EnvironmentID: h.env["preview"].ID, PRNumber: 20 + i,
				RepoURL: h.p.RepoURL, RequestedCommit: previewSHA, TriggerType: liftoff.TriggerGitHub, Status: liftoff.StatusPending,
				CreatedAt: p0, TriggerDetail: tc.d}
			if err := h.st.InsertDeployment(h.ctx, d); err != nil {
				t.Fatal(err)
			}
			if got := h.deployment(d.ID).TriggerDetail; !reflect.DeepEqual(got, tc.d) {
				t.Errorf("%s: stored detail = %+v, want %+v", tc.name, got, tc.d)
			}
		}
	})
}

// fromJSON decodes a fixture written as JSON.
func fromJSON[T any](s string) T {
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(fmt.Sprintf("fixture %s: %v", s, err))
	}
	return v
}
