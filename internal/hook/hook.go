// Package hook owns deploy hooks: their secrets, their management, the rate
// limits on their calls, the record of their calls, and the Trigger use case
// that turns one call into a durably stored deployment (joining or
// superseding a PENDING one, honouring idempotency keys).
package hook

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Config tunes hooks. What an operator sets (PublicURL and the two
// limits) is required: liftoff serve passes it from server.Config, where its
// default lives. The package's own tunables, which no operator sets, take
// the defaults their comments give when left zero.
type Config struct {
	// PublicURL is the base of hook URLs, e.g. "https://deploy.example.com",
	// without a trailing slash. Required (liftoff serve --public-url, or the
	// address the API listens on).
	PublicURL string
	// PerHookPerMinute bounds accepted calls of one hook, with a burst of
	// the same size. Required, positive (liftoff serve --hook-rate-limit).
	PerHookPerMinute int
	// FailuresPerMinute bounds failed calls from one client address before
	// its calls are refused with 429. Required, positive (liftoff serve
	// --failed-call-limit).
	FailuresPerMinute int
	// Managed are the kinds of managed resources this Liftoff makes
	// (config.ManagedPostgres, config.ManagedRedis): an environment whose
	// only services are rds or elasticache ones deploys when it makes
	// them, and is refused (nothing to deploy) when it does not.
	Managed map[string]bool
	// IdempotencyWindow is how long an Idempotency-Key is remembered. Default 24h.
	IdempotencyWindow time.Duration
	// KeepCalls is how many calls are kept per hook. Default
	// DefaultKeepCalls (1000).
	KeepCalls int
	// TargetCacheTTL is how long a hook call may reuse what an earlier call
	// read about its environment and hooks. Changes made through this
	// process apply at once; changes made by another replica within the
	// TTL. Default 2s; negative disables the cache.
	TargetCacheTTL time.Duration
}

// validate reports every required setting that is missing or cannot work.
func (c Config) validate() error {
	var errs []error
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		strings.HasSuffix(c.PublicURL, "/") {
		errs = append(errs, fmt.Errorf("hook: Config.PublicURL %q must be an http:// or https:// URL without a trailing slash", c.PublicURL))
	}
	if c.PerHookPerMinute <= 0 || c.FailuresPerMinute <= 0 {
		errs = append(errs, fmt.Errorf("hook: Config.PerHookPerMinute (%d) and Config.FailuresPerMinute (%d) must be positive",
			c.PerHookPerMinute, c.FailuresPerMinute))
	}
	return errors.Join(errs...)
}

// withDefaults fills the package's own tunables, which no operator sets.
func (c Config) withDefaults() Config {
	if c.IdempotencyWindow <= 0 {
		c.IdempotencyWindow = 24 * time.Hour
	}
	if c.KeepCalls <= 0 {
		c.KeepCalls = DefaultKeepCalls
	}
	if c.TargetCacheTTL == 0 {
		c.TargetCacheTTL = 2 * time.Second
	}
	return c
}

// DefaultKeepCalls is how many calls are kept per hook by default, by the
// Recorder's pruning and in what Calls lists.
const DefaultKeepCalls = 1000

// Service is the deploy hooks domain.
type Service struct {
	store    store.Store
	cfg      Config
	log      *slog.Logger
	perHook  *Limiter
	failures *Limiter
	recorder *Recorder
	// deploys is where a call's deployment goes: its Limits refuse, with
	// 409, a call that would start one preview instance too many, and it
	// tells this node's engine (if any) what was queued.
	deploys *deployment.Service
	targets *targetCache
	now     func() time.Time
	newID   func() string
}

// NewService returns the hooks domain over s, or an error naming each
// setting of cfg that cannot work. Calls are recorded through rec, which the
// caller starts and stops.
func NewService(s store.Store, rec *Recorder, deployments *deployment.Service, cfg Config, log *slog.Logger, newID func() string) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deployments == nil || deployments.Runner == nil {
		return nil, errors.New("hook: NewService needs the deployment service, with its Runner (deployment.NoRunner{} without an engine)")
	}
	cfg = cfg.withDefaults()
	if rec != nil {
		rec.keyWindow.Store(int64(cfg.IdempotencyWindow))
	}
	return &Service{
		store:    s,
		cfg:      cfg,
		log:      log,
		perHook:  NewLimiter(cfg.PerHookPerMinute, time.Minute),
		failures: NewLimiter(cfg.FailuresPerMinute, time.Minute),
		recorder: rec,
		deploys:  deployments,
		targets:  newTargetCache(cfg.TargetCacheTTL),
		now:      time.Now,
		newID:    newID,
	}, nil
}

// Forget makes the next hook call of the environment (every environment
// when environmentID is 0) read its hooks and services from the store again.
// Call it after changing environments or services outside this package.
func (s *Service) Forget(environmentID int64) { s.targets.forget(environmentID) }

// URL is the full hook URL of an environment with its secret. Preview
// environments get {prNumber}/{commitSHA} placeholders.
func (s *Service) URL(env liftoff.Environment, secret string) string {
	u := fmt.Sprintf("%s/api/deploy-hook/%d/%s", s.cfg.PublicURL, env.ID, secret)
	if env.IsPreview {
		u += "/{prNumber}/{commitSHA}"
	}
	return u
}
