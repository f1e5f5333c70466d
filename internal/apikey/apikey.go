// Package apikey issues, lists, revokes and checks the API keys of /v1 and
// the CLI. A key is shown once; only its SHA-256 is stored.
package apikey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/token"
)

// Errors of Authenticate.
var (
	ErrMissing = errors.New("no API key in the Authorization header")
	ErrInvalid = errors.New("invalid API key")
	// ErrBadName refuses a key name.
	ErrBadName = errors.New("name must be 1 to 100 characters")
)

// Service manages API keys.
type Service struct {
	store store.Store
	newID func() string
	now   func() time.Time
}

// NewService returns the API keys domain over s.
func NewService(s store.Store, newID func() string) *Service {
	return &Service{store: s, newID: newID, now: time.Now}
}

// Create issues a key and returns it with its secret, which is not stored.
func (s *Service) Create(ctx context.Context, name string) (store.APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return store.APIKey{}, "", ErrBadName
	}
	key := token.New(token.APIKeyPrefix)
	k, err := s.store.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: s.newID(), Name: name, Hash: token.Hash(key), At: store.At(s.now())})
	if err != nil {
		return store.APIKey{}, "", fmt.Errorf("create API key: %w", err)
	}
	return k, key, nil
}

// List lists the live keys.
func (s *Service) List(ctx context.Context) ([]store.APIKey, error) { return s.store.ListAPIKeys(ctx) }

// Delete revokes a key.
func (s *Service) Delete(ctx context.Context, id string) error {
	return s.store.DeleteAPIKey(ctx, id, store.At(s.now()))
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

// Authenticate checks an Authorization header value.
func (s *Service) Authenticate(ctx context.Context, header string) (store.APIKey, error) {
	key := FromHeader(header)
	if key == "" {
		return store.APIKey{}, ErrMissing
	}
	// The lookup is by the hash of a 256-bit secret: how long it takes says
	// nothing useful about any stored key.
	k, err := s.store.GetAPIKeyByHash(ctx, token.Hash(key))
	if errors.Is(err, store.ErrNotFound) {
		return store.APIKey{}, ErrInvalid
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("authenticate: %w", err)
	}
	return k, nil
}
