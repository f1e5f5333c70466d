// Package hook owns deploy hooks: their secrets, their management, the rate
// limits on their calls, the record of their calls, and the Trigger use case
// that turns one call into a durably stored deployment (joining or
// superseding a PENDING one, honouring idempotency keys).
package hook

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Config tunes hooks. Zero values take the defaults.
type Config struct {
	// PublicURL is the base of hook URLs, e.g. "https://deploy.example.com".
	// Default "http://127.0.0.1:8080".
	PublicURL string
	// PerHookPerMinute bounds accepted calls of one hook. Default 60, with a
	// burst of the same size.
	PerHookPerMinute int
	// FailuresPerMinute bounds failed calls from one client address before
	// its calls are refused with 429. Default 20.
	FailuresPerMinute int
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
	// Limits refuse, with 409, a call that would start one preview
	// instance too many. Default: none.
	Limits deployment.Limits
	// Queued, if set, is called after a call queued a new deployment (the
	// engine wakes its workers).
	Queued func()
}

func (c Config) withDefaults() Config {
	if c.PublicURL == "" {
		c.PublicURL = "http://127.0.0.1:8080"
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.PerHookPerMinute <= 0 {
		c.PerHookPerMinute = 60
	}
	if c.FailuresPerMinute <= 0 {
		c.FailuresPerMinute = 20
	}
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
	targets  *targetCache
	now      func() time.Time
	newID    func() string
}

// NewService returns the hooks domain over s. Calls are recorded through
// rec, which the caller starts and stops.
func NewService(s store.Store, rec *Recorder, cfg Config, log *slog.Logger, newID func() string) *Service {
	cfg = cfg.withDefaults()
	return &Service{
		store:    s,
		cfg:      cfg,
		log:      log,
		perHook:  NewLimiter(cfg.PerHookPerMinute, time.Minute),
		failures: NewLimiter(cfg.FailuresPerMinute, time.Minute),
		recorder: rec,
		targets:  newTargetCache(cfg.TargetCacheTTL),
		now:      time.Now,
		newID:    newID,
	}
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
