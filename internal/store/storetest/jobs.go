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

// jobCases cover the executions of scheduler jobs: a scheduled time is
// recorded once, a job runs once at a time, leases, manual runs.
func jobCases() []testCase {
	return []testCase{
		{"ScheduledOnceAndSkipped", testScheduledJobs},
		{"ConcurrentScheduledClaims", testConcurrentScheduledClaims},
		{"ManualRuns", testManualJobRuns},
		{"JobLeases", testJobLeases},
	}
}

// jobOf is an execution of job "nightly" of production's api service.
func jobOf(t *testing.T, s store.Store) liftoff.JobExecution {
	t.Helper()
	p, envs := seed(t, s)
	svcs, err := s.ListServices(context.Background(), store.ListServicesParams{EnvironmentID: envs[0].ID})
	if err != nil || len(svcs) == 0 {
		t.Fatalf("services: %v %v", svcs, err)
	}
	got, err := s.GetService(context.Background(), store.GetServiceParams{ID: svcs[0].ID})
	if err != nil || got.ID != svcs[0].ID || got.GivenID != svcs[0].GivenID || got.EnvironmentID != envs[0].ID {
		t.Fatalf("GetService: %+v %v", got, err)
	}
	if _, err := s.GetService(context.Background(), store.GetServiceParams{ID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetService of an unknown id: %v", err)
	}
	return liftoff.JobExecution{ProjectID: p.ID, EnvironmentID: envs[0].ID, ServiceID: svcs[0].ID, JobID: "nightly",
		ServiceDeploymentID: "sd-1", Command: config.Exec("node", "job.js")}
}

func scheduled(base liftoff.JobExecution, at time.Time) store.ClaimScheduledJobParams {
	base.ID, base.ScheduledAt = cuid.New(), at
	return store.ClaimScheduledJobParams{Execution: base, Owner: "node-a", At: at, LeaseUntil: at.Add(time.Minute), SkipMessage: "still running"}
}

func testScheduledJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := jobOf(t, s)
	first, err := s.ClaimScheduledJob(ctx, scheduled(base, t0))
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != liftoff.JobInProgress || first.Trigger != liftoff.JobTriggerSchedule || !first.ScheduledAt.Equal(t0) ||
		!first.StartedAt.Equal(t0) || first.LeaseOwner != "node-a" || first.Command.String() != "node job.js" {
		t.Fatalf("claimed %+v", first)
	}
	// The same time again, from anyone: recorded already.
	again := scheduled(base, t0)
	again.Owner = "node-b"
	if _, err := s.ClaimScheduledJob(ctx, again); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the same time claimed twice: %v", err)
	}
	// The next time while the first runs: skipped, and recorded once.
	next := t0.Add(time.Minute)
	skipped, err := s.ClaimScheduledJob(ctx, scheduled(base, next))
	if err != nil {
		t.Fatal(err)
	}
	if skipped.Status != liftoff.JobSkipped || skipped.Error != "still running" || !skipped.FinishedAt.Equal(next) || skipped.LeaseOwner != "" {
		t.Fatalf("skipped %+v", skipped)
	}
	if _, err := s.ClaimScheduledJob(ctx, scheduled(base, next)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a skipped time claimed again: %v", err)
	}
	// Another job of the service runs meanwhile.
	other := scheduled(base, next)
	other.Execution.JobID = "hourly"
	if e, err := s.ClaimScheduledJob(ctx, other); err != nil || e.Status != liftoff.JobInProgress {
		t.Fatalf("another job: %+v %v", e, err)
	}
	// Once the first ends, the job runs again.
	code := 3
	ok, err := s.FinishJobExecution(ctx, store.FinishJobExecutionParams{ID: first.ID, Owner: "node-a", Status: liftoff.JobFailed,
		ExitCode: &code, Error: "exited with 3", At: next})
	if err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	got, err := s.GetJobExecution(ctx, store.GetJobExecutionParams{ID: first.ID})
	if err != nil || got.Status != liftoff.JobFailed || got.ExitCode == nil || *got.ExitCode != 3 || got.Error != "exited with 3" ||
		!got.FinishedAt.Equal(next) || got.LeaseOwner != "" {
		t.Fatalf("finished %+v %v", got, err)
	}
	if ok, err := s.FinishJobExecution(ctx, store.FinishJobExecutionParams{ID: first.ID, Owner: "node-a", Status: liftoff.JobCompleted, At: next}); err != nil || ok {
		t.Fatalf("finished twice: %v %v", ok, err)
	}
	third, err := s.ClaimScheduledJob(ctx, scheduled(base, t0.Add(2*time.Minute)))
	if err != nil || third.Status != liftoff.JobInProgress {
		t.Fatalf("after the end: %+v %v", third, err)
	}
	list, err := s.ListJobExecutions(ctx, store.ListJobExecutionsParams{ServiceID: base.ServiceID, JobID: "nightly"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != third.ID || list[1].ID != skipped.ID || list[2].ID != first.ID {
		t.Fatalf("listed %d: %+v", len(list), list)
	}
	all, err := s.ListJobExecutions(ctx, store.ListJobExecutionsParams{ServiceID: base.ServiceID})
	if err != nil || len(all) != 4 {
		t.Fatalf("every job: %d %v", len(all), err)
	}
	if _, err := s.GetJobExecution(ctx, store.GetJobExecutionParams{ID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
}

// testConcurrentScheduledClaims: replicas racing for the same times record
// each once, and one of them runs it.
func testConcurrentScheduledClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := jobOf(t, s)
	const times, replicas = 10, 4
	var mu sync.Mutex
	won := map[time.Time]int{}
	var wg sync.WaitGroup
	for r := range replicas {
		wg.Go(func() {
			for i := range times {
				at := t0.Add(time.Duration(i) * time.Minute)
				p := scheduled(base, at)
				p.Owner = fmt.Sprint("node-", r)
				e, err := s.ClaimScheduledJob(ctx, p)
				if errors.Is(err, store.ErrConflict) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				won[at]++
				mu.Unlock()
				if e.Status == liftoff.JobInProgress {
					if _, err := s.FinishJobExecution(ctx, store.FinishJobExecutionParams{ID: e.ID, Owner: p.Owner, Status: liftoff.JobCompleted, At: at}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(won) != times {
		t.Fatalf("%d times recorded, want %d", len(won), times)
	}
	for at, n := range won {
		if n != 1 {
			t.Fatalf("%s recorded %d times", at, n)
		}
	}
	list, err := s.ListJobExecutions(ctx, store.ListJobExecutionsParams{ServiceID: base.ServiceID, Limit: 100})
	if err != nil || len(list) != times {
		t.Fatalf("%d executions stored, want %d: %v", len(list), times, err)
	}
}

func testManualJobRuns(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := jobOf(t, s)
	manual := base
	manual.ID, manual.Trigger, manual.Status, manual.CreatedAt = cuid.New(), liftoff.JobTriggerManual, liftoff.JobInitializing, t0
	manual.Command = config.Shell("echo override")
	if err := s.InsertJobExecution(ctx, manual); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetJobExecution(ctx, store.GetJobExecutionParams{ID: manual.ID})
	if err != nil || got.Status != liftoff.JobInitializing || !got.ScheduledAt.IsZero() || got.Command.Line != "echo override" || got.ExitCode != nil {
		t.Fatalf("inserted %+v %v", got, err)
	}
	// Only a node with the release's build claims it.
	p := store.ClaimJobExecutionParams{Owner: "node-a", At: t0, LeaseUntil: t0.Add(time.Minute),
		Releases: []store.JobRelease{{ServiceID: "other", ServiceDeploymentID: "sd-other"}, {ServiceID: base.ServiceID, PRNumber: 7, ServiceDeploymentID: "sd-pr"}}}
	if _, err := s.ClaimJobExecution(ctx, p); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claimed without the build: %v", err)
	}
	// Not while a scheduled run of the job goes on.
	run, err := s.ClaimScheduledJob(ctx, scheduled(base, t0))
	if err != nil {
		t.Fatal(err)
	}
	// Claimed in the instance's release of this node, newer than the one
	// it was asked in.
	p.Releases = append(p.Releases, store.JobRelease{ServiceID: base.ServiceID, ServiceDeploymentID: "sd-2"})
	if _, err := s.ClaimJobExecution(ctx, p); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claimed while the job runs: %v", err)
	}
	if _, err := s.FinishJobExecution(ctx, store.FinishJobExecutionParams{ID: run.ID, Owner: "node-a", Status: liftoff.JobCompleted, At: t0}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimJobExecution(ctx, p)
	if err != nil || claimed.ID != manual.ID || claimed.Status != liftoff.JobInProgress || claimed.LeaseOwner != "node-a" || !claimed.StartedAt.Equal(t0) ||
		claimed.ServiceDeploymentID != "sd-2" {
		t.Fatalf("claimed %+v %v", claimed, err)
	}
	if _, err := s.ClaimJobExecution(ctx, p); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claimed twice: %v", err)
	}
	// A scheduled time while the manual run goes on is skipped.
	if e, err := s.ClaimScheduledJob(ctx, scheduled(base, t0.Add(time.Minute))); err != nil || e.Status != liftoff.JobSkipped {
		t.Fatalf("scheduled during a manual run: %+v %v", e, err)
	}
}

func testJobLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := jobOf(t, s)
	run, err := s.ClaimScheduledJob(ctx, scheduled(base, t0))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RenewJobLease(ctx, store.RenewJobLeaseParams{ID: run.ID, Owner: "node-b", Until: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another node renewed: %v", err)
	}
	if err := s.RenewJobLease(ctx, store.RenewJobLeaseParams{ID: run.ID, Owner: "node-a", Until: t0.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Not expired yet.
	ids, err := s.InterruptJobExecutions(ctx, store.InterruptJobExecutionsParams{LeaseExpiredBefore: t0.Add(time.Minute), Message: "lost", At: t0})
	if err != nil || len(ids) != 0 {
		t.Fatalf("interrupted a live run: %v %v", ids, err)
	}
	// The node stopped renewing: the run ends FAILED and the job runs again.
	ids, err = s.InterruptJobExecutions(ctx, store.InterruptJobExecutionsParams{LeaseExpiredBefore: t0.Add(3 * time.Minute), Message: "lost its node", At: t0.Add(3 * time.Minute)})
	if err != nil || len(ids) != 1 || ids[0] != run.ID {
		t.Fatalf("interrupted %v %v", ids, err)
	}
	got, err := s.GetJobExecution(ctx, store.GetJobExecutionParams{ID: run.ID})
	if err != nil || got.Status != liftoff.JobFailed || got.Error != "lost its node" || got.ExitCode != nil {
		t.Fatalf("interrupted run %+v %v", got, err)
	}
	if err := s.RenewJobLease(ctx, store.RenewJobLeaseParams{ID: run.ID, Owner: "node-a", Until: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("renewed an ended run: %v", err)
	}
	if ok, err := s.FinishJobExecution(ctx, store.FinishJobExecutionParams{ID: run.ID, Owner: "node-a", Status: liftoff.JobCompleted, At: t0}); err != nil || ok {
		t.Fatalf("a lost run finished: %v %v", ok, err)
	}
	next, err := s.ClaimScheduledJob(ctx, scheduled(base, t0.Add(4*time.Minute)))
	if err != nil || next.Status != liftoff.JobInProgress {
		t.Fatalf("after the interruption: %+v %v", next, err)
	}
	// At start, a node ends what it ran itself.
	ids, err = s.InterruptJobExecutions(ctx, store.InterruptJobExecutionsParams{Owner: "node-a", Message: "restart", At: t0})
	if err != nil || len(ids) != 1 || ids[0] != next.ID {
		t.Fatalf("interrupted by owner %v %v", ids, err)
	}
}
