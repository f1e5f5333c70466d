package user

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/keylimit"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/token"
)

// LoginParams are a sign-in attempt.
type LoginParams struct {
	Email    string
	Password string
	// Address is the client's address, for the rate limit.
	Address string
}

// Login is a successful sign-in: the session's token, to hand to the
// browser (it is not stored), and the session.
type Login struct {
	Token   string
	Session liftoff.Session
}

// Login checks an email and password and starts a session. A wrong email
// and a wrong password get the same ErrBadLogin, after as long a check;
// too many attempts from the address, or for the email, get RateLimited
// with the wait.
func (s *Service) Login(ctx context.Context, p LoginParams) (Login, error) {
	now := s.now()
	email := strings.ToLower(strings.TrimSpace(p.Email))
	for _, l := range []struct {
		lim *keylimit.Limiter
		key string
	}{{s.byAddress, p.Address}, {s.byEmail, email}} {
		if ok, wait := l.lim.Take(l.key, now); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			return Login{}, &fail.Error{Kind: fail.RateLimited, RetryAfter: wait,
				Message: fmt.Sprintf("Too many sign-in attempts; try again in %d seconds", secs)}
		}
	}
	u, err := s.store.GetUserByEmail(ctx, store.GetUserByEmailParams{Email: email})
	if errors.Is(err, store.ErrNotFound) {
		// As long as a wrong password of a user that exists.
		_, _ = s.hash.Verify(ctx, p.Password, s.decoy())
		return Login{}, ErrBadLogin
	}
	if err != nil {
		return Login{}, err
	}
	ok, err := s.hash.Verify(ctx, p.Password, u.PasswordHash)
	if err != nil {
		if ctx.Err() != nil {
			return Login{}, ctx.Err()
		}
		return Login{}, fmt.Errorf("user %s: %w: %w", u.ID, errUnreadableHash, err)
	}
	if !ok {
		return Login{}, ErrBadLogin
	}
	tok := token.New(token.SessionPrefix)
	sess := liftoff.Session{Hash: token.Hash(tok), UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL), User: u}
	if err := s.store.CreateSession(ctx, store.CreateSessionParams{Hash: sess.Hash, UserID: u.ID, At: now, ExpiresAt: sess.ExpiresAt}); err != nil {
		return Login{}, err
	}
	s.prune(ctx, now)
	return Login{Token: tok, Session: sess}, nil
}

// prune removes expired sessions, at most once an hour per replica: a
// session past its expiry is never returned, so this only keeps the table
// small.
func (s *Service) prune(ctx context.Context, now time.Time) {
	s.pruneMu.Lock()
	due := now.Sub(s.lastPrune) > time.Hour
	if due {
		s.lastPrune = now
	}
	s.pruneMu.Unlock()
	if due {
		// A failure leaves them for the next sign-in; nothing reads them.
		_, _ = s.store.DeleteExpiredSessions(ctx, store.DeleteExpiredSessionsParams{Before: now})
	}
}

// Session returns the live session of a token, with its user, pushing its
// expiry forward when it was last pushed more than Config.TouchEvery ago.
// ErrNoSession when the token is not one of a live session.
func (s *Service) Session(ctx context.Context, tok string) (liftoff.Session, error) {
	if !token.Looks(tok, token.SessionPrefix) {
		return liftoff.Session{}, ErrNoSession
	}
	now := s.now()
	sess, err := s.store.GetSession(ctx, store.GetSessionParams{Hash: token.Hash(tok), At: now})
	if errors.Is(err, store.ErrNotFound) {
		return sess, ErrNoSession
	}
	if err != nil {
		return sess, err
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchEvery {
		expires := now.Add(s.cfg.SessionTTL)
		err := s.store.TouchSession(ctx, store.TouchSessionParams{Hash: sess.Hash, At: now, ExpiresAt: expires})
		if errors.Is(err, store.ErrNotFound) {
			return liftoff.Session{}, ErrNoSession // signed out meanwhile
		}
		if err != nil {
			return sess, err
		}
		sess.LastSeenAt, sess.ExpiresAt = now, expires
	}
	return sess, nil
}

// Logout ends the session of a token (none is no error).
func (s *Service) Logout(ctx context.Context, tok string) error {
	if !token.Looks(tok, token.SessionPrefix) {
		return nil
	}
	return s.store.DeleteSession(ctx, store.DeleteSessionParams{Hash: token.Hash(tok)})
}
