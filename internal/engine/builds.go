package engine

import (
	"context"
	"os"

	"github.com/liftoffhq/liftoff/internal/store"
)

// pruneBuilds keeps the newest keep successful builds of a service instance
// (versionHistoryCount) and deletes older ones. A build directory that a
// kept deployment still uses (a redeploy shares its source's) stays.
func (e *Engine) pruneBuilds(ctx context.Context, serviceID string, prNumber, keep int) {
	if keep <= 0 {
		keep = 1
	}
	kept, err := e.Store.KeptBuilds(ctx, store.KeptBuildsParams{ServiceID: serviceID, PRNumber: prNumber})
	if err != nil {
		e.Log.Error("list builds to prune", "service_id", serviceID, "err", err)
		return
	}
	if len(kept) <= keep {
		return
	}
	inUse := map[string]bool{}
	for _, sd := range kept[:keep] {
		inUse[sd.BuildDir] = true
	}
	for _, sd := range kept[keep:] {
		if !inUse[sd.BuildDir] {
			if err := os.RemoveAll(sd.BuildDir); err != nil {
				e.Log.Warn("remove old build", "dir", sd.BuildDir, "err", err)
				continue
			}
		}
		if err := e.Store.ClearBuildDir(ctx, store.ClearBuildDirParams{ServiceDeploymentID: sd.ID}); err != nil {
			e.Log.Error("forget old build", "service_deployment_id", sd.ID, "err", err)
		}
	}
}
