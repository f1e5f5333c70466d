package protect

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
)

// DefaultTTL is the default of Service.TTL.
const DefaultTTL = 5 * time.Second

// Limits of a shared password.
const (
	MinPassword = 8
	MaxPassword = 256
)

// Service keeps each environment's protection: it sets and reads it for
// the API, makes share links, and answers the gate from a cache (see the
// package doc). Make it with NewService.
type Service struct {
	Store store.Store
	// Keys seals passwords and tokens.
	Keys *secretbox.Keyring
	// Now is the clock of expiries and the cache. Default time.Now.
	Now func() time.Time
	// TTL is how long the gate uses a setting read from the store before
	// reading it again: how long a change made through another replica
	// takes to apply here. Default DefaultTTL.
	TTL time.Duration

	mu    sync.RWMutex
	rules map[int64]*cached
	// epoch counts the entries dropped, so that a read that began before
	// a change does not put the old setting back in the cache.
	epoch uint64
}

// NewService returns the service over st, sealing with keys.
func NewService(st store.Store, keys *secretbox.Keyring) *Service {
	return &Service{Store: st, Keys: keys, Now: time.Now, TTL: DefaultTTL, rules: map[int64]*cached{}}
}

// Setting is an environment's protection as the API shows it.
type Setting struct {
	EnvironmentID int64
	// Mode is the mode that applies: the one set, or the default of the
	// environment's kind.
	Mode liftoff.ProtectionMode
	// Default says nobody set the mode: it is the default of the
	// environment's kind (protected for previews, else public).
	Default     bool
	HasPassword bool
	// UpdatedAt is when it was last set; zero when it never was.
	UpdatedAt time.Time
}

// Change is what Set changes: what is nil stays as it is.
type Change struct {
	// Mode is the new mode: public or protected.
	Mode *liftoff.ProtectionMode
	// Password is the new shared password; "" removes it.
	Password *string
}

// Get returns a live environment's protection.
func (s *Service) Get(ctx context.Context, environmentID int64) (Setting, error) {
	env, err := s.environment(ctx, environmentID)
	if err != nil {
		return Setting{}, err
	}
	p, err := s.Store.GetEnvironmentProtection(ctx, store.GetEnvironmentProtectionParams{EnvironmentID: env.ID})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Setting{}, err
	}
	return settingOf(env, p), nil
}

// Set changes a live environment's protection and applies it on this
// replica at once.
func (s *Service) Set(ctx context.Context, environmentID int64, c Change) (Setting, error) {
	env, err := s.environment(ctx, environmentID)
	if err != nil {
		return Setting{}, err
	}
	if c.Mode == nil && c.Password == nil {
		return Setting{}, fail.New(fail.Invalid, "give mode (public or protected), password, or both")
	}
	if c.Mode != nil && *c.Mode != liftoff.ProtectionPublic && *c.Mode != liftoff.ProtectionProtected {
		return Setting{}, fail.Invalidf("mode must be public or protected, got %q", printable(string(*c.Mode)))
	}
	params := store.SetEnvironmentProtectionParams{EnvironmentID: env.ID, Mode: c.Mode, At: s.Now()}
	if c.Password != nil {
		pw := *c.Password
		switch {
		case pw == "":
			params.Password = &store.SealedValue{}
		case !utf8.ValidString(pw):
			return Setting{}, fail.New(fail.Invalid, "password must be valid UTF-8")
		case utf8.RuneCountInString(pw) < MinPassword:
			return Setting{}, fail.Invalidf("password must have at least %d characters", MinPassword)
		case len(pw) > MaxPassword:
			return Setting{}, fail.Invalidf("password must have at most %d bytes", MaxPassword)
		default:
			keyID, sealed, err := s.Keys.Seal([]byte(pw), liftoff.ProtectionPasswordAAD(env.ID))
			if err != nil {
				return Setting{}, err
			}
			params.Password = &store.SealedValue{KeyID: keyID, Sealed: sealed}
		}
	}
	p, err := s.Store.SetEnvironmentProtection(ctx, params)
	if err != nil {
		return Setting{}, err
	}
	s.forget(env.ID)
	return settingOf(env, p), nil
}

// environment returns a live environment, or a NotFound error.
func (s *Service) environment(ctx context.Context, id int64) (liftoff.Environment, error) {
	env, err := s.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: id})
	if err == nil && env.Deleted() {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return liftoff.Environment{}, fail.Wrap(fail.NotFound, err, "Environment not found")
	}
	return env, err
}

func settingOf(env liftoff.Environment, p liftoff.EnvironmentProtection) Setting {
	return Setting{EnvironmentID: env.ID, Mode: p.Mode.Effective(env.IsPreview), Default: p.Mode == liftoff.ProtectionDefault,
		HasPassword: p.HasPassword(), UpdatedAt: p.UpdatedAt}
}

// rule is what the gate needs of an environment's protection.
type rule struct {
	protected bool
	// password is the sealed shared password (KeyID "" without one);
	// version is a digest of it, which password cookies carry.
	password store.SealedValue
	version  []byte
}

// cached is a rule and when it was read.
type cached struct {
	rule       rule
	read       time.Time
	refreshing bool
}

// rule returns the rule of an environment, from the cache while it is
// fresh. One caller at a time reads a stale entry again; the others use
// it meanwhile, and it stays in use while the store fails.
func (s *Service) rule(ctx context.Context, environmentID int64) (rule, error) {
	now := s.Now()
	s.mu.RLock()
	e := s.rules[environmentID]
	if e != nil && (now.Sub(e.read) < s.TTL || e.refreshing) {
		r := e.rule
		s.mu.RUnlock()
		return r, nil
	}
	s.mu.RUnlock()

	s.mu.Lock()
	e = s.rules[environmentID]
	switch {
	case e != nil && (now.Sub(e.read) < s.TTL || e.refreshing):
		r := e.rule
		s.mu.Unlock()
		return r, nil
	case e != nil:
		e.refreshing = true
	}
	epoch := s.epoch
	s.mu.Unlock()

	r, err := s.load(ctx, environmentID)

	s.mu.Lock()
	defer s.mu.Unlock()
	if e != nil {
		e.refreshing = false
	}
	if err != nil {
		if e != nil && s.rules[environmentID] == e {
			return e.rule, nil // stale, but the best known
		}
		return rule{}, err
	}
	if s.epoch == epoch {
		s.rules[environmentID] = &cached{rule: r, read: now}
	}
	return r, nil
}

// forget drops an environment's cached rule.
func (s *Service) forget(environmentID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	delete(s.rules, environmentID)
}

// load reads an environment's rule from the store. An environment the
// store does not have (any longer) is protected, without a password:
// the gate fails closed.
func (s *Service) load(ctx context.Context, environmentID int64) (rule, error) {
	env, err := s.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: environmentID})
	if errors.Is(err, store.ErrNotFound) {
		return rule{protected: true}, nil
	}
	if err != nil {
		return rule{}, err
	}
	p, err := s.Store.GetEnvironmentProtection(ctx, store.GetEnvironmentProtectionParams{EnvironmentID: environmentID})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return rule{}, err
	}
	r := rule{protected: p.Mode.Effective(env.IsPreview) == liftoff.ProtectionProtected}
	if p.HasPassword() {
		r.password = store.SealedValue{KeyID: p.PasswordKeyID, Sealed: p.PasswordSealed}
		sum := sha256.Sum256(append([]byte(p.PasswordKeyID+"\x00"), p.PasswordSealed...))
		r.version = sum[:8]
	}
	return r, nil
}

// checkPassword reports whether pw is the environment's password, in time
// independent of where they differ.
func (s *Service) checkPassword(r rule, environmentID int64, pw string) (bool, error) {
	if r.password.KeyID == "" {
		return false, nil
	}
	want, err := s.Keys.Open(r.password.KeyID, r.password.Sealed, liftoff.ProtectionPasswordAAD(environmentID))
	if err != nil {
		return false, fmt.Errorf("open the password of environment %d: %w", environmentID, err)
	}
	a, b := sha256.Sum256(want), sha256.Sum256([]byte(pw))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1, nil
}

// printable shortens and quotes what a caller sent, for a message.
func printable(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
