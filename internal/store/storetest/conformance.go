package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// basicCases cover projects, keys, hooks, deployments and transactions.
func basicCases() []testCase {
	return []testCase{
		{"ProjectsAndSync", testProjectsAndSync},
		{"APIKeys", testAPIKeys},
		{"Hooks", testHooks},
		{"HookCalls", testHookCalls},
		{"IdempotencyKeys", testIdempotencyKeys},
		{"Deployments", testDeployments},
		{"TimesReadBack", testTimesReadBack},
		{"OnePendingPerInstance", testOnePendingPerInstance},
		{"ListDeploymentsPaging", testListDeploymentsPaging},
		{"TxRollsBack", testTxRollsBack},
		{"ConcurrentTx", testConcurrentTx},
		{"LockInstance", testLockInstance},
		{"ClosedStoreIsUnavailable", testClosed},
	}
}

var t0 = time.Date(2026, 11, 26, 18, 43, 17, 123_000_000, time.UTC)

// seed makes a project with a production, a staging and a preview
// environment, each with two services.
func seed(t *testing.T, s store.Store) (liftoff.Project, []liftoff.Environment) {
	t.Helper()
	ctx := context.Background()
	p, err := s.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "/srv/shop",
		ConfigPath: "liftoff.json", DefaultBranch: "main", ConfigCommit: "abc", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := s.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: t0, NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{
			{GivenID: "production", Name: "Production", Branch: "main", Config: config.Environment{ID: "production"}, Services: twoServices},
			{GivenID: "staging", Name: "Staging", Branch: "develop", Services: twoServices},
			{GivenID: "preview", Name: "Preview", IsPreview: true, Services: twoServices},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return p, envs
}

var twoServices = []store.ServiceSpec{
	{GivenID: "api", Name: "API", Type: "web", Config: config.Service{ID: "api"}},
	{GivenID: "site", Name: "Site", Type: "static", Config: config.Service{ID: "site"}},
}

// testTimesReadBack: a time is kept at the API's precision and read back in
// UTC whatever zone it was written in, and the zero time stays "not set".
func testTimesReadBack(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2026, 11, 26, 19, 43, 17, 123_456_789, paris)
	want := time.Date(2026, 11, 26, 18, 43, 17, 123_000_000, time.UTC)
	d := newDeployment(p, envs[0], 0, at)
	if err := s.InsertDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt != want || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, want)
	}
	if !got.StartedAt.IsZero() || !got.FinishedAt.IsZero() {
		t.Errorf("StartedAt %v, FinishedAt %v: want zero (not set)", got.StartedAt, got.FinishedAt)
	}
	// What a create returns is what a read will: the same precision, UTC.
	key, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: cuid.New(), Name: "times", Hash: cuid.New(), Scope: "admin", At: at})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.CreateHook(ctx, store.CreateHookParams{ID: cuid.New(), EnvironmentID: envs[0].ID, Name: "times", SecretHash: cuid.New(), At: at})
	if err != nil {
		t.Fatal(err)
	}
	for what, created := range map[string]time.Time{"CreateAPIKey": key.CreatedAt, "CreateHook": h.CreatedAt} {
		if created != want || created.Location() != time.UTC {
			t.Errorf("%s returned CreatedAt %v, want %v in UTC", what, created, want)
		}
	}
}

func testProjectsAndSync(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	if len(envs) != 3 || envs[0].GivenID != "production" || !envs[2].IsPreview || envs[1].Branch != "develop" {
		t.Fatalf("environments = %+v", envs)
	}
	got, err := s.GetProject(ctx, store.GetProjectParams{ID: p.ID})
	if err != nil || got != p || got.CreatedAt != t0 {
		t.Fatalf("GetProject = %+v, %v; want %+v", got, err, p)
	}
	if _, err := s.GetProject(ctx, store.GetProjectParams{ID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetProject(nope) error = %v, want ErrNotFound", err)
	}
	// Ids are distinct integers shared by normal and preview environments.
	seen := map[int64]bool{}
	for _, e := range envs {
		if e.ID <= 0 || seen[e.ID] {
			t.Fatalf("bad or repeated id %d", e.ID)
		}
		seen[e.ID] = true
	}
	svcs, err := s.ListServices(ctx, store.ListServicesParams{EnvironmentID: envs[0].ID})
	if err != nil || len(svcs) != 2 || svcs[0].GivenID != "api" || svcs[0].Config.ID != "api" {
		t.Fatalf("ListServices = %+v, %v", svcs, err)
	}

	// Re-sync: staging leaves, production loses a service, qa arrives.
	t1 := t0.Add(time.Minute)
	again, err := s.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: t1, NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{
			{GivenID: "production", Name: "Prod", Branch: "main", Services: twoServices[:1]},
			{GivenID: "preview", Name: "Preview", IsPreview: true, Services: twoServices},
			{GivenID: "qa", Name: "QA", Branch: "qa"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].ID != envs[0].ID || again[0].Name != "Prod" || again[1].ID != envs[2].ID || seen[again[2].ID] {
		t.Fatalf("ids must be kept for existing environments and new for new ones: before %+v after %+v", envs, again)
	}
	listed, err := s.ListEnvironments(ctx, store.ListEnvironmentsParams{ProjectID: p.ID})
	if err != nil || len(listed) != 3 {
		t.Fatalf("ListEnvironments = %+v, %v", listed, err)
	}
	staging, err := s.GetEnvironment(ctx, store.GetEnvironmentParams{ID: envs[1].ID})
	if err != nil || !staging.Deleted() || staging.DeletedAt != t1 {
		t.Fatalf("staging after it left the config = %+v, %v", staging, err)
	}
	svcs, err = s.ListServices(ctx, store.ListServicesParams{EnvironmentID: envs[0].ID})
	if err != nil || len(svcs) != 1 {
		t.Fatalf("ListServices after sync = %+v, %v", svcs, err)
	}
	// Staging comes back with its old id; its service comes back too.
	back, err := s.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: t1, NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "staging", Name: "Staging", Branch: "develop", Services: twoServices}}})
	if err != nil || back[0].ID != envs[1].ID || back[0].Deleted() {
		t.Fatalf("staging back = %+v, %v", back, err)
	}
	p2, err := s.UpdateProjectConfig(ctx, store.UpdateProjectConfigParams{ID: p.ID, ConfigPath: "flightcontrol.json", DefaultBranch: "trunk", ConfigCommit: "def", At: t1})
	if err != nil || p2.ConfigPath != "flightcontrol.json" || p2.DefaultBranch != "trunk" || p2.UpdatedAt != t1 || p2.CreatedAt != t0 {
		t.Fatalf("UpdateProjectConfig = %+v, %v", p2, err)
	}
	list, err := s.ListProjects(ctx)
	if err != nil || len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("ListProjects = %+v, %v", list, err)
	}
}

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	k, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: cuid.New(), Name: "ci", Hash: "h1", Scope: "admin", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: cuid.New(), Name: "dup", Hash: "h1", Scope: "admin", At: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate hash error = %v, want ErrConflict", err)
	}
	got, err := s.GetAPIKeyByHash(ctx, store.GetAPIKeyByHashParams{Hash: "h1"})
	if err != nil || !reflect.DeepEqual(got, k) || got.Scope != "admin" || got.EnvironmentIDs != nil {
		t.Fatalf("GetAPIKeyByHash = %+v, %v; want %+v", got, err, k)
	}

	// A deploy key's environments come back with it, in the one lookup by
	// hash that authenticates a request.
	deploy, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: cuid.New(), Name: "deploy", Hash: "h2", Scope: "deploy",
		EnvironmentIDs: []int64{3, 4, 9007199254740993}, At: t0.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	read, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: cuid.New(), Name: "read", Hash: "h3", Scope: "read", At: t0.Add(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.GetAPIKeyByHash(ctx, store.GetAPIKeyByHashParams{Hash: "h2"})
	if err != nil || !reflect.DeepEqual(got, deploy) || got.Scope != "deploy" || !reflect.DeepEqual(got.EnvironmentIDs, []int64{3, 4, 9007199254740993}) {
		t.Fatalf("deploy key = %+v, %v; want %+v", got, err, deploy)
	}
	keys, err := s.ListAPIKeys(ctx)
	if err != nil || !reflect.DeepEqual(keys, []liftoff.APIKey{k, deploy, read}) {
		t.Fatalf("ListAPIKeys = %+v, %v", keys, err)
	}

	if err := s.DeleteAPIKey(ctx, store.DeleteAPIKeyParams{ID: k.ID, At: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAPIKeyByHash(ctx, store.GetAPIKeyByHashParams{Hash: "h1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key found: %v", err)
	}
	if err := s.DeleteAPIKey(ctx, store.DeleteAPIKeyParams{ID: k.ID, At: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete error = %v, want ErrNotFound", err)
	}
	keys, err = s.ListAPIKeys(ctx)
	if err != nil || !reflect.DeepEqual(keys, []liftoff.APIKey{deploy, read}) {
		t.Fatalf("ListAPIKeys after delete = %+v, %v", keys, err)
	}
}

func testHooks(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, envs := seed(t, s)
	h, err := s.CreateHook(ctx, store.CreateHookParams{ID: cuid.New(), EnvironmentID: envs[0].ID, Name: "CI", SecretHash: "s1", At: t0})
	if err != nil || h.Name != "CI" || h.Paused || h.UseCount != 0 || !h.LastUsedAt.IsZero() {
		t.Fatalf("CreateHook = %+v, %v", h, err)
	}
	h2, err := s.CreateHook(ctx, store.CreateHookParams{ID: cuid.New(), EnvironmentID: envs[0].ID, Name: "CMS", SecretHash: "s2", At: t0.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	target, err := s.HookTarget(ctx, store.HookTargetParams{EnvironmentID: envs[0].ID})
	if err != nil || target.ServiceCount != 2 || len(target.Hooks) != 2 || target.RepoURL != "/srv/shop" || target.Environment.GivenID != "production" {
		t.Fatalf("HookTarget = %+v, %v", target, err)
	}
	empty, err := s.HookTarget(ctx, store.HookTargetParams{EnvironmentID: envs[1].ID})
	if err != nil || len(empty.Hooks) != 0 || empty.ServiceCount != 2 {
		t.Fatalf("HookTarget without hooks = %+v, %v", empty, err)
	}
	if _, err := s.HookTarget(ctx, store.HookTargetParams{EnvironmentID: 999999}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("HookTarget(unknown) error = %v", err)
	}
	exp := t0.Add(time.Hour)
	r, err := s.RotateHook(ctx, store.RotateHookParams{ID: h.ID, SecretHash: "s1b", PreviousExpiresAt: exp, At: t0})
	if err != nil || r.SecretHash != "s1b" || r.PreviousSecretHash != "s1" || r.PreviousExpiresAt != exp {
		t.Fatalf("RotateHook with grace = %+v, %v", r, err)
	}
	r, err = s.RotateHook(ctx, store.RotateHookParams{ID: h.ID, SecretHash: "s1c", At: t0})
	if err != nil || r.SecretHash != "s1c" || r.PreviousSecretHash != "" || !r.PreviousExpiresAt.IsZero() {
		t.Fatalf("RotateHook without grace = %+v, %v", r, err)
	}
	p, err := s.SetHookPaused(ctx, store.SetHookPausedParams{ID: h.ID, Paused: true, At: t0})
	if err != nil || !p.Paused {
		t.Fatalf("pause = %+v, %v", p, err)
	}
	if target, _ = s.HookTarget(ctx, store.HookTargetParams{EnvironmentID: envs[0].ID}); !target.Hooks[0].Paused {
		t.Fatalf("HookTarget does not show the pause: %+v", target.Hooks)
	}
	if err := s.DeleteHook(ctx, store.DeleteHookParams{ID: h2.ID, At: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetHook(ctx, store.GetHookParams{ID: h2.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted hook found: %v", err)
	}
	if err := s.DeleteHook(ctx, store.DeleteHookParams{ID: h2.ID, At: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete = %v", err)
	}
	hooks, err := s.ListHooks(ctx, store.ListHooksParams{EnvironmentID: envs[0].ID})
	if err != nil || len(hooks) != 1 || hooks[0].ID != h.ID {
		t.Fatalf("ListHooks = %+v, %v", hooks, err)
	}
}

func testHookCalls(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, envs := seed(t, s)
	h, err := s.CreateHook(ctx, store.CreateHookParams{ID: cuid.New(), EnvironmentID: envs[0].ID, Name: "CI", SecretHash: "s", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	var calls []liftoff.HookCall
	for i := range 250 {
		calls = append(calls, liftoff.HookCall{HookID: h.ID, At: t0.Add(time.Duration(i) * time.Second),
			Address: fmt.Sprintf("10.0.0.%d", i%250), Status: 200, Outcome: "queued", DeploymentID: fmt.Sprintf("d%d", i)})
	}
	if err := s.RecordHookCalls(ctx, calls); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetHook(ctx, store.GetHookParams{ID: h.ID})
	if err != nil || got.UseCount != 250 || got.LastUsedAt != t0.Add(249*time.Second) || got.LastCallerAddress != "10.0.0.249" {
		t.Fatalf("usage after calls = %+v, %v", got, err)
	}
	// An older call recorded late does not move last-used back.
	if err := s.RecordHookCalls(ctx, []liftoff.HookCall{{HookID: h.ID, At: t0, Address: "1.1.1.1", Status: 404, Outcome: "x"}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetHook(ctx, store.GetHookParams{ID: h.ID})
	if got.UseCount != 251 || got.LastCallerAddress != "10.0.0.249" {
		t.Fatalf("usage after a late call = %+v", got)
	}
	if err := s.PruneHookCalls(ctx, store.PruneHookCallsParams{HookIDs: []string{h.ID}, Keep: 100}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListHookCalls(ctx, store.ListHookCallsParams{HookID: h.ID, Limit: 1000})
	if err != nil || len(list) != 100 {
		t.Fatalf("after pruning to 100: %d calls, %v", len(list), err)
	}
	if list[0].Address != "1.1.1.1" || list[0].DeploymentID != "" || list[1].DeploymentID != "d249" {
		t.Fatalf("newest calls = %+v %+v", list[0], list[1])
	}
}

func testIdempotencyKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	put := func(dep string, at time.Time) error {
		return s.PutIdempotencyKey(ctx, store.PutIdempotencyKeyParams{HookID: "h", Key: "k", DeploymentID: dep, At: at, ExpiredBefore: at.Add(-24 * time.Hour)})
	}
	if err := put("d1", t0); err != nil {
		t.Fatal(err)
	}
	if err := put("d2", t0.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("fresh key replaced: %v", err)
	}
	if id, err := s.GetIdempotencyKey(ctx, store.GetIdempotencyKeyParams{HookID: "h", Key: "k", Since: t0.Add(-time.Hour)}); err != nil || id != "d1" {
		t.Fatalf("GetIdempotencyKey = %q, %v", id, err)
	}
	if _, err := s.GetIdempotencyKey(ctx, store.GetIdempotencyKeyParams{HookID: "h", Key: "k", Since: t0.Add(time.Minute)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired key found: %v", err)
	}
	if err := put("d3", t0.Add(25*time.Hour)); err != nil {
		t.Fatalf("expired key not replaced: %v", err)
	}
	n, err := s.DeleteIdempotencyKeysBefore(ctx, store.DeleteIdempotencyKeysBeforeParams{Before: t0.Add(26 * time.Hour)})
	if err != nil || n != 1 {
		t.Fatalf("DeleteIdempotencyKeysBefore = %d, %v", n, err)
	}
}

func newDeployment(p liftoff.Project, e liftoff.Environment, pr int, at time.Time) liftoff.Deployment {
	return liftoff.Deployment{ID: cuid.New(), ProjectID: p.ID, EnvironmentID: e.ID, PRNumber: pr, RepoURL: p.RepoURL,
		GitBranch: e.Branch, TriggerType: liftoff.TriggerDeployHook, HookID: "hook", HookName: "CI", Status: liftoff.StatusPending, CreatedAt: at}
}

func testDeployments(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	d := newDeployment(p, envs[0], 0, t0)
	d.RequestedCommit = "abcdef1"
	if err := s.InsertDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.EnvironmentGivenID != "production" || got.IsPreview || got.Status != liftoff.StatusPending || got.CreatedAt != t0 ||
		got.RequestedCommit != "abcdef1" || got.GitCommit != "" || !got.StartedAt.IsZero() || got.HookName != "CI" || len(got.Services) != 0 {
		t.Fatalf("GetDeployment = %+v", got)
	}
	if _, err := s.GetDeployment(ctx, store.GetDeploymentParams{ID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetDeployment(nope) = %v", err)
	}
	pending, err := s.GetPendingDeployment(ctx, store.GetPendingDeploymentParams{EnvironmentID: envs[0].ID, PRNumber: 0})
	if err != nil || pending.ID != d.ID {
		t.Fatalf("GetPendingDeployment = %+v, %v", pending, err)
	}
	if _, err := s.GetPendingDeployment(ctx, store.GetPendingDeploymentParams{EnvironmentID: envs[1].ID, PRNumber: 0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pending of another environment: %v", err)
	}
	ok, err := s.JoinPendingDeployment(ctx, store.JoinPendingDeploymentParams{ID: d.ID, Force: false})
	if err != nil || !ok {
		t.Fatalf("join = %v, %v", ok, err)
	}
	if got, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID}); got.Force {
		t.Fatal("join without force set force")
	}
	if ok, err := s.JoinPendingDeployment(ctx, store.JoinPendingDeploymentParams{ID: d.ID, Force: true}); err != nil || !ok {
		t.Fatalf("join with force = %v, %v", ok, err)
	}
	if got, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID}); !got.Force || got.ClearCache {
		t.Fatalf("join with force: force %v, clearCache %v; want true, false", got.Force, got.ClearCache)
	}
	if ok, err := s.JoinPendingDeployment(ctx, store.JoinPendingDeploymentParams{ID: d.ID, ClearCache: true}); err != nil || !ok {
		t.Fatalf("join with clearCache = %v, %v", ok, err)
	}
	if got, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID}); !got.Force || !got.ClearCache {
		t.Fatalf("join with clearCache: force %v, clearCache %v; want both", got.Force, got.ClearCache)
	}
	errs := []liftoff.ErrorEntry{{Status: liftoff.StatusCancelled, Message: "superseded by x"}}
	if ok, err := s.FinishPendingDeployment(ctx, store.FinishDeploymentParams{ID: d.ID, Status: liftoff.StatusCancelled, Errors: errs, At: t0.Add(time.Second)}); err != nil || !ok {
		t.Fatalf("finish = %v, %v", ok, err)
	}
	got, _ = s.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
	if got.Status != liftoff.StatusCancelled || len(got.Errors) != 1 || got.Errors[0] != errs[0] || got.FinishedAt != t0.Add(time.Second) {
		t.Fatalf("after finish = %+v", got)
	}
	if ok, _ := s.JoinPendingDeployment(ctx, store.JoinPendingDeploymentParams{ID: d.ID, Force: false}); ok {
		t.Fatal("joined a finished deployment")
	}
	if ok, _ := s.FinishPendingDeployment(ctx, store.FinishDeploymentParams{ID: d.ID, Status: liftoff.StatusError, At: t0}); ok {
		t.Fatal("finished a deployment twice")
	}
	clean := newDeployment(p, envs[0], 0, t0.Add(time.Minute))
	clean.Force, clean.ClearCache = true, true
	if err := s.InsertDeployment(ctx, clean); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetDeployment(ctx, store.GetDeploymentParams{ID: clean.ID}); err != nil || !got.ClearCache || !got.Force {
		t.Fatalf("a deployment inserted with clearCache reads back as %+v, %v", got, err)
	}
}

func testOnePendingPerInstance(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	if err := s.InsertDeployment(ctx, newDeployment(p, envs[0], 0, t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertDeployment(ctx, newDeployment(p, envs[0], 0, t0)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second PENDING deployment of one environment: %v, want ErrConflict", err)
	}
	second := newDeployment(p, envs[0], 0, t0)
	if ok, err := s.InsertPendingDeployment(ctx, second); ok || err != nil {
		t.Fatalf("InsertPendingDeployment beside a PENDING one = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.GetDeployment(ctx, store.GetDeploymentParams{ID: second.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused deployment was stored: %v", err)
	}
	if ok, err := s.InsertPendingDeployment(ctx, newDeployment(p, envs[1], 0, t0)); !ok || err != nil {
		t.Fatalf("InsertPendingDeployment in a free environment = %v, %v", ok, err)
	}
	// Preview instances are separate.
	for _, pr := range []int{1, 2} {
		if err := s.InsertDeployment(ctx, newDeployment(p, envs[2], pr, t0)); err != nil {
			t.Fatalf("PR %d: %v", pr, err)
		}
	}
	if err := s.InsertDeployment(ctx, newDeployment(p, envs[2], 2, t0)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second PENDING deployment of PR 2: %v", err)
	}
}

func testListDeploymentsPaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	var ids []string
	for i := range 7 {
		d := newDeployment(p, envs[i%2], 0, t0.Add(time.Duration(i/2)*time.Second)) // pairs share a timestamp
		d.Status = liftoff.StatusSuccess
		if i == 6 {
			d.Status = liftoff.StatusPending
		}
		if err := s.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	var all []liftoff.Deployment
	params := store.ListDeploymentsParams{Limit: 3}
	for {
		page, err := s.ListDeployments(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < params.Limit {
			break
		}
		last := page[len(page)-1]
		params.AfterCreatedAt, params.AfterID = last.CreatedAt, last.ID
	}
	if len(all) != 7 {
		t.Fatalf("paged through %d deployments, want 7", len(all))
	}
	seen := map[string]bool{}
	for i, d := range all {
		if seen[d.ID] {
			t.Fatalf("deployment %s listed twice", d.ID)
		}
		seen[d.ID] = true
		if i > 0 && all[i-1].CreatedAt.Before(d.CreatedAt) {
			t.Fatalf("not newest first at %d", i)
		}
	}
	byEnv, err := s.ListDeployments(ctx, store.ListDeploymentsParams{EnvironmentID: envs[1].ID})
	if err != nil || len(byEnv) != 3 {
		t.Fatalf("by environment: %d, %v", len(byEnv), err)
	}
	byStatus, err := s.ListDeployments(ctx, store.ListDeploymentsParams{Status: liftoff.StatusPending})
	if err != nil || len(byStatus) != 1 || byStatus[0].ID != ids[6] {
		t.Fatalf("by status: %+v, %v", byStatus, err)
	}
	byPR, err := s.ListDeployments(ctx, store.ListDeploymentsParams{HasPRNumber: true, PRNumber: 3})
	if err != nil || len(byPR) != 0 {
		t.Fatalf("by PR: %+v, %v", byPR, err)
	}
	// A deploy key lists the deployments of its environments only.
	for _, c := range []struct {
		name string
		p    store.ListDeploymentsParams
		want int
	}{
		{"one environment", store.ListDeploymentsParams{EnvironmentIDs: []int64{envs[1].ID}}, 3},
		{"two environments", store.ListDeploymentsParams{EnvironmentIDs: []int64{envs[1].ID, envs[0].ID}}, 7},
		{"an environment without deployments", store.ListDeploymentsParams{EnvironmentIDs: []int64{envs[2].ID}}, 0},
		{"no environment", store.ListDeploymentsParams{EnvironmentIDs: []int64{}}, 0},
		{"and a filter outside them", store.ListDeploymentsParams{EnvironmentIDs: []int64{envs[1].ID}, EnvironmentID: envs[0].ID}, 0},
		{"and a filter inside them", store.ListDeploymentsParams{EnvironmentIDs: []int64{envs[1].ID, envs[0].ID}, EnvironmentID: envs[0].ID}, 4},
	} {
		got, err := s.ListDeployments(ctx, c.p)
		if err != nil || len(got) != c.want {
			t.Errorf("%s: %d deployments, %v; want %d", c.name, len(got), err, c.want)
		}
		for _, d := range got {
			if !slices.Contains(c.p.EnvironmentIDs, d.EnvironmentID) {
				t.Errorf("%s: listed deployment %s of environment %d", c.name, d.ID, d.EnvironmentID)
			}
		}
	}
}

func testTxRollsBack(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	boom := errors.New("boom")
	d := newDeployment(p, envs[0], 0, t0)
	err := s.Tx(ctx, func(q store.Queries) error {
		if err := q.InsertDeployment(ctx, d); err != nil {
			return err
		}
		// Reads in the transaction see its writes.
		if _, err := q.GetPendingDeployment(ctx, store.GetPendingDeploymentParams{EnvironmentID: envs[0].ID, PRNumber: 0}); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx error = %v, want boom", err)
	}
	if _, err := s.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled back deployment exists: %v", err)
	}
	if err := s.Tx(ctx, func(q store.Queries) error { return q.InsertDeployment(ctx, d) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID}); err != nil {
		t.Fatalf("committed deployment missing: %v", err)
	}
}

// testConcurrentTx runs many transactions at once, some failing: the failing
// ones leave nothing and the others all commit (on SQLite they share commits).
func testConcurrentTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q store.Queries) error {
				if _, err := q.CreateHook(ctx, store.CreateHookParams{ID: fmt.Sprintf("h%02d", i), EnvironmentID: envs[0].ID, Name: "x", SecretHash: "s", At: t0}); err != nil {
					return err
				}
				if i%4 == 0 {
					return fmt.Errorf("fail %d", i)
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i%4 == 0) != (err != nil) {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	hooks, err := s.ListHooks(ctx, store.ListHooksParams{EnvironmentID: envs[0].ID})
	if err != nil || len(hooks) != n-n/4 {
		t.Fatalf("%d hooks committed, want %d (%v)", len(hooks), n-n/4, err)
	}
	_ = p
}

// testLockInstance runs transactions that each replace the PENDING
// deployment of one instance (read it, cancel it, insert their own), all
// at once: with the instance locked first they take turns, so none meets
// another's insert in the unique index, and one PENDING is left.
func testLockInstance(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q store.Queries) error {
				if err := q.LockInstance(ctx, store.LockInstanceParams{EnvironmentID: envs[2].ID, PRNumber: 7}); err != nil {
					return err
				}
				pending, err := q.GetPendingDeployment(ctx, store.GetPendingDeploymentParams{EnvironmentID: envs[2].ID, PRNumber: 7})
				switch {
				case err == nil:
					ok, err := q.FinishPendingDeployment(ctx, store.FinishDeploymentParams{ID: pending.ID, Status: liftoff.StatusCancelled, At: t0})
					if err != nil {
						return err
					}
					if !ok {
						return fmt.Errorf("%s was read PENDING and was not any more", pending.ID)
					}
				case !errors.Is(err, store.ErrNotFound):
					return err
				}
				return q.InsertDeployment(ctx, newDeployment(p, envs[2], 7, t0))
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	ds, err := s.ListDeployments(ctx, store.ListDeploymentsParams{EnvironmentID: envs[2].ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	pending := 0
	for _, d := range ds {
		if d.Status == liftoff.StatusPending {
			pending++
		}
	}
	if len(ds) != n || pending != 1 {
		t.Errorf("%d deployments, %d PENDING; want %d and 1", len(ds), pending, n)
	}
}

func testClosed(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: "k", Name: "k", Hash: "h", Scope: "admin", At: t0}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write on a closed store: %v, want ErrUnavailable", err)
	}
	if _, err := s.ListProjects(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("read on a closed store: %v, want ErrUnavailable", err)
	}
}
