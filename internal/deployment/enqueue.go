package deployment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Outcomes of Enqueue.
const (
	OutcomeQueued = "queued" // a new deployment
	OutcomeJoined = "joined" // an equal PENDING deployment answers
	// OutcomeSuperseded: a new deployment, which cancelled the PENDING
	// deployment of another commit.
	OutcomeSuperseded = "superseded"
)

// Limits bound what one environment may hold. Zero fields do not limit.
type Limits struct {
	// MaxPreviews bounds the live preview instances of a preview
	// environment, counting pull requests whose first deployment is queued
	// or running.
	MaxPreviews int
}

// ErrPreviewLimit refuses a deployment that would start one more preview
// instance than Limits.MaxPreviews. The error is a Conflict *fail.Error
// whose message says how to make room; errors.As gives a
// *PreviewLimitError.
var ErrPreviewLimit = errors.New("preview limit reached")

// PreviewLimitError says which limit refused a deployment and how to make
// room.
type PreviewLimitError struct {
	EnvironmentID int64
	PRNumber      int
	Limit, Live   int
}

func (e *PreviewLimitError) Error() string {
	instances := "instances"
	if e.Live == 1 {
		instances = "instance"
	}
	return fmt.Sprintf("Preview environment %d has %d live preview %s (pull requests whose first deployment is queued count), "+
		"its limit is %d (--max-previews-per-environment): PR #%d gets none until one is torn down, "+
		"with `liftoff previews delete --env %d --pr NUMBER` or DELETE /v1/environments/%d/previews/{prNumber}",
		e.EnvironmentID, e.Live, instances, e.Limit, e.PRNumber, e.EnvironmentID, e.EnvironmentID)
}

func (e *PreviewLimitError) Unwrap() error { return ErrPreviewLimit }

// Enqueue stores a new PENDING deployment d, or joins the PENDING deployment
// of the same environment instance when it would deploy the same thing: then
// force and clearCache upgrade it. A PENDING deployment of another commit is cancelled
// ("superseded by <d.ID>") and d queued. A redeploy never joins. A
// deployment of a pull request that has no preview instance yet is refused
// with a Conflict wrapping a *PreviewLimitError when the environment is at
// lim.MaxPreviews. Run it inside a store transaction; it returns the id
// that answers and the outcome (OutcomeSuperseded when it cancelled a
// PENDING deployment to queue d). Concurrent Enqueues of one instance take
// turns (store.LockInstance); ErrConflict means a deployment was queued
// meanwhile without one (InsertPendingDeployment, or a worker freed the
// instance): run the transaction again.
func Enqueue(ctx context.Context, q store.Queries, d liftoff.Deployment, lim Limits) (string, string, error) {
	// Enqueues of one instance take turns: each then reads what the one
	// before it committed, and joins or supersedes it.
	if err := q.LockInstance(ctx, store.LockInstanceParams{EnvironmentID: d.EnvironmentID, PRNumber: d.PRNumber}); err != nil {
		return "", "", err
	}
	if d.PRNumber > 0 && lim.MaxPreviews > 0 {
		// In the transaction, so that concurrent calls for new pull
		// requests cannot each see room for one more.
		live, err := q.CountLivePreviews(ctx, store.CountLivePreviewsParams{EnvironmentID: d.EnvironmentID, PRNumber: d.PRNumber})
		if err != nil {
			return "", "", err
		}
		if !live.Includes && live.Count >= lim.MaxPreviews {
			limit := &PreviewLimitError{EnvironmentID: d.EnvironmentID, PRNumber: d.PRNumber, Limit: lim.MaxPreviews, Live: live.Count}
			return "", "", fail.Wrap(fail.Conflict, limit, limit.Error())
		}
	}
	pending, err := q.GetPendingDeployment(ctx, store.GetPendingDeploymentParams{EnvironmentID: d.EnvironmentID, PRNumber: d.PRNumber})
	superseded := false
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return "", "", err
	case sameTarget(pending, d):
		joined, err := q.JoinPendingDeployment(ctx, store.JoinPendingDeploymentParams{ID: pending.ID, Force: d.Force, ClearCache: d.ClearCache})
		if err != nil {
			return "", "", err
		}
		if joined {
			return pending.ID, OutcomeJoined, nil
		}
	default:
		d = carrySuperseded(pending, d)
		// False when a worker took it meanwhile: nothing was superseded.
		if superseded, err = q.FinishPendingDeployment(ctx, store.FinishDeploymentParams{ID: pending.ID, Status: liftoff.StatusCancelled,
			At: d.CreatedAt, Errors: []liftoff.ErrorEntry{{Status: liftoff.StatusCancelled, Message: "superseded by " + d.ID}}}); err != nil {
			return "", "", err
		}
	}
	if err := q.InsertDeployment(ctx, d); err != nil {
		return "", "", err
	}
	if superseded {
		return d.ID, OutcomeSuperseded, nil
	}
	return d.ID, OutcomeQueued, nil
}

// EnqueueTx runs fn, which enqueues through Enqueue, in a store
// transaction, and runs it again (up to 3 more times) when a concurrent
// caller queued a deployment of the same instance first: the next run then
// joins or supersedes it.
func EnqueueTx(ctx context.Context, st store.Store, fn func(q store.Queries) error) error {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if err = st.Tx(ctx, fn); !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return err
}

// sameTarget reports whether a PENDING deployment would deploy what d asks
// for: neither is a redeploy, the same branch, and both the branch head or
// the same commit (a short SHA equals the full one it abbreviates).
func sameTarget(pending, d liftoff.Deployment) bool {
	if pending.RedeployOf != "" || d.RedeployOf != "" || pending.GitBranch != d.GitBranch {
		return false
	}
	a, b := pending.RequestedCommit, d.RequestedCommit
	if a == "" || b == "" {
		return a == b
	}
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

// maxSuperseded bounds the commits a push deployment carries.
const maxSuperseded = 16

// carrySuperseded records, in a GitHub push deployment d about to
// supersede pending, what pending asked for: GitHub does not deliver pushes
// in order, so d may be an older push than the one it replaces, and the
// engine then deploys the newer (see resolvePush in internal/engine).
func carrySuperseded(pending, d liftoff.Deployment) liftoff.Deployment {
	detail := d.TriggerDetail
	if d.TriggerType != liftoff.TriggerGitHub || detail.Event != "push" || pending.RedeployOf != "" {
		return d
	}
	commits := append(slices.Clone(pending.TriggerDetail.Superseded), pending.RequestedCommit)
	if len(commits) > maxSuperseded {
		commits = commits[len(commits)-maxSuperseded:]
	}
	detail.Superseded = commits
	d.TriggerDetail = detail
	return d
}
