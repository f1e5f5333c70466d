package deployment

import (
	"context"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// seed stores a project with the environments of specs, at now, and
// returns them in the order given.
func seed(t *testing.T, st store.Store, now time.Time, specs ...store.EnvironmentSpec) (liftoff.Project, []liftoff.Environment) {
	t.Helper()
	ctx := context.Background()
	p, err := st.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "/srv/shop", ConfigPath: "liftoff.json", At: now})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: now, NewServiceID: cuid.New, Environments: specs})
	if err != nil {
		t.Fatal(err)
	}
	return p, envs
}
