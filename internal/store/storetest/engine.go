package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// engineCases cover what the engine asks of the store: claims under a
// lease, cancel, interruption, service deployments and logs.
func engineCases() []testCase {
	return []testCase{
		{"ClaimOldestFirstOnePerInstance", testClaim},
		{"ConcurrentClaims", testConcurrentClaims},
		{"LeaseAndCancel", testLeaseAndCancel},
		{"Interrupt", testInterrupt},
		{"ServiceDeployments", testServiceDeployments},
		{"Logs", testLogs},
		{"QueueStats", testQueueStats},
	}
}

// testQueueStats: the queue counts PENDING deployments with the oldest's
// time, and running ones, whichever environment they are of.
func testQueueStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	stats := func() store.QueueStats {
		t.Helper()
		st, err := s.QueueStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := stats(); st != (store.QueueStats{}) {
		t.Fatalf("an empty queue = %+v", st)
	}
	for i, d := range []liftoff.Deployment{newDeployment(p, envs[0], 0, t0.Add(time.Second)), newDeployment(p, envs[1], 0, t0),
		newDeployment(p, envs[2], 4, t0.Add(2*time.Second))} {
		if err := s.InsertDeployment(ctx, d); err != nil {
			t.Fatalf("deployment %d: %v", i, err)
		}
	}
	if st := stats(); st.Pending != 3 || !st.OldestPending.Equal(t0) || st.Running != 0 {
		t.Fatalf("three queued = %+v, want 3 pending since %s", st, t0)
	}
	oldest, _ := claim(t, s, "n1", t0.Add(3*time.Second))
	if st := stats(); st.Pending != 2 || !st.OldestPending.Equal(t0.Add(time.Second)) || st.Running != 1 {
		t.Fatalf("one claimed = %+v, want 2 pending since %s and 1 running", st, t0.Add(time.Second))
	}
	if ok, err := s.FinishDeployment(ctx, store.FinishDeploymentParams{ID: oldest.ID, Status: liftoff.StatusSuccess, At: t0.Add(4 * time.Second)}); !ok || err != nil {
		t.Fatalf("finish = %v, %v", ok, err)
	}
	if st := stats(); st.Pending != 2 || st.Running != 0 {
		t.Fatalf("one finished = %+v", st)
	}
}

func claim(t *testing.T, s store.Store, owner string, at time.Time) (liftoff.Deployment, bool) {
	t.Helper()
	d, err := s.ClaimDeployment(context.Background(), store.ClaimParams{Owner: owner, At: at, LeaseUntil: at.Add(time.Minute)})
	if errors.Is(err, store.ErrNotFound) {
		return d, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return d, true
}

func testClaim(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	if _, ok := claim(t, s, "n1", t0); ok {
		t.Fatal("claimed from an empty queue")
	}
	older := newDeployment(p, envs[1], 0, t0)
	newer := newDeployment(p, envs[0], 0, t0.Add(time.Second))
	for _, d := range []liftoff.Deployment{newer, older} {
		if err := s.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	d, ok := claim(t, s, "n1", t0.Add(2*time.Second))
	if !ok || d.ID != older.ID || d.Status != liftoff.StatusInProgress || d.StartedAt != t0.Add(2*time.Second) {
		t.Fatalf("first claim = %+v, %v; want the older deployment INPROGRESS", d, ok)
	}
	// A new PENDING deployment of the running environment waits its turn.
	queued := newDeployment(p, envs[1], 0, t0.Add(3*time.Second))
	if err := s.InsertDeployment(ctx, queued); err != nil {
		t.Fatal(err)
	}
	d2, ok := claim(t, s, "n1", t0.Add(4*time.Second))
	if !ok || d2.ID != newer.ID {
		t.Fatalf("second claim = %+v; want the other environment's", d2)
	}
	if d3, ok := claim(t, s, "n1", t0.Add(5*time.Second)); ok {
		t.Fatalf("claimed %s while its environment runs a deployment", d3.ID)
	}
	if ok, err := s.FinishDeployment(ctx, store.FinishDeploymentParams{ID: older.ID, Status: liftoff.StatusSuccess, At: t0.Add(6 * time.Second)}); !ok || err != nil {
		t.Fatalf("finish = %v, %v", ok, err)
	}
	if ok, _ := s.FinishDeployment(ctx, store.FinishDeploymentParams{ID: older.ID, Status: liftoff.StatusError, At: t0}); ok {
		t.Fatal("finished twice")
	}
	d4, ok := claim(t, s, "n1", t0.Add(7*time.Second))
	if !ok || d4.ID != queued.ID {
		t.Fatalf("after the environment freed: %+v %v", d4, ok)
	}
	// Previews: PR instances run in parallel.
	for pr := 1; pr <= 2; pr++ {
		if err := s.InsertDeployment(ctx, newDeployment(p, envs[2], pr, t0.Add(8*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	for pr := 1; pr <= 2; pr++ {
		if _, ok := claim(t, s, "n1", t0.Add(9*time.Second)); !ok {
			t.Fatalf("PR instance %d did not start beside the other", pr)
		}
	}
	got, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: older.ID})
	if got.Status != liftoff.StatusSuccess || got.FinishedAt != t0.Add(6*time.Second) {
		t.Fatalf("finished deployment = %+v", got)
	}
}

// testConcurrentClaims: many workers claim at once; every deployment is
// claimed exactly once and never two of one instance at a time.
func testConcurrentClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	const prs = 20
	for pr := 1; pr <= prs; pr++ {
		if err := s.InsertDeployment(ctx, newDeployment(p, envs[2], pr, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertDeployment(ctx, newDeployment(p, envs[0], 0, t0)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for {
				d, err := s.ClaimDeployment(ctx, store.ClaimParams{Owner: fmt.Sprint("w", w), At: t0, LeaseUntil: t0.Add(time.Minute)})
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[d.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != prs+1 {
		t.Fatalf("%d deployments claimed, want %d", len(seen), prs+1)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("deployment %s claimed %d times", id, n)
		}
	}
}

func testLeaseAndCancel(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	running := newDeployment(p, envs[0], 0, t0)
	if err := s.InsertDeployment(ctx, running); err != nil {
		t.Fatal(err)
	}
	if _, ok := claim(t, s, "n1", t0); !ok {
		t.Fatal("no claim")
	}
	if cancel, err := s.RenewLease(ctx, store.RenewLeaseParams{ID: running.ID, Owner: "n1", Until: t0.Add(time.Hour)}); err != nil || cancel {
		t.Fatalf("renew = %v, %v", cancel, err)
	}
	if _, err := s.RenewLease(ctx, store.RenewLeaseParams{ID: running.ID, Owner: "n2", Until: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("renew by another owner: %v", err)
	}
	if err := s.UpdateRunningDeployment(ctx, store.UpdateRunningParams{ID: running.ID, Status: liftoff.StatusBuilding, GitCommit: "abc", Config: `{"x":1}`}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: running.ID})
	if got.Status != liftoff.StatusBuilding || got.GitCommit != "abc" || got.Config != `{"x":1}` {
		t.Fatalf("after update = %+v", got)
	}
	if st, err := s.RequestCancel(ctx, store.RequestCancelParams{ID: running.ID, At: t0}); err != nil || st != liftoff.StatusBuilding {
		t.Fatalf("cancel of a running deployment = %v, %v", st, err)
	}
	if cancel, err := s.RenewLease(ctx, store.RenewLeaseParams{ID: running.ID, Owner: "n1", Until: t0.Add(time.Hour)}); err != nil || !cancel {
		t.Fatalf("renew after cancel = %v, %v; want the request", cancel, err)
	}
	pending := newDeployment(p, envs[1], 0, t0)
	if err := s.InsertDeployment(ctx, pending); err != nil {
		t.Fatal(err)
	}
	if st, err := s.RequestCancel(ctx, store.RequestCancelParams{ID: pending.ID, At: t0}); err != nil || st != liftoff.StatusCancelled {
		t.Fatalf("cancel of a PENDING deployment = %v, %v", st, err)
	}
	if st, err := s.RequestCancel(ctx, store.RequestCancelParams{ID: pending.ID, At: t0}); err != nil || st != liftoff.StatusCancelled {
		t.Fatalf("second cancel = %v, %v", st, err)
	}
	if _, err := s.RequestCancel(ctx, store.RequestCancelParams{ID: "nope", At: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancel of an unknown deployment: %v", err)
	}
}

func testInterrupt(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	mine := newDeployment(p, envs[0], 0, t0)
	stale := newDeployment(p, envs[1], 0, t0)
	fresh := newDeployment(p, envs[2], 1, t0)
	for i, d := range []liftoff.Deployment{mine, stale, fresh} {
		if err := s.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
		owner := []string{"me", "dead", "alive"}[i]
		lease := []time.Duration{time.Hour, time.Second, time.Hour}[i]
		if _, err := s.ClaimDeployment(ctx, store.ClaimParams{Owner: owner, At: t0, LeaseUntil: t0.Add(lease)}); err != nil {
			t.Fatal(err)
		}
	}
	sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: mine.ID, ServiceID: "s", ServiceGivenID: "api", ServiceName: "API",
		ServiceType: "web", Status: liftoff.StatusBuilding, CreatedAt: t0}
	if err := s.InsertServiceDeployment(ctx, sd); err != nil {
		t.Fatal(err)
	}
	ids, err := s.InterruptDeployments(ctx, store.InterruptParams{Owner: "me", LeaseExpiredBefore: t0.Add(time.Minute),
		Message: "interrupted by a restart of Liftoff", At: t0.Add(time.Minute)})
	if err != nil || len(ids) != 2 {
		t.Fatalf("interrupted %v, %v; want mine and the stale one", ids, err)
	}
	got, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: mine.ID})
	if got.Status != liftoff.StatusError || got.Errors[0].Message != "interrupted by a restart of Liftoff" ||
		len(got.Services) != 1 || got.Services[0].Status != liftoff.StatusError {
		t.Fatalf("interrupted deployment = %+v", got)
	}
	if got, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: fresh.ID}); got.Status != liftoff.StatusInProgress {
		t.Fatalf("a deployment with a live lease was interrupted: %s", got.Status)
	}
}

func testServiceDeployments(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	svcs, err := s.ListServices(ctx, store.ListServicesParams{EnvironmentID: envs[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	api := svcs[0]
	mk := func(status liftoff.Status, finished time.Duration, build string) liftoff.ServiceDeployment {
		d := newDeployment(p, envs[0], 0, t0)
		d.Status = liftoff.StatusSuccess
		if err := s.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
		sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: api.ID, ServiceGivenID: api.GivenID,
			ServiceName: api.Name, ServiceType: api.Type, Status: liftoff.StatusBuilding, EnvironmentID: envs[0].ID,
			GitCommit: fmt.Sprint("commit", finished), Fingerprint: "fp", Config: config.Service{ID: "api"}, CreatedAt: t0}
		if err := s.InsertServiceDeployment(ctx, sd); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateServiceDeployment(ctx, store.UpdateServiceDeploymentParams{ID: sd.ID, Status: status, Reason: "matched",
			FinishedAt: t0.Add(finished), BuildDir: build, Image: "img" + build, Errors: []liftoff.ErrorEntry{{Status: status, Message: "m"}}}); err != nil {
			t.Fatal(err)
		}
		return sd
	}
	last := func(pr int, since, before time.Time) (liftoff.ServiceDeployment, error) {
		return s.LastSuccess(ctx, store.LastSuccessParams{ServiceID: api.ID, PRNumber: pr, Since: since, Before: before})
	}
	if _, err := last(0, time.Time{}, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastSuccess with none: %v", err)
	}
	a := mk(liftoff.StatusSuccess, time.Minute, "/b/a")
	b := mk(liftoff.StatusSuccess, 2*time.Minute, "/b/b")
	mk(liftoff.StatusBuildError, 3*time.Minute, "")
	latest, err := last(0, time.Time{}, time.Time{})
	if err != nil || latest.ID != b.ID || latest.GitCommit != b.GitCommit || latest.Reason != "matched" || latest.BuildDir != "/b/b" || latest.Image != "img/b/b" || latest.Config.ID != "api" {
		t.Fatalf("LastSuccess = %+v, %v", latest, err)
	}
	if before, err := last(0, time.Time{}, t0.Add(90*time.Second)); err != nil || before.ID != a.ID {
		t.Fatalf("LastSuccess before b = %+v, %v", before, err)
	}
	if _, err := last(0, t0.Add(150*time.Second), time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastSuccess since after b: %v", err)
	}
	if _, err := last(7, time.Time{}, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another instance shares the base: %v", err)
	}
	kept, err := s.KeptBuilds(ctx, store.KeptBuildsParams{ServiceID: api.ID, PRNumber: 0})
	if err != nil || len(kept) != 2 || kept[0].ID != b.ID {
		t.Fatalf("KeptBuilds = %+v, %v", kept, err)
	}
	live, err := s.LiveReleases(ctx)
	if err != nil || len(live) != 1 || live[0].ID != b.ID {
		t.Fatalf("LiveReleases = %+v, %v", live, err)
	}
	if err := s.ClearBuildDir(ctx, store.ClearBuildDirParams{ServiceDeploymentID: a.ID}); err != nil {
		t.Fatal(err)
	}
	if kept, _ := s.KeptBuilds(ctx, store.KeptBuildsParams{ServiceID: api.ID, PRNumber: 0}); len(kept) != 1 {
		t.Fatalf("KeptBuilds after clearing = %d", len(kept))
	}
	// A service that left the config has no live release.
	if _, err := s.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: t0, NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "P", Branch: "main", Services: twoServices[1:]}}}); err != nil {
		t.Fatal(err)
	}
	if live, _ := s.LiveReleases(ctx); len(live) != 0 {
		t.Fatalf("LiveReleases of a removed service = %+v", live)
	}
	ensured, err := s.EnsureServices(ctx, store.EnsureServicesParams{EnvironmentID: envs[0].ID, Services: twoServices, At: t0, NewServiceID: cuid.New})
	if err != nil || len(ensured) != 2 || ensured[0].ID != api.ID {
		t.Fatalf("EnsureServices = %+v, %v; want the old id back", ensured, err)
	}
	got, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: b.DeploymentID})
	if len(got.Services) != 1 || got.Services[0].Status != liftoff.StatusSuccess || len(got.Services[0].Errors) != 1 {
		t.Fatalf("GetDeployment services = %+v", got.Services)
	}
}

func testLogs(t *testing.T, s store.Store) {
	ctx := context.Background()
	var lines []liftoff.LogLine
	for i := range 450 {
		sd := "sd-a"
		if i%3 == 0 {
			sd = "sd-b"
		}
		lines = append(lines, liftoff.LogLine{DeploymentID: "d1", ServiceDeploymentID: sd, At: t0, Text: fmt.Sprintf("line %d", i)})
	}
	if err := s.AppendLogs(ctx, lines); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListLogs(ctx, store.ListLogsParams{DeploymentID: "d1", Limit: 1000})
	if err != nil || len(all) != 450 || all[0].Text != "line 0" || all[449].Text != "line 449" {
		t.Fatalf("ListLogs = %d lines, %v", len(all), err)
	}
	b, err := s.ListLogs(ctx, store.ListLogsParams{DeploymentID: "d1", ServiceDeploymentID: "sd-b", AfterID: all[3].ID, Limit: 10})
	if err != nil || len(b) != 10 || b[0].Text != "line 6" {
		t.Fatalf("filtered page = %+v, %v", b, err)
	}
}
