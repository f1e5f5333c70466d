package deployment

import (
	"context"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// TornDownMessage is the error of the deployments a teardown cancels.
const TornDownMessage = "the preview instance was torn down"

// TearDownPreview marks a preview instance torn down (its history stays)
// and cancels its deployments. The engine then stops its releases, removes
// its routes and builds. Any replica can call it.
func TearDownPreview(ctx context.Context, st store.Store, environmentID int64, prNumber int, now time.Time) (liftoff.PreviewInstance, error) {
	var inst liftoff.PreviewInstance
	err := st.Tx(ctx, func(q store.Queries) error {
		var err error
		if inst, err = q.DeletePreviewInstance(ctx, store.DeletePreviewInstanceParams{EnvironmentID: environmentID, PRNumber: prNumber, At: now}); err != nil {
			return err
		}
		return q.CancelInstanceDeployments(ctx, store.CancelInstanceDeploymentsParams{EnvironmentID: environmentID, PRNumber: prNumber, Message: TornDownMessage, At: now})
	})
	return inst, err
}

// ScheduleTearDown tears a preview instance down at a later time (a PR
// closed without merge), or cancels a scheduled teardown (at zero).
func ScheduleTearDown(ctx context.Context, st store.Store, environmentID int64, prNumber int, at time.Time) error {
	return st.SchedulePreviewTeardown(ctx, store.SchedulePreviewTeardownParams{EnvironmentID: environmentID, PRNumber: prNumber, At: at})
}
