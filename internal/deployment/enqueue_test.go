package deployment

import (
	"context"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// claimedMeanwhile is a transaction in which a worker claims the PENDING
// deployment right after Enqueue read it, as another replica's worker may.
type claimedMeanwhile struct {
	store.Queries
	claim func() error
}

func (q claimedMeanwhile) GetPendingDeployment(ctx context.Context, p store.GetPendingDeploymentParams) (liftoff.Deployment, error) {
	d, err := q.Queries.GetPendingDeployment(ctx, p)
	if err == nil {
		err = q.claim()
	}
	return d, err
}

// TestEnqueueSupersedes: a deployment of another commit supersedes the
// PENDING one (OutcomeSuperseded); when a worker took the PENDING one
// between Enqueue's read and its cancel, nothing was superseded and the new
// deployment is just queued.
func TestEnqueueSupersedes(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			p, err := st.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "/srv/shop", ConfigPath: "liftoff.json", At: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			envs, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: time.Now(), NewServiceID: cuid.New,
				Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main",
					Services: []store.ServiceSpec{{GivenID: "web", Name: "Web", Type: "web"}}}}})
			if err != nil {
				t.Fatal(err)
			}
			deployment := func(commit string) liftoff.Deployment {
				return liftoff.Deployment{ID: cuid.New(), ProjectID: p.ID, EnvironmentID: envs[0].ID, RepoURL: p.RepoURL, GitBranch: "main",
					RequestedCommit: commit, TriggerType: liftoff.TriggerDeployHook, Status: liftoff.StatusPending, CreatedAt: time.Now()}
			}
			enqueue := func(d liftoff.Deployment, racy bool) string {
				t.Helper()
				var outcome string
				if err := st.Tx(ctx, func(q store.Queries) error {
					if racy {
						q = claimedMeanwhile{Queries: q, claim: func() error {
							_, err := q.ClaimDeployment(ctx, store.ClaimParams{Owner: "n1", At: time.Now(), LeaseUntil: time.Now().Add(time.Minute)})
							return err
						}}
					}
					var err error
					_, outcome, err = Enqueue(ctx, q, d, Limits{})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return outcome
			}
			if got := enqueue(deployment("aaaaaaa"), false); got != OutcomeQueued {
				t.Fatalf("the first = %s, want queued", got)
			}
			if got := enqueue(deployment("bbbbbbb"), false); got != OutcomeSuperseded {
				t.Fatalf("another commit = %s, want superseded", got)
			}
			if got := enqueue(deployment("ccccccc"), true); got != OutcomeQueued {
				t.Fatalf("another commit, its PENDING one taken by a worker meanwhile = %s, want queued", got)
			}
		})
	}
}
