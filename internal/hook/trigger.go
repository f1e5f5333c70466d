package hook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/token"
)

// Request is one parsed hook call.
type Request struct {
	EnvironmentID int64
	Secret        string
	// Preview is true for the .../{prNumber}/{commitSHA} form.
	Preview   bool
	PRNumber  int
	CommitSHA string
	Force     bool
	// ClearCache builds every service from an empty build cache; it
	// comes with Force.
	ClearCache bool
	// Commit and Branch are the optional query parameters of the normal form.
	Commit string
	Branch string
	// IdempotencyKey is the Idempotency-Key header, if any.
	IdempotencyKey string
	// Address is the caller's address.
	Address string
}

// Outcomes of a successful call.
const (
	OutcomeQueued     = deployment.OutcomeQueued // a new deployment
	OutcomeJoined     = deployment.OutcomeJoined // an equal PENDING deployment answers
	OutcomeIdempotent = "idempotent"             // the Idempotency-Key was seen before
)

// ErrNotFound is the one answer for a wrong environment, hook or secret.
var ErrNotFound = fail.New(fail.NotFound, "Deploy hook not found")

// Result is a successful call.
type Result struct {
	DeploymentID string
	Outcome      string
	HookID       string
	// Superseded: the new deployment (OutcomeQueued) cancelled a PENDING
	// one of another commit.
	Superseded bool
}

// outcome splits Enqueue's outcome into the one callers are answered
// (queued, joined, idempotent) and whether it superseded a deployment.
func outcome(o string) (string, bool) {
	if o == deployment.OutcomeSuperseded {
		return OutcomeQueued, true
	}
	return o, false
}

// Trigger authenticates a call and stores the deployment it asks for, all
// before returning: a deployment id it returns survives any crash. The Quota
// is the one to show in RateLimit-* headers, whatever the outcome.
//
// The failure limit of the caller's address refuses only calls without a
// valid secret: a call that holds one is never refused by it (its hook's
// own limit applies), so wrong calls from one address (or from everyone
// behind the same NAT or proxy) cannot lock the valid hooks out. Only
// calls whose secret matched no hook count as failures.
func (s *Service) Trigger(ctx context.Context, req Request) (Result, Quota, error) {
	now := s.now()
	// An address over its limit that sends something not even shaped like
	// a secret is refused without reading the store.
	if q := s.failures.Peek(req.Address, now); q.Remaining == 0 && !token.Looks(req.Secret, token.HookPrefix) {
		return Result{}, q, errTooManyFailures(q)
	}
	res, q, err := s.trigger(ctx, req)
	if err != nil && fail.As(err) == nil {
		// A hook call answers any other failure as Flightcontrol's do: an
		// internal error.
		err = fail.Wrap(fail.Internal, err, "")
	}
	call := liftoff.HookCall{HookID: res.HookID, At: now, Address: req.Address, DeploymentID: res.DeploymentID}
	switch {
	case err == nil:
		call.Status, call.Outcome = 200, res.Outcome
		if res.Outcome == OutcomeQueued {
			s.deploys.Queued()
		}
	case errors.Is(err, ErrNotFound):
		call.Status, call.Outcome = fail.HTTPStatus(err), err.Error()
		if fq := s.failures.Peek(req.Address, now); fq.Remaining == 0 {
			return res, fq, errTooManyFailures(fq)
		}
		q, _ = s.failures.Take(req.Address, now)
	case fail.KindOf(err) == fail.Internal:
		// The cause is for the server's log, where the API writes it; the
		// call record, which API keys read, only says what was answered.
		call.Status, call.Outcome = fail.HTTPStatus(err), "internal error (see the server's log)"
	default:
		call.Status, call.Outcome = fail.HTTPStatus(err), err.Error()
	}
	if call.HookID != "" {
		s.recorder.Record(context.WithoutCancel(ctx), call)
	}
	return res, q, err
}

// Refuse counts a call refused before it reached Trigger (a malformed
// path) against the caller's failure limit. It returns the quota to show, and
// a rate-limit error when the caller was already over its limit.
func (s *Service) Refuse(address string) (Quota, error) {
	now := s.now()
	if q := s.failures.Peek(address, now); q.Remaining == 0 {
		return q, errTooManyFailures(q)
	}
	q, _ := s.failures.Take(address, now)
	return q, nil
}

// Quota is the caller's failure quota, for answers that decide nothing
// (a wrong method, a server shutting down).
func (s *Service) Quota(address string) Quota { return s.failures.Peek(address, s.now()) }

func (s *Service) trigger(ctx context.Context, req Request) (Result, Quota, error) {
	now := s.now()
	target, err := s.targets.get(ctx, s.store, req.EnvironmentID, now)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Result{}, s.failures.Peek(req.Address, now), storeError(err)
	}
	h, ok := match(target.Hooks, req.Secret, now)
	if !ok {
		return Result{}, Quota{}, ErrNotFound
	}
	res := Result{HookID: h.ID}
	env := target.Environment
	// Refusals of a call with a valid secret show its hook's quota.
	hq := s.perHook.Peek(h.ID, now)
	switch {
	case env.Deleted():
		return res, hq, errDeleted(env)
	case h.Paused:
		return res, hq, fail.Conflictf("Deploy hook %q is paused; resume it to deploy", h.Name)
	case target.ServiceCount == 0 || !deploys(env, s.cfg.Managed):
		return res, hq, errNoServices(env)
	case env.IsPreview && !req.Preview:
		return res, hq, fail.Invalidf("Environment %d is a preview environment: call /api/deploy-hook/%d/{secret}/{prNumber}/{commitSHA}", env.ID, env.ID)
	case !env.IsPreview && req.Preview:
		return res, hq, fail.Invalidf("Environment %d is not a preview environment: call /api/deploy-hook/%d/{secret} without a PR number and commit", env.ID, env.ID)
	}
	q, allowed := s.perHook.Take(h.ID, now)
	if !allowed {
		return res, q, &fail.Error{Kind: fail.RateLimited, RetryAfter: q.RetryAfter,
			Message: fmt.Sprintf("Deploy hook %q was called more than %d times a minute; retry later", h.Name, q.Limit)}
	}

	d := liftoff.Deployment{
		ID:              s.newID(),
		ProjectID:       target.ProjectID,
		EnvironmentID:   env.ID,
		RepoURL:         target.RepoURL,
		RequestedCommit: strings.ToLower(req.Commit),
		GitBranch:       env.Branch,
		Force:           req.Force,
		ClearCache:      req.ClearCache,
		TriggerType:     liftoff.TriggerDeployHook,
		HookID:          h.ID,
		HookName:        h.Name,
		Status:          liftoff.StatusPending,
		CreatedAt:       now,
	}
	if req.Branch != "" {
		d.GitBranch = req.Branch
	}
	if req.Preview {
		d.PRNumber, d.RequestedCommit, d.GitBranch = req.PRNumber, strings.ToLower(req.CommitSHA), ""
	}
	id, o, err := s.queue(ctx, req, h, d)
	if err != nil {
		return res, q, err
	}
	res.DeploymentID = id
	res.Outcome, res.Superseded = outcome(o)
	return res, q, nil
}

// queue stores the deployment d a call asks for, in one statement when
// it can: joining or superseding a PENDING deployment of the same instance,
// honouring the idempotency key. Hook calls and API deploys both come here.
func (s *Service) queue(ctx context.Context, req Request, h liftoff.Hook, d liftoff.Deployment) (string, string, error) {
	// The common case, no PENDING deployment and no idempotency key, is one
	// statement (one round trip, one commit). A preview under a limit
	// counts its environment's previews in the transaction instead.
	if req.IdempotencyKey == "" && (d.PRNumber == 0 || s.deploys.Limits.MaxPreviews <= 0) {
		inserted, err := s.store.InsertPendingDeployment(ctx, d)
		if err != nil {
			return "", "", storeError(err)
		}
		if inserted {
			return d.ID, OutcomeQueued, nil
		}
	}
	return s.enqueueTx(ctx, req, h, d)
}

// enqueueTx is queue's way when one statement cannot do: a transaction
// that joins or supersedes a PENDING deployment, honours the idempotency
// key and counts the previews. Apart from queue, so that what its closure
// captures stays off the heap on the common way.
func (s *Service) enqueueTx(ctx context.Context, req Request, h liftoff.Hook, d liftoff.Deployment) (string, string, error) {
	var id, outcome string
	// A concurrent call can insert the PENDING deployment between our read
	// and our insert (the unique index refuses ours): EnqueueTx runs again,
	// and joins it.
	err := deployment.EnqueueTx(ctx, s.store, func(q store.Queries) error {
		var err error
		id, outcome, err = s.enqueue(ctx, q, req, h, d)
		return err
	})
	if fail.As(err) != nil {
		return "", "", err // a preview limit: a conflict that says how to make room
	}
	if err != nil {
		return "", "", storeError(err)
	}
	return id, outcome, nil
}

func errDeleted(env liftoff.Environment) error {
	return fail.Conflictf("Environment %d (%s) was deleted: it left the project's config", env.ID, env.GivenID)
}

func errNoServices(env liftoff.Environment) error {
	return fail.Conflictf("Environment %d (%s) has no services Liftoff runs: %s", env.ID, env.GivenID, notRun(env))
}

// DeployParams ask for a deployment through the API rather than a hook.
type DeployParams struct {
	EnvironmentID int64
	Force         bool
	// ClearCache builds every service from an empty build cache; it comes
	// with Force.
	ClearCache bool
	// Commit and Branch are what the hook's commit and branch query
	// parameters say; the caller has checked their syntax.
	Commit, Branch string
	// APIKeyID and APIKeyName name the key that asked, for the record.
	APIKeyID, APIKeyName string
}

// Deploy queues a deployment of a (non-preview) environment as a hook call
// would, with the same refusals and the same joining or superseding of a
// PENDING deployment, for a caller the API has authenticated by its key.
func (s *Service) Deploy(ctx context.Context, p DeployParams) (Result, error) {
	now := s.now()
	target, err := s.targets.get(ctx, s.store, p.EnvironmentID, now)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, fail.New(fail.NotFound, "Environment not found")
	}
	if err != nil {
		return Result{}, storeError(err)
	}
	env := target.Environment
	switch {
	case env.Deleted():
		return Result{}, errDeleted(env)
	case target.ServiceCount == 0 || !deploys(env, s.cfg.Managed):
		return Result{}, errNoServices(env)
	case env.IsPreview:
		return Result{}, fail.Invalidf("Environment %d (%s) is a preview environment: it deploys pull requests, through its deploy hook "+
			"(/api/deploy-hook/%d/{secret}/{prNumber}/{commitSHA}) or GitHub webhooks", env.ID, env.GivenID, env.ID)
	}
	d := liftoff.Deployment{
		ID:              s.newID(),
		ProjectID:       target.ProjectID,
		EnvironmentID:   env.ID,
		RepoURL:         target.RepoURL,
		RequestedCommit: strings.ToLower(p.Commit),
		GitBranch:       env.Branch,
		Force:           p.Force,
		ClearCache:      p.ClearCache,
		TriggerType:     liftoff.TriggerAPI,
		TriggerDetail:   liftoff.TriggerDetail{APIKeyID: p.APIKeyID, APIKeyName: p.APIKeyName},
		Status:          liftoff.StatusPending,
		CreatedAt:       now,
	}
	if p.Branch != "" {
		d.GitBranch = p.Branch
	}
	id, o, err := s.queue(ctx, Request{EnvironmentID: env.ID}, liftoff.Hook{}, d)
	if fail.KindOf(err) == fail.Unavailable {
		// Said as every /v1 call says it.
		return Result{}, fail.Wrap(fail.Unavailable, err, "Liftoff cannot reach its database right now; retry later")
	}
	if err != nil {
		return Result{}, err
	}
	res := Result{DeploymentID: id}
	res.Outcome, res.Superseded = outcome(o)
	if res.Outcome == OutcomeQueued {
		s.deploys.Queued()
	}
	return res, nil
}

// enqueue runs in the trigger's transaction: idempotency key, then join or
// supersede a PENDING deployment, then insert.
func (s *Service) enqueue(ctx context.Context, q store.Queries, req Request, h liftoff.Hook, d liftoff.Deployment) (string, string, error) {
	now := d.CreatedAt
	if req.IdempotencyKey != "" {
		id, err := q.GetIdempotencyKey(ctx, store.GetIdempotencyKeyParams{HookID: h.ID, Key: req.IdempotencyKey, Since: now.Add(-s.cfg.IdempotencyWindow)})
		if err == nil {
			return id, OutcomeIdempotent, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", "", err
		}
	}
	id, outcome, err := deployment.Enqueue(ctx, q, d, s.deploys.Limits)
	if err != nil {
		return "", "", err
	}
	if req.IdempotencyKey != "" {
		if err := q.PutIdempotencyKey(ctx, store.PutIdempotencyKeyParams{HookID: h.ID, Key: req.IdempotencyKey,
			DeploymentID: id, At: now, ExpiredBefore: now.Add(-s.cfg.IdempotencyWindow)}); err != nil {
			return "", "", err
		}
	}
	return id, outcome, nil
}

// match finds the hook whose current secret, or previous secret still in its
// grace period, hashes to the given secret. Every candidate is compared in
// constant time, and a dummy comparison keeps the work the same when there is
// none, so the time taken does not tell a wrong environment from a wrong secret.
func match(hooks []liftoff.Hook, secret string, now time.Time) (liftoff.Hook, bool) {
	sum := token.Hash(secret)
	var found liftoff.Hook
	ok := false
	for _, h := range hooks {
		if token.Equal(sum, h.SecretHash) && !ok {
			found, ok = h, true
		}
		if h.PreviousSecretHash != "" && token.Equal(sum, h.PreviousSecretHash) && now.Before(h.PreviousExpiresAt) && !ok {
			found, ok = h, true
		}
	}
	if len(hooks) == 0 {
		_ = token.Equal(sum, "0000000000000000000000000000000000000000000000000000000000000000")
	}
	return found, ok
}

func errTooManyFailures(q Quota) error {
	return &fail.Error{Kind: fail.RateLimited, RetryAfter: q.RetryAfter,
		Message: "Too many failed deploy hook calls from this address; retry later"}
}

func storeError(err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return fail.Wrap(fail.Unavailable, err, "Liftoff cannot reach its database right now; nothing was queued, retry later")
	}
	// Left to the caller: a hook call has no answer for it but an
	// internal error (Trigger), an API call maps the store's sentinels
	// (a conflict left after the retries is a 409).
	return fmt.Errorf("trigger deployment: %w", err)
}

// notRun says why an environment without services has none, from its
// config at the last sync.
func notRun(env liftoff.Environment) string {
	return config.NotRunSummary(env.Config.Services)
}

// deploys reports whether a deployment of env would do anything on this
// Liftoff: its services stored are all managed resources (rds,
// elasticache) of kinds it does not make, it would not.
func deploys(env liftoff.Environment, managed map[string]bool) bool {
	return len(env.Config.Services) == 0 || env.Config.Deploys(managed)
}
