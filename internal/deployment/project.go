package deployment

import (
	"context"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// ProjectDeletedMessage is the error of the deployments a project deletion
// cancels.
const ProjectDeletedMessage = "the project was deleted"

// DeleteProject marks a project deleted with everything it has (its
// environments, hooks and preview instances), cancels its PENDING
// deployments and asks its running ones to stop. The engines then stop its
// releases and forget its routes. Any replica can call it.
func DeleteProject(ctx context.Context, st store.Store, id string, now time.Time) (liftoff.Project, error) {
	return st.DeleteProject(ctx, store.DeleteProjectParams{ID: id, Message: ProjectDeletedMessage, At: now})
}
