// Package apikey issues, lists, revokes and checks the API keys of /v1 and
// the CLI. A key is shown once; only its SHA-256 is stored.
//
// Every key has a scope, fixed when it is made:
//
//   - admin: everything.
//   - deploy: the hooks, deployments and previews of the environments the
//     key names (by integer id; a preview environment's id covers all its
//     preview instances), and reading those environments. Nothing else.
//   - read: every read (GET) of the API, no change.
//
// Keys made before scopes existed are admin. Which route needs which scope
// is declared once, in the route table of package api; what each scope may
// do is decided here (Scope.Allows, Scope.Reaches), for API keys and for
// the dashboard's users, whose roles have the same names and powers.
package apikey

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/token"
)

// Errors of Authenticate, worded as Flightcontrol's API words them.
var (
	ErrMissing = fail.New(fail.Unauthorized, "Please use an API key for this request")
	ErrInvalid = fail.New(fail.Unauthorized, "Invalid API key")
)

// Errors of Create.
var (
	// ErrBadName refuses a key name.
	ErrBadName = fail.New(fail.Invalid, liftoff.NameRule)
	// ErrBadScope refuses a scope or the environments given with it. The
	// errors Create returns wrap it, and their text is only what was wrong.
	ErrBadScope = errors.New("invalid scope or environments")
)

func badScope(format string, args ...any) error {
	return fail.Wrap(fail.Invalid, ErrBadScope, fmt.Sprintf(format, args...))
}

// Scope is what a key may do.
type Scope string

// The scopes.
const (
	Admin  Scope = "admin"
	Deploy Scope = "deploy"
	Read   Scope = "read"
)

// Scopes lists every scope, widest first.
func Scopes() []Scope { return []Scope{Admin, Deploy, Read} }

// Need is what an action needs of the credential that asks for it.
type Need string

// The needs, from the narrowest.
const (
	// NeedRead: the action changes nothing.
	NeedRead Need = "read"
	// NeedDeploy: the action changes the hooks, deployments, previews or
	// variables of one environment.
	NeedDeploy Need = "deploy"
	// NeedAdmin: the action reaches beyond one environment (projects, API
	// keys, users).
	NeedAdmin Need = "admin"
)

// Allows reports whether scope s may take an action that needs n at all,
// whatever the environment. oneEnvironment says whether the action is about
// one environment, which a deploy scope must then name (Reaches): an action
// about no one environment is not for deploy scopes, even a read. An
// unknown scope may do nothing.
func (s Scope) Allows(n Need, oneEnvironment bool) bool {
	switch s {
	case Admin:
		return true
	case Read:
		return n == NeedRead
	case Deploy:
		return n != NeedAdmin && oneEnvironment
	}
	return false
}

// Reaches reports whether a credential of scope s that names the
// environments envs may act on environment env: admin and read reach every
// environment, deploy only those it names (a preview environment's id
// covers all its previews).
func (s Scope) Reaches(envs []int64, env int64) bool {
	switch s {
	case Admin, Read:
		return true
	case Deploy:
		return slices.Contains(envs, env)
	}
	return false
}

// MaxEnvironments bounds how many environments one deploy key names.
const MaxEnvironments = 100

// ParseScope reads a scope name; "" is admin, what every key was before
// scopes existed.
func ParseScope(s string) (Scope, error) {
	if s == "" {
		return Admin, nil
	}
	if sc := Scope(s); slices.Contains(Scopes(), sc) {
		return sc, nil
	}
	return "", badScope("scope must be admin, deploy or read, got %s", strconv.Quote(s))
}

// Store is the part of the store API keys use: the keys, and the
// environments a deploy key names.
type Store interface {
	store.APIKeyQueries
	GetEnvironment(ctx context.Context, p store.GetEnvironmentParams) (liftoff.Environment, error)
}

// Service manages API keys.
type Service struct {
	store Store
	newID func() string
	now   func() time.Time
}

// NewService returns the API keys domain over s.
func NewService(s Store, newID func() string) *Service {
	return &Service{store: s, newID: newID, now: time.Now}
}

// CreateParams are what a new key is made of.
type CreateParams struct {
	Name string
	// Scope defaults to admin.
	Scope Scope
	// EnvironmentIDs are the environments of a deploy key: at least one,
	// each a live environment or preview environment. Other scopes take none.
	EnvironmentIDs []int64
}

// Create issues a key and returns it with its secret, which is not stored.
func (s *Service) Create(ctx context.Context, p CreateParams) (liftoff.APIKey, string, error) {
	name, ok := liftoff.CleanName(p.Name)
	if !ok {
		return liftoff.APIKey{}, "", ErrBadName
	}
	scope, err := ParseScope(string(p.Scope))
	if err != nil {
		return liftoff.APIKey{}, "", err
	}
	envs, err := CheckEnvironments(ctx, s.store, scope, p.EnvironmentIDs, KeyWords)
	if err != nil {
		return liftoff.APIKey{}, "", err
	}
	key := token.New(token.APIKeyPrefix)
	k, err := s.store.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: s.newID(), Name: name, Hash: token.Hash(key),
		Scope: string(scope), EnvironmentIDs: envs, At: s.now()})
	if err != nil {
		return liftoff.APIKey{}, "", fmt.Errorf("create API key: %w", err)
	}
	return k, key, nil
}

// Words name, in the refusals of CheckEnvironments, the holder of a scope
// and how its environments are given.
type Words struct {
	Holder string // "key", "user"
	Give   string // how to give environments: "give environmentIds (in the CLI: --env ID, once per environment)"
}

// KeyWords are the words of API keys.
var KeyWords = Words{Holder: "key", Give: "give environmentIds (in the CLI: --env ID, once per environment)"}

// EnvironmentReader reads environments, deleted or not.
type EnvironmentReader interface {
	GetEnvironment(ctx context.Context, p store.GetEnvironmentParams) (liftoff.Environment, error)
}

// CheckEnvironments checks the environments given with a scope (to an API
// key, or to a dashboard user as its role) and returns them sorted, without
// duplicates: a deploy scope names 1 to MaxEnvironments live environments,
// the others none. Refusals wrap ErrBadScope.
func CheckEnvironments(ctx context.Context, st EnvironmentReader, scope Scope, ids []int64, w Words) ([]int64, error) {
	if scope != Deploy {
		if len(ids) > 0 {
			return nil, badScope("environmentIds are only for scope deploy; a %s of scope %s reaches every environment", w.Holder, scope)
		}
		return nil, nil
	}
	if len(ids) == 0 {
		return nil, badScope("a deploy %s must name the environments it deploys: %s", w.Holder, w.Give)
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxEnvironments {
		return nil, badScope("a deploy %s names at most %d environments, got %d", w.Holder, MaxEnvironments, len(out))
	}
	for _, id := range out {
		if id <= 0 {
			return nil, badScope("environment ids are positive integers, got %d", id)
		}
		env, err := st.GetEnvironment(ctx, store.GetEnvironmentParams{ID: id})
		if err == nil && env.Deleted() {
			err = store.ErrNotFound
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, badScope("environment %d does not exist or was deleted (liftoff projects get ID lists a project's environments)", id)
		}
		if err != nil {
			return nil, fmt.Errorf("environment %d: %w", id, err)
		}
	}
	return out, nil
}

// List lists the live keys.
func (s *Service) List(ctx context.Context) ([]liftoff.APIKey, error) {
	return s.store.ListAPIKeys(ctx)
}

// Delete revokes a key.
func (s *Service) Delete(ctx context.Context, id string) error {
	return s.store.DeleteAPIKey(ctx, store.DeleteAPIKeyParams{ID: id, At: s.now()})
}

// FromHeader extracts a key from an Authorization header value, accepting
// "Bearer <key>", "Bearer: <key>" and a bare key.
func FromHeader(h string) string {
	h = strings.TrimSpace(h)
	if len(h) >= 6 && strings.EqualFold(h[:6], "bearer") {
		rest := strings.TrimPrefix(h[6:], ":")
		if rest != h[6:] || strings.HasPrefix(rest, " ") {
			return strings.TrimSpace(rest)
		}
	}
	return h
}

// Authenticate checks an Authorization header value and returns the key,
// with its scope and environments, in one lookup by hash.
func (s *Service) Authenticate(ctx context.Context, header string) (liftoff.APIKey, error) {
	key := FromHeader(header)
	if key == "" {
		return liftoff.APIKey{}, ErrMissing
	}
	// The lookup is by the hash of a 256-bit secret: how long it takes says
	// nothing useful about any stored key.
	k, err := s.store.GetAPIKeyByHash(ctx, store.GetAPIKeyByHashParams{Hash: token.Hash(key)})
	if errors.Is(err, store.ErrNotFound) {
		return liftoff.APIKey{}, ErrInvalid
	}
	if err != nil {
		return liftoff.APIKey{}, fmt.Errorf("authenticate: %w", err)
	}
	return k, nil
}
