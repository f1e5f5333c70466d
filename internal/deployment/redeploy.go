package deployment

import (
	"context"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// queueRedeploy queues a redeploy of deployment id; any node's engine runs
// it. It supersedes a PENDING deployment of the same environment instance.
// Redeploying a torn down preview starts it again, within lim.
func queueRedeploy(ctx context.Context, st store.Store, newID func() string, id string, now time.Time, lim Limits) (liftoff.Deployment, error) {
	orig, err := st.GetDeployment(ctx, store.GetDeploymentParams{ID: id})
	if err != nil {
		return liftoff.Deployment{}, err
	}
	switch {
	case !orig.Status.Final():
		return liftoff.Deployment{}, fail.Conflictf("Deployment %s is %s; only a finished deployment can be redeployed", id, orig.Status)
	case orig.GitCommit == "" || orig.Config == "":
		return liftoff.Deployment{}, fail.Conflictf("Deployment %s ended %s before it read a commit and its config: there is nothing to redeploy", id, orig.Status)
	}
	d := liftoff.Deployment{ID: newID(), ProjectID: orig.ProjectID, EnvironmentID: orig.EnvironmentID, PRNumber: orig.PRNumber,
		RepoURL: orig.RepoURL, RequestedCommit: orig.GitCommit, GitBranch: orig.GitBranch, TriggerType: liftoff.TriggerRedeploy,
		RedeployOf: orig.ID, Status: liftoff.StatusPending, CreatedAt: now}
	var queued string
	err = EnqueueTx(ctx, st, func(q store.Queries) error {
		var err error
		queued, _, err = Enqueue(ctx, q, d, lim)
		return err
	})
	if err != nil {
		return liftoff.Deployment{}, err
	}
	return st.GetDeployment(ctx, store.GetDeploymentParams{ID: queued})
}
