package deployment

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestReadSide: what the API and the CLI read goes through the Service,
// with the rules that belong to it: a preview listing needs a live preview
// environment, and an ended deployment cannot be cancelled.
func TestReadSide(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			web := []store.ServiceSpec{{GivenID: "web", Name: "Web", Type: "web"}}
			p, envs := seed(t, st, now,
				store.EnvironmentSpec{GivenID: "production", Name: "Production", Branch: "main", Services: web},
				store.EnvironmentSpec{GivenID: "preview", Name: "Preview", IsPreview: true, Services: web},
				store.EnvironmentSpec{GivenID: "old", Name: "Old previews", IsPreview: true, Services: web})
			byID := map[string]int64{}
			for _, e := range envs {
				byID[e.GivenID] = e.ID
			}
			// "old" leaves the config.
			if _, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: now, NewServiceID: cuid.New,
				Environments: []store.EnvironmentSpec{
					{GivenID: "production", Name: "Production", Branch: "main", Services: web},
					{GivenID: "preview", Name: "Preview", IsPreview: true, Services: web}}}); err != nil {
				t.Fatal(err)
			}
			s := &Service{Store: st, NewID: cuid.New, Now: func() time.Time { return now }, Runner: NoRunner{}}

			t.Run("preview environments", func(t *testing.T) {
				for _, tc := range []struct {
					name string
					id   int64
					kind fail.Kind // of the error; -1 for none
					nf   bool      // store.ErrNotFound
				}{
					{"a live preview environment", byID["preview"], -1, false},
					{"a normal environment", byID["production"], fail.Invalid, false},
					{"one that left the config", byID["old"], fail.Internal, true},
					{"an unknown id", 987654, fail.Internal, true},
				} {
					env, err := s.PreviewEnvironment(ctx, tc.id)
					switch {
					case tc.kind == -1 && (err != nil || env.ID != tc.id):
						t.Errorf("%s: PreviewEnvironment = %d, %v", tc.name, env.ID, err)
					case tc.kind != -1 && (err == nil || fail.KindOf(err) != tc.kind || errors.Is(err, store.ErrNotFound) != tc.nf):
						t.Errorf("%s: PreviewEnvironment error %v (kind %s), want kind %s, not found %v", tc.name, err, fail.KindOf(err), tc.kind, tc.nf)
					}
				}
				for _, pr := range []int{4, 5} {
					if _, err := st.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: byID["preview"], PRNumber: pr, At: now}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := s.TearDown(ctx, byID["preview"], 4); err != nil {
					t.Fatal(err)
				}
				list, err := s.Previews(ctx, byID["preview"])
				if err != nil || len(list) != 1 || list[0].PRNumber != 5 {
					t.Errorf("Previews = %+v, %v; want the live #5 alone", list, err)
				}
			})

			t.Run("deployments", func(t *testing.T) {
				insert := func(created time.Time) liftoff.Deployment {
					t.Helper()
					d := liftoff.Deployment{ID: cuid.New(), ProjectID: p.ID, EnvironmentID: byID["production"], RepoURL: p.RepoURL,
						GitBranch: "main", TriggerType: liftoff.TriggerDeployHook, Status: liftoff.StatusPending, CreatedAt: created}
					if err := st.InsertDeployment(ctx, d); err != nil {
						t.Fatal(err)
					}
					return d
				}
				first := insert(now)
				if _, err := s.Cancel(ctx, first.ID); err != nil {
					t.Fatal(err)
				}
				second := insert(now.Add(time.Minute))
				if d, err := s.Get(ctx, second.ID); err != nil || d.ID != second.ID || d.Status != liftoff.StatusPending {
					t.Errorf("Get = %s %s, %v", d.ID, d.Status, err)
				}
				if _, err := s.Get(ctx, "no-such-deployment"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Get of an unknown id: %v, want ErrNotFound", err)
				}
				list, err := s.List(ctx, store.ListDeploymentsParams{EnvironmentIDs: []int64{byID["production"]}, Limit: 10})
				if err != nil || len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID {
					t.Errorf("List = %d deployments, %v; want the two, newest first", len(list), err)
				}
				_, err = s.Cancel(ctx, first.ID)
				if fail.KindOf(err) != fail.Conflict || err.Error() != "Deployment "+first.ID+" already ended CANCELLED" {
					t.Errorf("Cancel of an ended deployment: %v (kind %s), want a Conflict naming its status", err, fail.KindOf(err))
				}
			})
		})
	}
}
