package hook

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// replicas is one project served by several hook services, each with a
// store of its own on one database: replicas on PostgreSQL (a pool each),
// processes on one SQLite file.
type replicas struct {
	t      *testing.T
	ctx    context.Context
	st     []store.Store
	s      []*Service
	env    map[string]liftoff.Environment
	secret map[string]string
}

func newReplicas(t *testing.T, dialect string, n int) *replicas {
	t.Helper()
	ctx := context.Background()
	r := &replicas{t: t, ctx: ctx, env: map[string]liftoff.Environment{}, secret: map[string]string{}}
	var open func() (store.Store, error)
	switch dialect {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "liftoff.db")
		open = func() (store.Store, error) { return sqlite.Open(ctx, path, sqlite.Options{}) }
	case "postgres":
		url := storetest.DatabaseURL(t)
		open = func() (store.Store, error) {
			return postgres.Open(ctx, url, postgres.Options{Timeout: storetest.DatabaseTimeout})
		}
	}
	log := slog.New(slog.DiscardHandler)
	cfg := testConfig()
	cfg.PerHookPerMinute = 1 << 30
	for range n {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		rec := NewRecorder(st, 0, log)
		if err := rec.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rec.Stop)
		deployments := &deployment.Service{Store: st, NewID: cuid.New, Now: time.Now, Runner: deployment.NoRunner{}}
		s, err := NewService(st, rec, deployments, cfg, log, cuid.New)
		if err != nil {
			t.Fatal(err)
		}
		r.st, r.s = append(r.st, st), append(r.s, s)
	}
	st := r.st[0]
	p, err := st.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "https://github.com/acme/shop.git",
		ConfigPath: "liftoff.json", DefaultBranch: "main", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	api := []store.ServiceSpec{{GivenID: "api", Name: "API", Type: "web", Config: config.Service{ID: "api"}}}
	envs, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{
			{GivenID: "production", Name: "Production", Branch: "main", Services: api},
			{GivenID: "previews", Name: "Previews", IsPreview: true, Services: api},
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		c, err := r.s[0].Create(ctx, e.ID, "ci "+e.GivenID)
		if err != nil {
			t.Fatal(err)
		}
		r.env[e.GivenID], r.secret[e.GivenID] = e, c.Secret
		// Each replica reads the environment and its hook now, as it
		// would have before a burst: the calls then reach the store
		// together.
		for _, s := range r.s {
			if _, err := s.targets.get(ctx, s.store, e.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return r
}

// answer is what one call was told.
type answer struct {
	res Result
	err error
}

// callAll makes n calls of environment env at once, call i through
// replica i%len(r.s), changed by req(i), and returns their answers.
func (r *replicas) callAll(env string, n int, req func(i int, q *Request)) []answer {
	r.t.Helper()
	out := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			q := Request{EnvironmentID: r.env[env].ID, Secret: r.secret[env], Address: "192.0.2.1"}
			req(i, &q)
			<-start
			res, _, err := r.s[i%len(r.s)].Trigger(r.ctx, q)
			out[i] = answer{res, err}
		})
	}
	close(start)
	wg.Wait()
	for i, a := range out {
		if a.err != nil {
			r.t.Fatalf("call %d: %v", i, a.err)
		}
	}
	return out
}

// deployments lists the deployments of an environment instance, oldest
// first.
func (r *replicas) deployments(env string, pr int) []liftoff.Deployment {
	r.t.Helper()
	ds, err := r.st[0].ListDeployments(r.ctx, store.ListDeploymentsParams{EnvironmentID: r.env[env].ID, HasPRNumber: true, PRNumber: pr, Limit: 1000})
	if err != nil {
		r.t.Fatal(err)
	}
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds
}

// TestTriggerRulesAcrossReplicas makes many hook calls at once through
// three replicas on one database and checks that each environment instance
// ends with exactly the deployments the rules give: calls for one commit
// share one deployment (one queued, the others joined, force kept if any
// asked), calls for different commits each queue one and cancel the one
// before (one PENDING left), calls with one Idempotency-Key share one
// deployment whatever they ask, and new pull requests (the grouped insert
// on PostgreSQL) get one deployment each.
func TestTriggerRulesAcrossReplicas(t *testing.T) {
	t.Parallel()
	const calls = 24
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			t.Run("one commit joins", func(t *testing.T) {
				t.Parallel()
				r := newReplicas(t, dialect, 3)
				answers := r.callAll("production", calls, func(i int, q *Request) { q.Commit, q.Force = sha1, i == calls-1 })
				ds := r.deployments("production", 0)
				if len(ds) != 1 {
					t.Fatalf("%d deployments, want 1: %+v", len(ds), ds)
				}
				d := ds[0]
				outcomes := map[string]int{}
				for i, a := range answers {
					if a.res.DeploymentID != d.ID {
						t.Errorf("call %d answered %s, want %s", i, a.res.DeploymentID, d.ID)
					}
					outcomes[a.res.Outcome]++
				}
				if outcomes[OutcomeQueued] != 1 || outcomes[OutcomeJoined] != calls-1 {
					t.Errorf("outcomes %v, want 1 queued and %d joined", outcomes, calls-1)
				}
				if d.Status != liftoff.StatusPending || d.RequestedCommit != sha1 || !d.Force {
					t.Errorf("deployment = %s %s force %v; want PENDING %s with the force one call asked", d.Status, d.RequestedCommit, d.Force, sha1)
				}
			})
			t.Run("other commits supersede", func(t *testing.T) {
				t.Parallel()
				r := newReplicas(t, dialect, 3)
				answers := r.callAll("production", calls, func(i int, q *Request) { q.Commit = fmt.Sprintf("%040x", i+1) })
				ds := r.deployments("production", 0)
				if len(ds) != calls {
					t.Fatalf("%d deployments, want one per call (%d)", len(ds), calls)
				}
				byID := map[string]liftoff.Deployment{}
				for _, d := range ds {
					byID[d.ID] = d
				}
				superseded := 0
				for i, a := range answers {
					d, ok := byID[a.res.DeploymentID]
					if !ok || a.res.Outcome != OutcomeQueued || d.RequestedCommit != fmt.Sprintf("%040x", i+1) {
						t.Errorf("call %d: %+v, deployment %+v", i, a.res, d)
					}
					if a.res.Superseded {
						superseded++
					}
				}
				// Every deployment but one was cancelled by another, which
				// says so; each cancelled one by a different one.
				pending, by := 0, map[string]bool{}
				for _, d := range ds {
					switch d.Status {
					case liftoff.StatusPending:
						pending++
					case liftoff.StatusCancelled:
						other, _ := strings.CutPrefix(d.Errors[0].Message, "superseded by ")
						if _, ok := byID[other]; !ok || other == d.ID || by[other] {
							t.Errorf("deployment %s: %q", d.ID, d.Errors[0].Message)
						}
						by[other] = true
					default:
						t.Errorf("deployment %s is %s", d.ID, d.Status)
					}
				}
				if pending != 1 || superseded != calls-1 {
					t.Errorf("%d PENDING and %d calls that superseded one; want 1 and %d", pending, superseded, calls-1)
				}
			})
			t.Run("one idempotency key answers once", func(t *testing.T) {
				t.Parallel()
				r := newReplicas(t, dialect, 3)
				answers := r.callAll("production", calls, func(i int, q *Request) {
					q.IdempotencyKey, q.Commit = "build-7", fmt.Sprintf("%040x", i+1)
				})
				ds := r.deployments("production", 0)
				if len(ds) != 1 {
					t.Fatalf("%d deployments, want 1", len(ds))
				}
				outcomes := map[string]int{}
				for i, a := range answers {
					if a.res.DeploymentID != ds[0].ID {
						t.Errorf("call %d answered %s, want %s", i, a.res.DeploymentID, ds[0].ID)
					}
					outcomes[a.res.Outcome]++
				}
				if outcomes[OutcomeQueued] != 1 || outcomes[OutcomeIdempotent] != calls-1 {
					t.Errorf("outcomes %v, want 1 queued and %d idempotent", outcomes, calls-1)
				}
			})
			t.Run("new pull requests each get one", func(t *testing.T) {
				t.Parallel()
				r := newReplicas(t, dialect, 3)
				const prs = 4
				answers := r.callAll("previews", calls, func(i int, q *Request) { preview(1+i%prs, sha1)(q) })
				for pr := 1; pr <= prs; pr++ {
					ds := r.deployments("previews", pr)
					if len(ds) != 1 || ds[0].Status != liftoff.StatusPending {
						t.Fatalf("PR %d: %+v, want one PENDING deployment", pr, ds)
					}
					queued := 0
					for i := pr - 1; i < calls; i += prs {
						if answers[i].res.DeploymentID != ds[0].ID {
							t.Errorf("call %d of PR %d answered %s, want %s", i, pr, answers[i].res.DeploymentID, ds[0].ID)
						}
						if answers[i].res.Outcome == OutcomeQueued {
							queued++
						}
					}
					if queued != 1 {
						t.Errorf("PR %d: %d calls queued, want 1 (the others joined)", pr, queued)
					}
				}
			})
		})
	}
}
