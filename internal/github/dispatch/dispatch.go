// Package dispatch turns GitHub events into Liftoff work, with no hosted
// service in between: pull_request events deploy, re-deploy and tear down
// preview instances; push events deploy the normal environments that follow
// the pushed branch. Only automatic triggers go through here: the
// environment's source.trigger must be "push" and a preview environment's
// filter must match. Deploy hooks always deploy what they name. Each
// delivery acts once (Deliver remembers its id and payload for a day), and
// the engine refuses a push older than what an environment runs.
package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/github"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/prfilter"
	"github.com/liftoffhq/liftoff/internal/store"
)

// UnmergedTeardownDelay is how long the preview of a pull request closed
// without merge stays up (someone may reopen it).
const UnmergedTeardownDelay = 30 * time.Minute

// Dispatcher handles verified GitHub events.
type Dispatcher struct {
	Store store.Store
	Log   *slog.Logger
	// Deployments tears previews down and tells this node's engine (if
	// it runs one) what was queued; its Limits refuse a pull request's
	// deployment that would start one preview instance too many (the
	// event then says why it did nothing for that environment).
	// Its NewID and Now are the ids and the clock of what events queue
	// and schedule.
	Deployments *deployment.Service
}

// Queued is a deployment an event queued.
type Queued struct {
	DeploymentID  string `json:"deploymentId"`
	EnvironmentID int64  `json:"environmentId"`
	PRNumber      *int   `json:"prNumber"`
}

// Preview names a preview instance.
type Preview struct {
	EnvironmentID int64  `json:"environmentId"`
	PRNumber      int    `json:"prNumber"`
	At            string `json:"at,omitempty"` // a scheduled teardown's time
}

// Result is what an event did, as the webhook answers it.
type Result struct {
	Event     string    `json:"event"`
	Action    string    `json:"action,omitempty"`
	Queued    []Queued  `json:"queued"`
	TornDown  []Preview `json:"tornDown"`
	Scheduled []Preview `json:"teardownScheduled"`
	// Ignored says, for each environment the event did not act on, why.
	Ignored []string `json:"ignored"`
	// Duplicate: the delivery was received before; nothing was done.
	Duplicate bool `json:"duplicate,omitempty"`
}

func (d *Dispatcher) now() time.Time { return d.Deployments.Now() }

// DeliveryWindow is how long a delivery is remembered: one replayed
// within it (by GitHub's "Redeliver", or by anyone who captured it) acts on
// nothing. GitHub only redelivers deliveries of the last three days, on
// request; a replay after the window meets the engine's check that a push
// never deploys a commit older than the one running.
const DeliveryWindow = 24 * time.Hour

// Delivery is one received webhook call.
type Delivery struct {
	// ID is its X-GitHub-Delivery header.
	ID string
	// Body is the payload, as signed.
	Body  []byte
	Event github.Event
}

// Deliver acts on a delivery once: a delivery whose id or payload was
// received in the last DeliveryWindow is a replay, and answers a Result
// with Duplicate set without acting. It is recorded before acting, so that
// of two concurrent deliveries of one id only one acts, and forgotten when
// acting fails, so that GitHub's redelivery of it can succeed.
func (d *Dispatcher) Deliver(ctx context.Context, dl Delivery) (Result, error) {
	sum := sha256.Sum256(dl.Body)
	now := d.now()
	fresh, err := d.Store.RecordGitHubDelivery(ctx, store.RecordDeliveryParams{ID: dl.ID, BodySHA256: hex.EncodeToString(sum[:]),
		At: now, ExpiredBefore: now.Add(-DeliveryWindow)})
	if err != nil {
		return Result{}, err
	}
	if !fresh {
		res := Result{Event: dl.Event.Kind, Action: dl.Event.Action, Duplicate: true, Queued: []Queued{}, TornDown: []Preview{},
			Scheduled: []Preview{}, Ignored: []string{"delivery " + dl.ID + " (or its payload) was received before: nothing was done again"}}
		return res, nil
	}
	res, err := d.Handle(ctx, dl.Event)
	if err != nil {
		if ferr := d.Store.ForgetGitHubDelivery(context.WithoutCancel(ctx), store.ForgetGitHubDeliveryParams{ID: dl.ID}); ferr != nil {
			d.Log.Warn("github webhook: forget a delivery that failed", "delivery", dl.ID, "err", ferr)
		}
		return res, err
	}
	return res, nil
}

// Handle acts on an event, without remembering it (see Deliver).
func (d *Dispatcher) Handle(ctx context.Context, ev github.Event) (Result, error) {
	res := Result{Event: ev.Kind, Action: ev.Action, Queued: []Queued{}, TornDown: []Preview{}, Scheduled: []Preview{}, Ignored: []string{}}
	if ev.Kind != github.KindPullRequest && ev.Kind != github.KindPush {
		res.Event = ev.Name
		res.Ignored = append(res.Ignored, fmt.Sprintf("event %q is not one Liftoff acts on (pull_request, push)", ev.Name))
		return res, nil
	}
	projects, err := d.Store.ListProjects(ctx)
	if err != nil {
		return res, err
	}
	matched := 0
	for _, p := range projects {
		if !ev.Repository.Matches(p.RepoURL) && (p.GitHubRepository == "" || !ev.Repository.Matches(p.GitHubRepository)) {
			continue
		}
		matched++
		envs, err := d.Store.ListEnvironments(ctx, store.ListEnvironmentsParams{ProjectID: p.ID})
		if err != nil {
			return res, err
		}
		for _, env := range envs {
			cfg := env.Config
			// A push gives every environment a line: what it queued
			// for it, or why not.
			switch {
			case ev.Kind == github.KindPullRequest && env.IsPreview:
				err = d.pullRequest(ctx, &res, ev, p, env, cfg)
			case ev.Kind == github.KindPush && !env.IsPreview:
				err = d.push(ctx, &res, ev, p, env, cfg)
			case ev.Kind == github.KindPush:
				res.Ignored = append(res.Ignored, fmt.Sprintf("%s: a preview environment deploys pull requests, not pushes", env.GivenID))
			}
			if err != nil {
				return res, err
			}
		}
	}
	if matched == 0 {
		res.Ignored = append(res.Ignored, fmt.Sprintf("no project uses the repository %s", ev.Repository.FullName))
	}
	if len(res.Queued) > 0 {
		d.Deployments.Queued()
	}
	return res, nil
}

func (d *Dispatcher) pullRequest(ctx context.Context, res *Result, ev github.Event, p liftoff.Project, env liftoff.Environment, cfg config.Environment) error {
	pr := ev.PR
	ignore := func(why string) {
		res.Ignored = append(res.Ignored, fmt.Sprintf("%s PR #%d: %s", env.GivenID, pr.Number, why))
	}
	switch ev.Action {
	case github.ActionClosed:
		// Closing ends a preview whatever the trigger: it was for this PR.
		if pr.Merged {
			err := d.tearDown(ctx, env.ID, pr.Number)
			if errors.Is(err, store.ErrNotFound) {
				ignore("no live preview to tear down")
				return nil
			}
			if err == nil {
				res.TornDown = append(res.TornDown, Preview{EnvironmentID: env.ID, PRNumber: pr.Number})
			}
			return err
		}
		inst, err := d.Store.GetPreviewInstance(ctx, store.GetPreviewInstanceParams{EnvironmentID: env.ID, PRNumber: pr.Number})
		if errors.Is(err, store.ErrNotFound) || (err == nil && inst.Deleted()) {
			ignore("no live preview to tear down")
			return nil
		}
		if err != nil {
			return err
		}
		at := d.now().Add(UnmergedTeardownDelay)
		if err := deployment.ScheduleTearDown(ctx, d.Store, env.ID, pr.Number, at); err != nil {
			return err
		}
		res.Scheduled = append(res.Scheduled, Preview{EnvironmentID: env.ID, PRNumber: pr.Number, At: client.FormatTime(at)})
		return nil
	case github.ActionOpened, github.ActionReopened, github.ActionSynchronize, github.ActionLabeled:
	default:
		ignore(fmt.Sprintf("action %q does not deploy", ev.Action))
		return nil
	}
	if pr.State != "open" {
		// A closed or merged PR's late events (a label added after the
		// merge, a push to its branch) must not bring a preview back up.
		ignore(fmt.Sprintf("the pull request is %s: only an open pull request's events deploy", closedWord(pr)))
		return nil
	}
	if ev.Action == github.ActionReopened {
		// A reopened PR keeps its preview: cancel a teardown still scheduled.
		if err := deployment.ScheduleTearDown(ctx, d.Store, env.ID, pr.Number, time.Time{}); err != nil {
			return err
		}
	}
	if cfg.Source.Trigger != config.TriggerPush {
		ignore(`its source.trigger is "` + cfg.Source.Trigger + `": only deploy hooks and people deploy it`)
		return nil
	}
	if pr.Fork {
		// Its code would build and run on this host on the say of anyone
		// who can open a pull request.
		ignore("pull requests from forks are not deployed automatically; deploy one with the preview deploy hook once its code is reviewed")
		return nil
	}
	filter := prfilter.New(cfg.Source.Filter)
	if ok, why := filter.MatchPR(prfilter.PullRequest{Base: pr.BaseRef, Head: pr.HeadRef, Labels: pr.Labels}); !ok {
		ignore(why)
		return nil
	}
	if ev.Action == github.ActionLabeled && !filter.LabelStartsMatching(pr.Labels, pr.Label) {
		ignore(fmt.Sprintf("label %q does not make its filter match for the first time", pr.Label))
		return nil
	}
	detail := liftoff.TriggerDetail{Event: ev.Kind, Action: ev.Action, Sender: ev.Sender, BaseBranch: pr.BaseRef, HeadBranch: pr.HeadRef}
	if filter.NeedsFiles() {
		// The payload does not list the changed files: the engine decides.
		detail.FilterWatchPaths = filter.WatchPaths()
	}
	dep := liftoff.Deployment{ProjectID: p.ID, EnvironmentID: env.ID, PRNumber: pr.Number, RepoURL: p.RepoURL,
		RequestedCommit: pr.HeadSHA, TriggerType: liftoff.TriggerGitHub, TriggerDetail: detail}
	err := d.enqueue(ctx, res, dep)
	var limit *deployment.PreviewLimitError
	if errors.As(err, &limit) {
		ignore(limit.Error())
		return nil
	}
	return err
}

// closedWord says how a pull request that is not open ended.
func closedWord(pr *github.PullRequest) string {
	if pr.Merged {
		return "merged"
	}
	if pr.State == "" {
		return "not open"
	}
	return pr.State
}

func (d *Dispatcher) push(ctx context.Context, res *Result, ev github.Event, p liftoff.Project, env liftoff.Environment, cfg config.Environment) error {
	push := ev.Push
	ignore := func(why string) { res.Ignored = append(res.Ignored, fmt.Sprintf("%s: %s", env.GivenID, why)) }
	switch {
	case push.Branch == "" && push.Tag != "":
		ignore(fmt.Sprintf("the push is of tag %s; it follows branch %s", push.Tag, env.Branch))
		return nil
	case push.Branch == "":
		ignore(fmt.Sprintf("the push is of %s, not a branch; it follows branch %s", push.Ref, env.Branch))
		return nil
	case push.Branch != env.Branch:
		ignore(fmt.Sprintf("it follows branch %s, not %s", env.Branch, push.Branch))
		return nil
	}
	if push.Deleted {
		ignore("the branch was deleted")
		return nil
	}
	if cfg.Source.Trigger != config.TriggerPush {
		ignore(`its source.trigger is "` + cfg.Source.Trigger + `": only deploy hooks and people deploy it`)
		return nil
	}
	// The engine compares the commit with what the environment runs: a
	// push older than it deploys only if it was forced (see resolvePush).
	detail := liftoff.TriggerDetail{Event: ev.Kind, Sender: ev.Sender, Forced: push.Forced}
	dep := liftoff.Deployment{ProjectID: p.ID, EnvironmentID: env.ID, RepoURL: p.RepoURL, RequestedCommit: push.After,
		GitBranch: env.Branch, TriggerType: liftoff.TriggerGitHub, TriggerDetail: detail}
	return d.enqueue(ctx, res, dep)
}

// enqueue stores a PENDING deployment (joining or superseding, as a hook
// call does).
func (d *Dispatcher) enqueue(ctx context.Context, res *Result, dep liftoff.Deployment) error {
	dep.ID, dep.Status, dep.CreatedAt = d.Deployments.NewID(), liftoff.StatusPending, d.now()
	var id string
	err := deployment.EnqueueTx(ctx, d.Store, func(q store.Queries) error {
		var err error
		id, _, err = deployment.Enqueue(ctx, q, dep, d.Deployments.Limits)
		return err
	})
	if err != nil {
		return err
	}
	q := Queued{DeploymentID: id, EnvironmentID: dep.EnvironmentID}
	if dep.PRNumber > 0 {
		pr := dep.PRNumber
		q.PRNumber = &pr
	}
	res.Queued = append(res.Queued, q)
	return nil
}

func (d *Dispatcher) tearDown(ctx context.Context, environmentID int64, prNumber int) error {
	_, err := d.Deployments.TearDown(ctx, environmentID, prNumber)
	return err
}
