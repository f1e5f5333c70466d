package deployment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// recordingRunner records what the Service told it.
type recordingRunner struct{ calls []string }

func (r *recordingRunner) CancelRequested(id string) { r.calls = append(r.calls, "cancel "+id) }
func (r *recordingRunner) InstanceTornDown(env int64, pr int) {
	r.calls = append(r.calls, fmt.Sprintf("torn down %d/#%d", env, pr))
}
func (r *recordingRunner) ProjectDeleted(envs []int64) {
	r.calls = append(r.calls, fmt.Sprintf("deleted %v", envs))
}
func (r *recordingRunner) Queued() { r.calls = append(r.calls, "queued") }

// TestServiceTellsTheRunner: each use case changes the store, then tells
// the Runner what this node must act on, and only when it succeeded.
func TestServiceTellsTheRunner(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			p, envs := seed(t, st, now, store.EnvironmentSpec{GivenID: "preview", Name: "Preview", IsPreview: true,
				Services: []store.ServiceSpec{{GivenID: "web", Name: "Web", Type: "web"}}})
			env := envs[0].ID
			r := &recordingRunner{}
			s := &Service{Store: st, NewID: cuid.New, Now: func() time.Time { return now }, Runner: r}
			insert := func(pr int, status liftoff.Status) liftoff.Deployment {
				t.Helper()
				d := liftoff.Deployment{ID: cuid.New(), ProjectID: p.ID, EnvironmentID: env, PRNumber: pr, RepoURL: p.RepoURL,
					RequestedCommit: "0123456789abcdef0123456789abcdef01234567", TriggerType: liftoff.TriggerDeployHook, Status: status,
					CreatedAt: now}
				if err := st.InsertDeployment(ctx, d); err != nil {
					t.Fatal(err)
				}
				return d
			}
			want := func(calls ...string) {
				t.Helper()
				if !slices.Equal(r.calls, calls) {
					t.Errorf("the Runner was told %q, want %q", r.calls, calls)
				}
				r.calls = nil
			}

			// A PENDING deployment ends at once: nothing runs to stop.
			pending := insert(1, liftoff.StatusPending)
			if d, err := s.Cancel(ctx, pending.ID); err != nil || d.Status != liftoff.StatusCancelled {
				t.Fatalf("Cancel of a PENDING deployment = %s, %v", d.Status, err)
			}
			want()
			// A running one is asked to stop: the Runner stops it.
			running := insert(2, liftoff.StatusPending)
			if _, err := st.ClaimDeployment(ctx, store.ClaimParams{Owner: "node-a", At: now, LeaseUntil: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Cancel(ctx, running.ID); err != nil {
				t.Fatal(err)
			}
			want("cancel " + running.ID)

			// A deployment that read its commit and config, and ended.
			done := insert(3, liftoff.StatusPending)
			if d, err := st.ClaimDeployment(ctx, store.ClaimParams{Owner: "node-a", At: now, LeaseUntil: now.Add(time.Hour)}); err != nil || d.ID != done.ID {
				t.Fatalf("ClaimDeployment = %s, %v; want %s", d.ID, err, done.ID)
			}
			if err := st.UpdateRunningDeployment(ctx, store.UpdateRunningParams{ID: done.ID, GitCommit: done.RequestedCommit, Config: "{}"}); err != nil {
				t.Fatal(err)
			}
			if ok, err := st.FinishDeployment(ctx, store.FinishDeploymentParams{ID: done.ID, Status: liftoff.StatusSuccess, At: now}); err != nil || !ok {
				t.Fatalf("FinishDeployment = %v, %v", ok, err)
			}
			if d, err := s.Redeploy(ctx, done.ID); err != nil || d.Status != liftoff.StatusPending {
				t.Fatalf("Redeploy = %s, %v", d.Status, err)
			}
			want("queued")
			if _, err := s.Redeploy(ctx, "no-such-deployment"); err == nil {
				t.Error("Redeploy of an unknown deployment succeeded")
			}
			want()

			if _, err := st.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: env, PRNumber: 3, HeadBranch: "feature",
				At: now}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TearDown(ctx, env, 3); err != nil {
				t.Fatal(err)
			}
			want(fmt.Sprintf("torn down %d/#3", env))
			if _, err := s.TearDown(ctx, env, 99); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("TearDown of a PR without an instance: %v, want ErrNotFound", err)
			}
			want()

			if _, err := s.DeleteProject(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
			want(fmt.Sprintf("deleted [%d]", env))
		})
	}
}
