package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// testClaimWaitsForCleanup: a deployment of a PR torn down but not cleaned
// up yet waits, so the cleanup cannot remove the new incarnation's builds.
func testClaimWaitsForCleanup(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	pv := envs[2]
	if _, err := s.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: pv.ID, PRNumber: 5, At: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeletePreviewInstance(ctx, store.DeletePreviewInstanceParams{EnvironmentID: pv.ID, PRNumber: 5, At: t0}); err != nil {
		t.Fatal(err)
	}
	d := newDeployment(p, pv, 5, t0.Add(time.Second))
	if err := s.InsertDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got, ok := claim(t, s, "n", t0.Add(2*time.Second)); ok {
		t.Fatalf("claimed %s before the torn down preview was cleaned up", got.ID)
	}
	if err := s.MarkPreviewCleaned(ctx, store.MarkPreviewCleanedParams{EnvironmentID: pv.ID, PRNumber: 5, At: t0.Add(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if got, ok := claim(t, s, "n", t0.Add(4*time.Second)); !ok || got.ID != d.ID {
		t.Fatalf("after the cleanup: %+v %v", got, ok)
	}
}

func testPreviews(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	pv := envs[2]
	upsert := func(pr int, branch string, at time.Time) liftoff.PreviewInstance {
		t.Helper()
		inst, err := s.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: pv.ID, PRNumber: pr, HeadBranch: branch, At: at})
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}
	first := upsert(7, "feature", t0)
	if first.CreatedAt != t0 || first.LastDeployedAt != t0 || first.HeadBranch != "feature" || first.Deleted() {
		t.Fatalf("new instance = %+v", first)
	}
	again := upsert(7, "", t0.Add(time.Hour))
	if again.CreatedAt != t0 || again.LastDeployedAt != t0.Add(time.Hour) || again.HeadBranch != "feature" {
		t.Fatalf("redeployed instance = %+v; want the same incarnation, later last deployment", again)
	}
	upsert(8, "other", t0)
	list, err := s.ListPreviewInstances(ctx, store.ListPreviewInstancesParams{EnvironmentID: pv.ID, IncludeDeleted: false})
	if err != nil || len(list) != 2 || list[0].PRNumber != 7 {
		t.Fatalf("ListPreviewInstances = %+v, %v", list, err)
	}

	// Scheduled teardown and TTL.
	if err := s.SchedulePreviewTeardown(ctx, store.SchedulePreviewTeardownParams{EnvironmentID: pv.ID, PRNumber: 8, At: t0.Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	due, err := s.PreviewsDue(ctx, store.PreviewsDueParams{Now: t0.Add(10 * time.Minute), EnvironmentIDs: nil, StaleBefore: nil})
	if err != nil || len(due) != 0 {
		t.Fatalf("due before its time = %+v, %v", due, err)
	}
	due, err = s.PreviewsDue(ctx, store.PreviewsDueParams{Now: t0.Add(31 * time.Minute), EnvironmentIDs: nil, StaleBefore: nil})
	if err != nil || len(due) != 1 || due[0].PRNumber != 8 {
		t.Fatalf("due after its time = %+v, %v", due, err)
	}
	due, err = s.PreviewsDue(ctx, store.PreviewsDueParams{Now: t0, EnvironmentIDs: []int64{pv.ID}, StaleBefore: []time.Time{t0.Add(2 * time.Hour)}})
	if err != nil || len(due) != 2 {
		t.Fatalf("stale instances = %+v, %v", due, err)
	}
	if err := s.SchedulePreviewTeardown(ctx, store.SchedulePreviewTeardownParams{EnvironmentID: pv.ID, PRNumber: 8, At: time.Time{}}); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.PreviewsDue(ctx, store.PreviewsDueParams{Now: t0.Add(31 * time.Minute), EnvironmentIDs: nil, StaleBefore: nil}); len(due) != 0 {
		t.Fatalf("a cancelled teardown is still due: %+v", due)
	}

	// Teardown cancels the instance's deployments and keeps its history.
	pending := newDeployment(p, pv, 7, t0)
	running := newDeployment(p, pv, 7, t0)
	other := newDeployment(p, pv, 8, t0)
	for _, d := range []liftoff.Deployment{running, other} {
		if err := s.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := s.ClaimDeployment(ctx, store.ClaimParams{Owner: "n", At: t0, LeaseUntil: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertDeployment(ctx, pending); err != nil {
		t.Fatal(err)
	}
	if r, err := s.InstanceRunning(ctx, store.InstanceRunningParams{EnvironmentID: pv.ID, PRNumber: 7}); err != nil || !r {
		t.Fatalf("InstanceRunning = %v, %v", r, err)
	}
	deleted, err := s.DeletePreviewInstance(ctx, store.DeletePreviewInstanceParams{EnvironmentID: pv.ID, PRNumber: 7, At: t0.Add(2 * time.Hour)})
	if err != nil || !deleted.Deleted() {
		t.Fatalf("DeletePreviewInstance = %+v, %v", deleted, err)
	}
	if _, err := s.DeletePreviewInstance(ctx, store.DeletePreviewInstanceParams{EnvironmentID: pv.ID, PRNumber: 7, At: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.CancelInstanceDeployments(ctx, store.CancelInstanceDeploymentsParams{EnvironmentID: pv.ID, PRNumber: 7, Message: "torn down", At: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: pending.ID}); d.Status != liftoff.StatusCancelled || d.Errors[0].Message != "torn down" {
		t.Fatalf("pending after teardown = %+v", d)
	}
	if cancel, err := s.RenewLease(ctx, store.RenewLeaseParams{ID: running.ID, Owner: "n", Until: t0.Add(time.Hour)}); err != nil || !cancel {
		t.Fatalf("running after teardown: cancel requested = %v, %v", cancel, err)
	}
	if cancel, _ := s.RenewLease(ctx, store.RenewLeaseParams{ID: other.ID, Owner: "n", Until: t0.Add(time.Hour)}); cancel {
		t.Fatal("another PR's deployment was asked to cancel")
	}
	clean, err := s.PreviewsToClean(ctx)
	if err != nil || len(clean) != 1 || clean[0].PRNumber != 7 {
		t.Fatalf("PreviewsToClean = %+v, %v", clean, err)
	}
	if err := s.MarkPreviewCleaned(ctx, store.MarkPreviewCleanedParams{EnvironmentID: pv.ID, PRNumber: 7, At: t0.Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if clean, _ := s.PreviewsToClean(ctx); len(clean) != 0 {
		t.Fatalf("cleaned instance still listed: %+v", clean)
	}
	if all, _ := s.ListPreviewInstances(ctx, store.ListPreviewInstancesParams{EnvironmentID: pv.ID, IncludeDeleted: true}); len(all) != 2 {
		t.Fatalf("ListPreviewInstances with deleted = %+v", all)
	}
	// A later deployment of the same PR starts it afresh.
	reborn := upsert(7, "", t0.Add(4*time.Hour))
	if reborn.Deleted() || reborn.CreatedAt != t0.Add(4*time.Hour) || !reborn.CleanedAt.IsZero() || reborn.HeadBranch != "feature" {
		t.Fatalf("re-created instance = %+v", reborn)
	}
	got, err := s.GetPreviewInstance(ctx, store.GetPreviewInstanceParams{EnvironmentID: pv.ID, PRNumber: 7})
	if err != nil || got != reborn {
		t.Fatalf("GetPreviewInstance = %+v, %v", got, err)
	}

	// Live releases of a preview count only from its current incarnation.
	svcs, _ := s.ListServices(ctx, store.ListServicesParams{EnvironmentID: pv.ID})
	d := newDeployment(p, pv, 7, t0)
	d.Status = liftoff.StatusSuccess
	if err := s.InsertDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: svcs[0].ID, ServiceGivenID: "api", ServiceName: "API",
		ServiceType: "web", Status: liftoff.StatusSuccess, EnvironmentID: pv.ID, PRNumber: 7, BuildDir: "/b", FinishedAt: t0.Add(3 * time.Hour), CreatedAt: t0}
	if err := s.InsertServiceDeployment(ctx, sd); err != nil {
		t.Fatal(err)
	}
	if live, _ := s.LiveReleases(ctx); len(live) != 0 {
		t.Fatalf("a release of the torn down incarnation is live: %+v", live)
	}
	builds, err := s.InstanceBuilds(ctx, store.InstanceBuildsParams{EnvironmentID: pv.ID, PRNumber: 7})
	if err != nil || len(builds) != 1 {
		t.Fatalf("InstanceBuilds = %+v, %v", builds, err)
	}
	envs2, err := s.ListPreviewEnvironments(ctx)
	if err != nil || len(envs2) != 1 || envs2[0].ID != pv.ID {
		t.Fatalf("ListPreviewEnvironments = %+v, %v", envs2, err)
	}
}

// testCountLivePreviews: live instances and pull requests whose deployment
// is queued or running count, each once; torn down instances, finished
// deployments and other environments do not.
func testCountLivePreviews(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	pv := envs[2]
	count := func(pr int) store.LivePreviews {
		t.Helper()
		var n store.LivePreviews
		if err := s.Tx(ctx, func(q store.Queries) error {
			var err error
			n, err = q.CountLivePreviews(ctx, store.CountLivePreviewsParams{EnvironmentID: pv.ID, PRNumber: pr})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(1); got != (store.LivePreviews{}) {
		t.Fatalf("empty: %+v", got)
	}
	for _, pr := range []int{1, 2, 3} {
		if _, err := s.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: pv.ID, PRNumber: pr, At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeletePreviewInstance(ctx, store.DeletePreviewInstanceParams{EnvironmentID: pv.ID, PRNumber: 3, At: t0}); err != nil {
		t.Fatal(err)
	}
	// PR 1 live with a queued deployment: counted once. PR 4 queued,
	// PR 5 running: counted. PR 6 finished: not.
	for _, pr := range []int{1, 4, 5, 6} {
		if err := s.InsertDeployment(ctx, newDeployment(p, pv, pr, t0)); err != nil {
			t.Fatal(err)
		}
	}
	// A normal environment's deployments do not count.
	if err := s.InsertDeployment(ctx, newDeployment(p, envs[0], 0, t0)); err != nil {
		t.Fatal(err)
	}
	for _, pr := range []int{5, 6} {
		pending, err := s.GetPendingDeployment(ctx, store.GetPendingDeploymentParams{EnvironmentID: pv.ID, PRNumber: pr})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FinishPendingDeployment(ctx, store.FinishDeploymentParams{ID: pending.ID, Status: liftoff.StatusCancelled, At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	// PR 5 runs: its deployment is the oldest, claimed first.
	running := newDeployment(p, pv, 5, t0.Add(-time.Second))
	if err := s.InsertDeployment(ctx, running); err != nil {
		t.Fatal(err)
	}
	if d, ok := claim(t, s, "n", t0.Add(time.Second)); !ok || d.ID != running.ID {
		t.Fatalf("claimed %+v, want PR 5's deployment", d)
	}
	if got, want := count(7), (store.LivePreviews{Count: 4}); got != want {
		t.Fatalf("count for PR 7 = %+v, want %+v (PRs 1, 2, 4, 5)", got, want)
	}
	for _, pr := range []int{1, 2, 4, 5} {
		if got := count(pr); !got.Includes || got.Count != 4 {
			t.Fatalf("count for PR %d = %+v, want it included in 4", pr, got)
		}
	}
	if got := count(3); got.Includes {
		t.Fatalf("the torn down PR 3 counts: %+v", got)
	}
}
