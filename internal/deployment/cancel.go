package deployment

import (
	"context"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// requestCancel ends a PENDING deployment at once and asks a running one to
// stop; the node running it stops it at its next heartbeat. Any replica can
// ask, engine or not.
func requestCancel(ctx context.Context, st store.Store, id string, now time.Time) (liftoff.Deployment, error) {
	if _, err := st.RequestCancel(ctx, store.RequestCancelParams{ID: id, At: now}); err != nil {
		return liftoff.Deployment{}, err
	}
	return st.GetDeployment(ctx, store.GetDeploymentParams{ID: id})
}
