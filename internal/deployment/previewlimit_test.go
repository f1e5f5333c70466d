package deployment

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestPreviewLimitHoldsUnderConcurrency enqueues deployments of many new
// pull requests at once, through two stores on one database (two replicas
// on PostgreSQL, two processes on one SQLite file): exactly the limit of
// them are queued, the others refused with the limit, and a deployment of
// a pull request already counted still goes in.
func TestPreviewLimitHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var replicas [2]store.Store
			switch dialect {
			case "sqlite":
				path := filepath.Join(t.TempDir(), "liftoff.db")
				for i := range replicas {
					st, err := sqlite.Open(ctx, path, sqlite.Options{})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = st.Close() })
					replicas[i] = st
				}
			case "postgres":
				url := storetest.DatabaseURL(t)
				for i := range replicas {
					st, err := postgres.Open(ctx, url, postgres.Options{Timeout: storetest.DatabaseTimeout})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = st.Close() })
					replicas[i] = st
				}
			}
			st := replicas[0]
			p, err := st.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "/srv/shop", ConfigPath: "liftoff.json", At: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			envs, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: time.Now(), NewServiceID: cuid.New,
				Environments: []store.EnvironmentSpec{{GivenID: "preview", Name: "Preview", IsPreview: true,
					Services: []store.ServiceSpec{{GivenID: "web", Name: "Web", Type: "web"}}}}})
			if err != nil {
				t.Fatal(err)
			}
			env := envs[0]
			const limit, calls = 3, 12
			lim := Limits{MaxPreviews: limit}
			enqueue := func(st store.Store, pr int, commit string) error {
				d := liftoff.Deployment{ID: cuid.New(), ProjectID: p.ID, EnvironmentID: env.ID, PRNumber: pr, RepoURL: p.RepoURL,
					RequestedCommit: commit, TriggerType: liftoff.TriggerDeployHook, Status: liftoff.StatusPending, CreatedAt: time.Now()}
				return EnqueueTx(ctx, st, func(q store.Queries) error {
					_, _, err := Enqueue(ctx, q, d, lim)
					return err
				})
			}

			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make([]error, calls)
			for i := range calls {
				wg.Go(func() {
					<-start
					errs[i] = enqueue(replicas[i%2], i+1, "abcdef1")
				})
			}
			close(start)
			wg.Wait()
			var queued []int
			for i, err := range errs {
				var le *PreviewLimitError
				switch {
				case err == nil:
					queued = append(queued, i+1)
				case errors.As(err, &le):
					if !errors.Is(err, ErrPreviewLimit) || le.Limit != limit || le.Live != limit {
						t.Errorf("PR %d: %+v", i+1, le)
					}
				default:
					t.Errorf("PR %d: %v", i+1, err)
				}
			}
			if len(queued) != limit {
				t.Fatalf("queued PRs %v, want exactly %d of %d", queued, limit, calls)
			}
			// A new commit of a counted PR supersedes its deployment.
			if err := enqueue(replicas[1], queued[0], "1234567"); err != nil {
				t.Fatalf("a new commit of PR %d: %v", queued[0], err)
			}
			err = enqueue(replicas[0], 100, "abcdef1")
			want := fmt.Sprintf("Preview environment %d has 3 live preview instances (pull requests whose first deployment is queued count), "+
				"its limit is 3 (--max-previews-per-environment): PR #100 gets none until one is torn down, "+
				"with `liftoff previews delete --env %d --pr NUMBER` or DELETE /v1/environments/%d/previews/{prNumber}", env.ID, env.ID, env.ID)
			if err == nil || err.Error() != want {
				t.Fatalf("one more PR: %v\nwant %s", err, want)
			}
		})
	}
}
