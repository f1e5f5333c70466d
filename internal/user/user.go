// Package user keeps the people who sign in to the dashboard: their
// accounts (an email, a password kept only as an argon2id hash, a role) and
// their sessions (a random token that only a cookie carries, stored as its
// SHA-256, with a sliding expiry).
//
// A role has the names and powers of an API key's scope: admin
// (everything), deploy (the hooks, deployments, previews and variables of
// the environments it names) and read (every read, no change). Package
// apikey decides what each may do, for keys and users alike.
//
// Sign-in attempts are rate limited per client address and per email, in
// the memory of each replica: a guesser spread over N replicas gets N times
// the limit, which passwords of MinPasswordLen characters make no matter.
package user

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/keylimit"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/token"
)

// Password bounds: long enough that guessing is hopeless at the rate
// sign-ins allow, short enough that hashing one costs what it should.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
)

// maxEmailLen is the longest address SMTP carries.
const maxEmailLen = 254

// Errors of Create and SetPassword. Their text is the message to show.
var (
	ErrBadEmail       = fail.New(fail.Invalid, "email must be an address such as ada@example.com")
	ErrShortPassword  = fail.Newf(fail.Invalid, "the password must be at least %d characters", MinPasswordLen)
	ErrLongPassword   = fail.Newf(fail.Invalid, "the password must be at most %d characters", MaxPasswordLen)
	ErrBadLogin       = fail.New(fail.Unauthorized, "Wrong email or password")
	ErrNoSession      = fail.New(fail.Unauthorized, "Sign in to continue")
	errUnknownUser    = errors.New("no such user")
	errUnreadableHash = errors.New("unreadable password hash")
)

// Words are how the refusals of a deploy role's environments name them.
var Words = apikey.Words{Holder: "user", Give: "give the environments' integer ids (in the CLI: --env-ids 3,4)"}

// Store is what users need of the store: users, sessions, and the
// environments a deploy user names.
type Store interface {
	store.UserQueries
	apikey.EnvironmentReader
}

// Config tunes users and sessions. Every field has the default its
// comment gives when left zero.
type Config struct {
	// SessionTTL is how long a session lasts unused; each use pushes its
	// expiry that far again. Default 14 days.
	SessionTTL time.Duration
	// TouchEvery is how stale a session's expiry may get before a use
	// pushes it forward, so that not every page writes to the store.
	// Default 5 minutes.
	TouchEvery time.Duration
	// LoginsPerMinute bounds sign-in attempts per client address, and per
	// email, each minute (a burst of as many). Default 10.
	LoginsPerMinute int
	// ConcurrentHashes bounds the password hashes computed at once (each
	// takes 19 MiB). Default 2.
	ConcurrentHashes int
	// Now is the clock of sessions and limits. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.SessionTTL <= 0 {
		c.SessionTTL = 14 * 24 * time.Hour
	}
	if c.TouchEvery <= 0 {
		c.TouchEvery = 5 * time.Minute
	}
	if c.LoginsPerMinute <= 0 {
		c.LoginsPerMinute = 10
	}
	if c.ConcurrentHashes <= 0 {
		c.ConcurrentHashes = 2
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Service manages users and their sessions.
type Service struct {
	store     Store
	cfg       Config
	newID     func() string
	now       func() time.Time
	hash      *hasher
	byAddress *keylimit.Limiter
	byEmail   *keylimit.Limiter
	// decoy is the hash an unknown email's password is checked against,
	// so that a refusal takes as long whether the email exists or not.
	decoy     func() string
	lastPrune time.Time
	pruneMu   sync.Mutex
}

// NewService returns the users domain over st.
func NewService(st Store, newID func() string, cfg Config) *Service {
	cfg = cfg.withDefaults()
	s := &Service{store: st, cfg: cfg, newID: newID, now: cfg.Now, hash: newHasher(cfg.ConcurrentHashes),
		byAddress: keylimit.New(cfg.LoginsPerMinute), byEmail: keylimit.New(cfg.LoginsPerMinute)}
	s.decoy = sync.OnceValue(func() string {
		h, _ := s.hash.Hash(context.Background(), token.New("decoy_"))
		return h
	})
	return s
}

// SessionTTL is how long a session lasts unused.
func (s *Service) SessionTTL() time.Duration { return s.cfg.SessionTTL }

// CleanEmail returns an email as users are kept by it: trimmed and in
// lower case, checked to be one plain address.
func CleanEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || len(email) > maxEmailLen || !strings.Contains(email, "@") {
		return "", ErrBadEmail
	}
	return email, nil
}

// checkPassword refuses a password too short or too long.
func checkPassword(p string) error {
	switch n := utf8.RuneCountInString(p); {
	case n < MinPasswordLen:
		return ErrShortPassword
	case len(p) > MaxPasswordLen:
		return ErrLongPassword
	}
	return nil
}

// CreateParams are what a new user is made of.
type CreateParams struct {
	Email    string
	Password string
	// Role defaults to admin.
	Role apikey.Scope
	// EnvironmentIDs are the environments of a deploy user (at least one);
	// other roles take none.
	EnvironmentIDs []int64
}

// Create makes a user. Refusals are Invalid (ErrBadEmail, a password's
// length, a role or its environments, wrapping apikey.ErrBadScope) or a
// Conflict when the email has a user already.
func (s *Service) Create(ctx context.Context, p CreateParams) (liftoff.User, error) {
	email, err := CleanEmail(p.Email)
	if err != nil {
		return liftoff.User{}, err
	}
	if err := checkPassword(p.Password); err != nil {
		return liftoff.User{}, err
	}
	role, err := apikey.ParseScope(string(p.Role))
	if err != nil {
		return liftoff.User{}, err
	}
	envs, err := apikey.CheckEnvironments(ctx, s.store, role, p.EnvironmentIDs, Words)
	if err != nil {
		return liftoff.User{}, err
	}
	hash, err := s.hash.Hash(ctx, p.Password)
	if err != nil {
		return liftoff.User{}, err
	}
	u, err := s.store.CreateUser(ctx, store.CreateUserParams{ID: s.newID(), Email: email, PasswordHash: hash, Role: string(role),
		EnvironmentIDs: envs, At: s.now()})
	if errors.Is(err, store.ErrConflict) {
		return liftoff.User{}, fail.Wrap(fail.Conflict, err, "a user with the email "+email+" exists already")
	}
	return u, err
}

// List lists the users, oldest first.
func (s *Service) List(ctx context.Context) ([]liftoff.User, error) {
	return s.store.ListUsers(ctx)
}

// Find returns the user with an email or an id: NotFound when none.
func (s *Service) Find(ctx context.Context, emailOrID string) (liftoff.User, error) {
	var u liftoff.User
	var err error
	if strings.Contains(emailOrID, "@") {
		u, err = s.store.GetUserByEmail(ctx, store.GetUserByEmailParams{Email: strings.ToLower(strings.TrimSpace(emailOrID))})
	} else {
		u, err = s.store.GetUser(ctx, store.GetUserParams{ID: emailOrID})
	}
	if errors.Is(err, store.ErrNotFound) {
		return u, fail.Wrap(fail.NotFound, errors.Join(errUnknownUser, err), "no user has the email or id "+emailOrID)
	}
	return u, err
}

// ErrLastAdmin refuses to delete or demote the last user with the admin
// role: Liftoff would have no one left to manage its users and keys.
var ErrLastAdmin = fail.New(fail.Conflict, "this is the last admin: give another user the admin role first, so that someone can still manage users and API keys")

// Delete deletes the user with an email or an id, ending its sessions. It
// refuses (ErrLastAdmin) to delete the last admin.
func (s *Service) Delete(ctx context.Context, emailOrID string) (liftoff.User, error) {
	u, err := s.Find(ctx, emailOrID)
	if err != nil {
		return u, err
	}
	err = s.store.DeleteUser(ctx, store.DeleteUserParams{ID: u.ID, KeepAnAdmin: true})
	switch {
	case errors.Is(err, store.ErrLastAdmin):
		return u, fail.Wrap(fail.Conflict, err, ErrLastAdmin.Message)
	case errors.Is(err, store.ErrNotFound):
		return u, fail.Wrap(fail.NotFound, errors.Join(errUnknownUser, err), "no user has the email or id "+emailOrID)
	case err != nil:
		return u, fmt.Errorf("delete user %s: %w", u.Email, err)
	}
	return u, nil
}

// SetRole gives the user with an email or an id a new role, with the
// environments of a deploy role, checked as Create checks them. Its
// sessions go on with the new role at once. It refuses (ErrLastAdmin) to
// take the admin role from the last user who has it.
func (s *Service) SetRole(ctx context.Context, emailOrID string, role apikey.Scope, environmentIDs []int64) (liftoff.User, error) {
	role, err := apikey.ParseScope(string(role))
	if err != nil {
		return liftoff.User{}, err
	}
	envs, err := apikey.CheckEnvironments(ctx, s.store, role, environmentIDs, Words)
	if err != nil {
		return liftoff.User{}, err
	}
	u, err := s.Find(ctx, emailOrID)
	if err != nil {
		return u, err
	}
	nu, err := s.store.SetUserRole(ctx, store.SetUserRoleParams{ID: u.ID, Role: string(role), EnvironmentIDs: envs, KeepAnAdmin: true})
	switch {
	case errors.Is(err, store.ErrLastAdmin):
		return u, fail.Wrap(fail.Conflict, err, ErrLastAdmin.Message)
	case errors.Is(err, store.ErrNotFound):
		return u, fail.Wrap(fail.NotFound, errors.Join(errUnknownUser, err), "no user has the email or id "+emailOrID)
	case err != nil:
		return u, fmt.Errorf("set the role of user %s: %w", u.Email, err)
	}
	return nu, nil
}

// SetPassword gives the user with an email or an id a new password and
// ends its sessions.
func (s *Service) SetPassword(ctx context.Context, emailOrID, password string) (liftoff.User, error) {
	if err := checkPassword(password); err != nil {
		return liftoff.User{}, err
	}
	u, err := s.Find(ctx, emailOrID)
	if err != nil {
		return u, err
	}
	hash, err := s.hash.Hash(ctx, password)
	if err != nil {
		return u, err
	}
	return u, s.store.SetUserPassword(ctx, store.SetUserPasswordParams{ID: u.ID, PasswordHash: hash})
}
