package hook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// h0 is when the tests' hooks are made.
var h0 = time.Date(2026, 11, 26, 18, 43, 17, 0, time.UTC)

const (
	sha1 = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
	sha2 = "7c4b0e2bd5f04a8e1c2d3e4f5a6b7c8d9e0f1a2b"
)

// triggerHarness is the hooks domain on a real SQLite store, with a clock
// the test moves: a project with production (one service), previews (a
// preview environment) and data (nothing Liftoff runs), each with a hook.
type triggerHarness struct {
	t      *testing.T
	ctx    context.Context
	st     store.Store
	s      *Service
	rec    *Recorder
	now    time.Time
	queued atomic.Int32 // deployments the engine was told of
	// by environment given id
	env    map[string]liftoff.Environment
	hook   map[string]liftoff.Hook
	secret map[string]string
}

// testConfig is the Config liftoff serve passes by default.
func testConfig() Config {
	return Config{PublicURL: "http://127.0.0.1:8080", PerHookPerMinute: 60, FailuresPerMinute: 20}
}

// newTriggerHarness serves testConfig, changed by tune when it is not nil.
func newTriggerHarness(t *testing.T, tune func(*Config)) *triggerHarness {
	t.Helper()
	h := &triggerHarness{t: t, ctx: context.Background(), st: storetest.Open(t, "sqlite"), now: h0,
		env: map[string]liftoff.Environment{}, hook: map[string]liftoff.Hook{}, secret: map[string]string{}}
	log := slog.New(slog.DiscardHandler)
	h.rec = NewRecorder(h.st, 0, log)
	h.rec.Start(h.ctx)
	t.Cleanup(h.rec.Stop)
	cfg := testConfig()
	if tune != nil {
		tune(&cfg)
	}
	deployments := &deployment.Service{Store: h.st, NewID: cuid.New, Now: func() time.Time { return h.now },
		Runner: queueCounter{queued: &h.queued}}
	s, err := NewService(h.st, h.rec, deployments, cfg, log, cuid.New)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	h.s.now = func() time.Time { return h.now }

	p, err := h.st.CreateProject(h.ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "https://github.com/acme/shop.git",
		ConfigPath: "liftoff.json", DefaultBranch: "main", At: h0})
	if err != nil {
		t.Fatal(err)
	}
	api := []store.ServiceSpec{{GivenID: "api", Name: "API", Type: "web", Config: config.Service{ID: "api"}}}
	envs, err := h.st.SyncEnvironments(h.ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: h0, NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{
			{GivenID: "production", Name: "Production", Branch: "main", Services: api},
			{GivenID: "previews", Name: "Previews", IsPreview: true, Services: api},
			{GivenID: "data", Name: "Data", Branch: "main", Config: config.Environment{ID: "data", Services: []config.Service{{ID: "db", Name: "DB", Type: "rds"}}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		h.env[e.GivenID] = e
		c, err := h.s.Create(h.ctx, e.ID, "ci "+e.GivenID)
		if err != nil {
			t.Fatal(err)
		}
		h.hook[e.GivenID], h.secret[e.GivenID] = c.Hook, c.Secret
	}
	return h
}

// call is a hook call of environment env with its hook's secret, from
// 192.0.2.1, changed by req.
func (h *triggerHarness) call(env string, req func(r *Request)) (Result, error) {
	h.t.Helper()
	return h.callWith(env, env, req)
}

// callWith is call with the secret h.secret[secret].
func (h *triggerHarness) callWith(env, secret string, req func(r *Request)) (Result, error) {
	h.t.Helper()
	r := Request{EnvironmentID: h.env[env].ID, Secret: h.secret[secret], Address: "192.0.2.1"}
	if req != nil {
		req(&r)
	}
	res, _, err := h.s.Trigger(h.ctx, r)
	return res, err
}

func (h *triggerHarness) deployment(id string) liftoff.Deployment {
	h.t.Helper()
	d, err := h.st.GetDeployment(h.ctx, store.GetDeploymentParams{ID: id})
	if err != nil {
		h.t.Fatalf("deployment %q: %v", id, err)
	}
	return d
}

// step is one call of a case and what it must give.
type step struct {
	name    string
	advance time.Duration // the clock moves first
	env     string        // default production
	secret  string        // whose secret it sends (h.secret); default env's
	req     func(r *Request)
	err     string // the message of the error it must fail with
	outcome string
	// superseded: the new deployment cancelled a PENDING one.
	superseded bool
	same       string // the name of an earlier step whose deployment answers
}

// TestTrigger runs sequences of hook calls against a real store: secrets
// (current, previous within its rotation window, wrong), a paused hook,
// both rate limits, the preview form, force, and joining, superseding and
// idempotency as the store shows them.
func TestTrigger(t *testing.T) {
	t.Parallel()
	wrong := func(r *Request) { r.Secret = "lft_hook_" + strings.Repeat("x", 40) }
	cases := []struct {
		name  string
		tune  func(*Config)
		setup func(h *triggerHarness)
		steps []step
		// check looks at the store after the steps, given each step's
		// deployment id by name.
		check func(t *testing.T, h *triggerHarness, ids map[string]string)
	}{
		{
			name:  "the current secret queues a deployment of the branch",
			steps: []step{{name: "a", outcome: OutcomeQueued}},
			check: func(t *testing.T, h *triggerHarness, ids map[string]string) {
				d := h.deployment(ids["a"])
				if d.Status != liftoff.StatusPending || d.GitBranch != "main" || d.RequestedCommit != "" || d.Force ||
					d.TriggerType != liftoff.TriggerDeployHook || d.HookID != h.hook["production"].ID || d.HookName != "ci production" {
					t.Errorf("deployment = %+v", d)
				}
			},
		},
		{
			name: "a wrong secret, or a secret of another environment, is not found",
			steps: []step{
				{name: "wrong", req: wrong, err: "Deploy hook not found"},
				{name: "another environment's secret", secret: "previews", err: "Deploy hook not found"},
				{name: "no such environment", req: func(r *Request) { r.EnvironmentID = 999 }, err: "Deploy hook not found"},
			},
		},
		{
			name: "a rotated secret works within its grace period only",
			setup: func(h *triggerHarness) {
				c, err := h.s.Rotate(h.ctx, h.hook["production"].ID, time.Hour)
				if err != nil {
					h.t.Fatal(err)
				}
				old := h.secret["production"]
				h.secret["production"], h.secret["old"] = c.Secret, old
			},
			steps: []step{
				{name: "new", req: commit(sha1), outcome: OutcomeQueued},
				{name: "old in grace", advance: 59 * time.Minute, secret: "old", req: commit(sha2), outcome: OutcomeQueued, superseded: true},
				{name: "old after grace", advance: 2 * time.Minute, secret: "old", req: commit(sha1), err: "Deploy hook not found"},
				{name: "new still", req: commit(sha1), outcome: OutcomeQueued, superseded: true},
			},
		},
		{
			name: "a rotation without grace ends the old secret at once",
			setup: func(h *triggerHarness) {
				c, err := h.s.Rotate(h.ctx, h.hook["production"].ID, 0)
				if err != nil {
					h.t.Fatal(err)
				}
				h.secret["old"], h.secret["production"] = h.secret["production"], c.Secret
			},
			steps: []step{
				{name: "old", secret: "old", err: "Deploy hook not found"},
				{name: "new", outcome: OutcomeQueued},
			},
		},
		{
			name: "a paused hook refuses, a resumed one queues",
			setup: func(h *triggerHarness) {
				if _, err := h.s.SetPaused(h.ctx, h.hook["production"].ID, true); err != nil {
					h.t.Fatal(err)
				}
			},
			steps: []step{{name: "paused", err: `Deploy hook "ci production" is paused; resume it to deploy`}},
			check: func(t *testing.T, h *triggerHarness, _ map[string]string) {
				if _, err := h.s.SetPaused(h.ctx, h.hook["production"].ID, false); err != nil {
					t.Fatal(err)
				}
				if res, err := h.call("production", nil); err != nil || res.Outcome != OutcomeQueued {
					t.Errorf("after resume: %+v, %v", res, err)
				}
			},
		},
		{
			name: "a hook called too often is refused until its bucket refills",
			tune: func(c *Config) { c.PerHookPerMinute = 2 },
			steps: []step{
				{name: "1", outcome: OutcomeQueued},
				{name: "2", outcome: OutcomeJoined, same: "1"},
				{name: "3", err: `Deploy hook "ci production" was called more than 2 times a minute; retry later`},
				{name: "later", advance: time.Minute, outcome: OutcomeJoined, same: "1"},
			},
		},
		{
			name: "wrong secrets lock their address out, a valid secret is still served",
			tune: func(c *Config) { c.FailuresPerMinute = 2 },
			steps: []step{
				{name: "wrong 1", req: wrong, err: "Deploy hook not found"},
				{name: "wrong 2", req: wrong, err: "Deploy hook not found"},
				{name: "wrong 3", req: wrong, err: "Too many failed deploy hook calls from this address; retry later"},
				{name: "garbage", req: func(r *Request) { r.Secret = "nope" }, err: "Too many failed deploy hook calls from this address; retry later"},
				{name: "valid", outcome: OutcomeQueued},
				{name: "elsewhere", req: func(r *Request) { wrong(r); r.Address = "192.0.2.2" }, err: "Deploy hook not found"},
				{name: "later", advance: time.Minute, req: wrong, err: "Deploy hook not found"},
			},
		},
		{
			name: "a preview call deploys the PR's commit",
			steps: []step{
				{name: "pr", env: "previews", req: preview(7, strings.ToUpper(sha1)), outcome: OutcomeQueued},
				{name: "same", env: "previews", req: preview(7, sha1), outcome: OutcomeJoined, same: "pr"},
				{name: "other pr", env: "previews", req: preview(8, sha1), outcome: OutcomeQueued},
			},
			check: func(t *testing.T, h *triggerHarness, ids map[string]string) {
				d := h.deployment(ids["pr"])
				if d.PRNumber != 7 || d.RequestedCommit != sha1 || d.GitBranch != "" || d.EnvironmentID != h.env["previews"].ID {
					t.Errorf("preview deployment = %+v", d)
				}
				if d := h.deployment(ids["other pr"]); d.PRNumber != 8 || d.Status != liftoff.StatusPending {
					t.Errorf("PR 8's deployment = %+v", d)
				}
			},
		},
		{
			name: "each environment takes its own form of call",
			steps: []step{
				{name: "preview env, normal form", env: "previews",
					err: "Environment {previews} is a preview environment: call /api/deploy-hook/{previews}/{secret}/{prNumber}/{commitSHA}"},
				{name: "normal env, preview form", req: preview(7, sha1),
					err: "Environment {production} is not a preview environment: call /api/deploy-hook/{production}/{secret} without a PR number and commit"},
				{name: "nothing to run", env: "data", err: "Environment {data} (data) has no services Liftoff runs: db is rds (not run by Liftoff)"},
			},
		},
		{
			name: "force is kept, and a forced call upgrades the PENDING deployment it joins",
			steps: []step{
				{name: "plain", outcome: OutcomeQueued},
				{name: "forced", req: func(r *Request) { r.Force = true }, outcome: OutcomeJoined, same: "plain"},
				{name: "plain again", outcome: OutcomeJoined, same: "plain"},
			},
			check: func(t *testing.T, h *triggerHarness, ids map[string]string) {
				if d := h.deployment(ids["plain"]); !d.Force || d.Status != liftoff.StatusPending {
					t.Errorf("the joined deployment = force %v, %s; want force, PENDING", d.Force, d.Status)
				}
			},
		},
		{
			name: "clearCache is kept, and upgrades the PENDING deployment it joins",
			steps: []step{
				{name: "plain", outcome: OutcomeQueued},
				{name: "clean", req: func(r *Request) { r.Force, r.ClearCache = true, true }, outcome: OutcomeJoined, same: "plain"},
				{name: "forced again", req: func(r *Request) { r.Force = true }, outcome: OutcomeJoined, same: "plain"},
			},
			check: func(t *testing.T, h *triggerHarness, ids map[string]string) {
				if d := h.deployment(ids["plain"]); !d.Force || !d.ClearCache || d.Status != liftoff.StatusPending {
					t.Errorf("the joined deployment = force %v, clearCache %v, %s; want both, PENDING", d.Force, d.ClearCache, d.Status)
				}
			},
		},
		{
			name: "another commit supersedes the PENDING deployment",
			steps: []step{
				{name: "a", req: commit(sha1), outcome: OutcomeQueued},
				{name: "short a", req: commit(sha1[:10]), outcome: OutcomeJoined, same: "a"},
				{name: "b", req: commit(sha2), outcome: OutcomeQueued, superseded: true},
				{name: "branch head", req: func(r *Request) { r.Branch = "develop" }, outcome: OutcomeQueued, superseded: true},
			},
			check: func(t *testing.T, h *triggerHarness, ids map[string]string) {
				for _, c := range []struct{ old, by string }{{"a", "b"}, {"b", "branch head"}} {
					d := h.deployment(ids[c.old])
					want := []liftoff.ErrorEntry{{Status: liftoff.StatusCancelled, Message: "superseded by " + ids[c.by]}}
					if d.Status != liftoff.StatusCancelled || fmt.Sprint(d.Errors) != fmt.Sprint(want) {
						t.Errorf("%s: %s %+v, want CANCELLED %+v", c.old, d.Status, d.Errors, want)
					}
				}
				if d := h.deployment(ids["branch head"]); d.Status != liftoff.StatusPending || d.GitBranch != "develop" {
					t.Errorf("the last deployment = %s of %s", d.Status, d.GitBranch)
				}
			},
		},
		{
			name: "an Idempotency-Key answers with its first deployment for a day",
			steps: []step{
				{name: "first", req: key("k1", sha1), outcome: OutcomeQueued},
				{name: "retry", req: key("k1", sha1), outcome: OutcomeIdempotent, same: "first"},
				{name: "retry of another commit", req: key("k1", sha2), outcome: OutcomeIdempotent, same: "first"},
				{name: "another key", req: key("k2", sha2), outcome: OutcomeQueued, superseded: true},
				{name: "a day later", advance: 24*time.Hour + time.Second, req: key("k1", sha2), outcome: OutcomeJoined, same: "another key"},
			},
			check: func(t *testing.T, h *triggerHarness, ids map[string]string) {
				if d := h.deployment(ids["first"]); d.Status != liftoff.StatusCancelled {
					t.Errorf("the first deployment is %s, want CANCELLED (superseded by k2's)", d.Status)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newTriggerHarness(t, tc.tune)
			if tc.setup != nil {
				tc.setup(h)
			}
			ids := map[string]string{}
			queued := 0
			for _, s := range tc.steps {
				h.now = h.now.Add(s.advance)
				env := s.env
				if env == "" {
					env = "production"
				}
				secret := s.secret
				if secret == "" {
					secret = env
				}
				res, err := h.callWith(env, secret, s.req)
				if s.err != "" {
					want := strings.NewReplacer("{production}", fmt.Sprint(h.env["production"].ID), "{previews}", fmt.Sprint(h.env["previews"].ID),
						"{data}", fmt.Sprint(h.env["data"].ID)).Replace(s.err)
					if err == nil || err.Error() != want || res.DeploymentID != "" {
						t.Errorf("%s: %+v, %v; want the error %q", s.name, res, err, want)
					}
					continue
				}
				if err != nil || res.Outcome != s.outcome || res.Superseded != s.superseded || res.DeploymentID == "" {
					t.Errorf("%s: %+v, %v; want %s (superseding: %v)", s.name, res, err, s.outcome, s.superseded)
					continue
				}
				if s.same != "" && res.DeploymentID != ids[s.same] {
					t.Errorf("%s: answered %s, want %s's deployment %s", s.name, res.DeploymentID, s.same, ids[s.same])
				}
				if s.same == "" && res.Outcome == OutcomeQueued {
					for name, id := range ids {
						if id == res.DeploymentID {
							t.Errorf("%s: answered %s's deployment, want a new one", s.name, name)
						}
					}
				}
				if res.Outcome == OutcomeQueued {
					queued++
				}
				ids[s.name] = res.DeploymentID
			}
			if got := int(h.queued.Load()); got != queued {
				t.Errorf("the engine was told of %d queued deployments, want %d", got, queued)
			}
			if tc.check != nil {
				tc.check(t, h, ids)
			}
		})
	}
}

func commit(sha string) func(r *Request) {
	return func(r *Request) { r.Commit = sha }
}

func preview(pr int, sha string) func(r *Request) {
	return func(r *Request) { r.Preview, r.PRNumber, r.CommitSHA = true, pr, sha }
}

func key(k, commit string) func(r *Request) {
	return func(r *Request) { r.IdempotencyKey, r.Commit = k, commit }
}

// TestTriggerRecordsCalls: every call that names a hook is recorded with
// its status and outcome; a call that matches none is not.
func TestTriggerRecordsCalls(t *testing.T) {
	t.Parallel()
	h := newTriggerHarness(t, nil)
	res, err := h.call("production", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.call("production", func(r *Request) { r.Secret = "lft_hook_nope" }); err == nil {
		t.Fatal("a wrong secret was accepted")
	}
	if _, err := h.s.SetPaused(h.ctx, h.hook["production"].ID, true); err != nil {
		t.Fatal(err)
	}
	h.now = h.now.Add(time.Second)
	if _, err := h.call("production", nil); err == nil {
		t.Fatal("a paused hook was accepted")
	}
	h.rec.Flush(h.ctx)
	calls, err := h.s.Calls(h.ctx, h.hook["production"].ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		got = append(got, fmt.Sprintf("%d %s %s %s", c.Status, c.Outcome, c.Address, c.DeploymentID))
	}
	want := []string{
		`409 Deploy hook "ci production" is paused; resume it to deploy 192.0.2.1 `,
		"200 queued 192.0.2.1 " + res.DeploymentID,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls, newest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// queueCounter is an engine that counts what it is told was queued.
type queueCounter struct {
	deployment.NoRunner
	queued *atomic.Int32
}

func (c queueCounter) Queued() { c.queued.Add(1) }

// TestReadDeployment: a hook's secret reads the deployments that hook
// started and nothing else, with one answer for every refusal.
func TestReadDeployment(t *testing.T) {
	t.Parallel()
	h := newTriggerHarness(t, nil)
	res, err := h.call("production", nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.call("previews", func(r *Request) { r.Preview, r.PRNumber, r.CommitSHA = true, 7, strings.Repeat("b", 40) })
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, secret, id string
		ok               bool
	}{
		{"its hook's secret", h.secret["production"], res.DeploymentID, true},
		{"another hook's secret", h.secret["previews"], res.DeploymentID, false},
		{"a wrong secret", "lfh_" + strings.Repeat("x", 40), res.DeploymentID, false},
		{"a deployment of another hook", h.secret["production"], other.DeploymentID, false},
		{"an unknown deployment", h.secret["production"], "no-such-deployment", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := h.s.ReadDeployment(h.ctx, tc.secret, tc.id)
			switch {
			case tc.ok && (err != nil || d.ID != tc.id):
				t.Errorf("ReadDeployment = %s, %v; want the deployment", d.ID, err)
			case !tc.ok && (fail.KindOf(err) != fail.NotFound || err.Error() != "Deployment not found" || d.ID != ""):
				t.Errorf("ReadDeployment = %q, %v; want Deployment not found and nothing read", d.ID, err)
			}
		})
	}
}

// TestRecorderForgetsOldIdempotencyKeys: keys older than the idempotency
// window are deleted in the background, so distinct keys (one per CI run)
// do not pile up; younger ones stay.
func TestRecorderForgetsOldIdempotencyKeys(t *testing.T) {
	t.Parallel()
	h := newTriggerHarness(t, nil)
	res, err := h.call("production", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	hookID := h.hook["production"].ID
	for key, age := range map[string]time.Duration{"old": 25 * time.Hour, "young": time.Hour} {
		if err := h.st.PutIdempotencyKey(h.ctx, store.PutIdempotencyKeyParams{HookID: hookID, Key: key, DeploymentID: res.DeploymentID,
			At: now.Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	rec := NewRecorder(h.st, 0, slog.New(slog.DiscardHandler))
	rec.pruneEvery = 10 * time.Millisecond
	rec.keyWindow.Store(int64(24 * time.Hour))
	known := func(key string) bool {
		_, err := h.st.GetIdempotencyKey(h.ctx, store.GetIdempotencyKeyParams{HookID: hookID, Key: key})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	if !known("old") || !known("young") {
		t.Fatal("the keys were not stored")
	}
	if err := rec.Start(h.ctx); err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	for deadline := time.Now().Add(30 * time.Second); known("old"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the key older than the window is still there")
		}
	}
	if !known("young") {
		t.Error("a key younger than the window was deleted")
	}
}
