package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// resolvePush decides what a deployment started by a GitHub push deploys,
// once r.commit is the push's `after`, found on the branch. GitHub does not
// deliver pushes in order, and a signed delivery can be replayed (the
// signature does not cover its delivery id or its age), so a push must
// never take an environment back to a commit older than the one it runs:
//
//   - when this deployment superseded PENDING ones, it deploys the newest
//     of what they and it asked for, where one descends from the other: a
//     late delivery of an older push does not replace a newer one;
//   - then, when what the environment last deployed descends from the
//     commit (and is not it), the deployment ends CANCELLED, unless the
//     push was a force push whose `after` is still the branch's tip (a
//     deliberate rewind; a replayed old force push is no longer the tip).
func (r *deployment) resolvePush(ctx context.Context, detail liftoff.TriggerDetail) error {
	tip, err := r.mirror.ResolveBranch(ctx, r.d.GitBranch)
	if err != nil {
		return r.revisionFailure(ctx, err, fmt.Sprintf("branch %s was not found in %s", r.d.GitBranch, gitsource.RedactURL(r.project.RepoURL)))
	}
	for _, asked := range detail.Superseded {
		candidate := tip
		if asked != "" {
			if candidate, err = r.mirror.ResolveCommit(ctx, asked); err != nil {
				continue // gone: nothing newer to deploy from it
			}
			if on, err := r.mirror.IsAncestor(ctx, candidate, tip); err != nil || !on {
				continue
			}
		}
		if candidate == r.commit {
			continue
		}
		newer, err := r.mirror.IsAncestor(ctx, r.commit, candidate)
		if err != nil {
			return r.gitFailure(ctx, "compare commits", err)
		}
		if newer {
			r.log.Printf("==> %s, superseded by this push of %s, descends from it: deploying %s", short(candidate), short(r.commit), short(candidate))
			r.commit = candidate
		}
	}

	deployed, err := r.e.Store.LastDeployedCommit(ctx, store.LastDeployedCommitParams{EnvironmentID: r.env.ID, PRNumber: 0})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if deployed == r.commit {
		return nil
	}
	older, err := r.mirror.IsAncestor(ctx, r.commit, deployed)
	if errors.Is(err, gitsource.ErrRevisionNotFound) {
		return nil // the deployed commit left the repository: no order to keep
	}
	if err != nil {
		return r.gitFailure(ctx, "compare commits", err)
	}
	if !older {
		return nil
	}
	if detail.Forced && r.commit == tip {
		r.log.Printf("==> Force push to %s: deploying %s, older than %s, deployed before", r.d.GitBranch, short(r.commit), short(deployed))
		return nil
	}
	return fail(liftoff.StatusCancelled, "push of %s is older than %s, which %s runs: not deployed "+
		"(a late or replayed delivery; only a force push back to it deploys an older commit)",
		short(r.commit), short(deployed), r.env.GivenID)
}
