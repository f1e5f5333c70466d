package hook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/token"
)

// Created is a hook as it is shown once: with its secret and full URL.
type Created struct {
	Hook   liftoff.Hook
	Secret string
	URL    string
}

// MaxGrace bounds how long a rotated secret may stay valid.
const MaxGrace = 30 * 24 * time.Hour

// Create makes a hook for an environment that exists and is not deleted.
func (s *Service) Create(ctx context.Context, environmentID int64, name string) (Created, error) {
	name, ok := liftoff.CleanName(name)
	if !ok {
		return Created{}, fail.New(fail.Invalid, liftoff.NameRule)
	}
	env, err := s.store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: environmentID})
	if err != nil {
		return Created{}, err
	}
	if env.Deleted() {
		return Created{}, fmt.Errorf("environment %d: %w", environmentID, store.ErrNotFound)
	}
	secret := token.New(token.HookPrefix)
	h, err := s.store.CreateHook(ctx, store.CreateHookParams{ID: s.newID(), EnvironmentID: env.ID, Name: name,
		SecretHash: token.Hash(secret), At: s.now()})
	if err != nil {
		return Created{}, err
	}
	s.Forget(env.ID)
	return Created{Hook: h, Secret: secret, URL: s.URL(env, secret)}, nil
}

// List lists an environment's hooks.
func (s *Service) List(ctx context.Context, environmentID int64) ([]liftoff.Hook, error) {
	env, err := s.store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: environmentID})
	if err != nil {
		return nil, err
	}
	if env.Deleted() {
		return nil, fmt.Errorf("environment %d: %w", environmentID, store.ErrNotFound)
	}
	return s.store.ListHooks(ctx, store.ListHooksParams{EnvironmentID: environmentID})
}

// Get returns a hook.
func (s *Service) Get(ctx context.Context, id string) (liftoff.Hook, error) {
	return s.store.GetHook(ctx, store.GetHookParams{ID: id})
}

// Rotate gives a hook a new secret. With grace > 0 the old secret keeps
// working for that long.
func (s *Service) Rotate(ctx context.Context, id string, grace time.Duration) (Created, error) {
	if grace < 0 || grace > MaxGrace {
		return Created{}, fail.Invalidf("gracePeriodSeconds must be between 0 and %d", int(MaxGrace.Seconds()))
	}
	h, err := s.store.GetHook(ctx, store.GetHookParams{ID: id})
	if err != nil {
		return Created{}, err
	}
	env, err := s.store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: h.EnvironmentID})
	if err != nil {
		return Created{}, err
	}
	now := s.now()
	var until time.Time
	if grace > 0 {
		until = now.Add(grace)
	}
	secret := token.New(token.HookPrefix)
	h, err = s.store.RotateHook(ctx, store.RotateHookParams{ID: id, SecretHash: token.Hash(secret), PreviousExpiresAt: until, At: now})
	if err != nil {
		return Created{}, err
	}
	s.Forget(h.EnvironmentID)
	return Created{Hook: h, Secret: secret, URL: s.URL(env, secret)}, nil
}

// SetPaused pauses or resumes a hook.
func (s *Service) SetPaused(ctx context.Context, id string, paused bool) (liftoff.Hook, error) {
	h, err := s.store.SetHookPaused(ctx, store.SetHookPausedParams{ID: id, Paused: paused, At: s.now()})
	if err == nil {
		s.Forget(h.EnvironmentID)
	}
	return h, err
}

// Delete revokes a hook: its URL answers 404 from now on.
func (s *Service) Delete(ctx context.Context, id string) error {
	h, err := s.store.GetHook(ctx, store.GetHookParams{ID: id})
	if err != nil {
		return err
	}
	if err := s.store.DeleteHook(ctx, store.DeleteHookParams{ID: id, At: s.now()}); err != nil {
		return err
	}
	s.Forget(h.EnvironmentID)
	return nil
}

// Calls lists a hook's recorded calls, newest first.
func (s *Service) Calls(ctx context.Context, id string, limit int) ([]liftoff.HookCall, error) {
	if _, err := s.store.GetHook(ctx, store.GetHookParams{ID: id}); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > s.cfg.KeepCalls {
		limit = s.cfg.KeepCalls
	}
	return s.store.ListHookCalls(ctx, store.ListHookCallsParams{HookID: id, Limit: limit})
}

// ReadDeployment returns deployment id to a caller that holds only a hook
// URL: CI may poll the deployments its hook started, and nothing else. The
// secret must be the current (or in-grace previous) secret of the hook
// that triggered it; an unknown deployment and one this hook did not start
// get the same NotFound, so the answer says nothing about the other.
func (s *Service) ReadDeployment(ctx context.Context, secret, id string) (liftoff.Deployment, error) {
	notFound := fail.New(fail.NotFound, "Deployment not found")
	d, err := s.deploys.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return liftoff.Deployment{}, notFound
	}
	if err != nil {
		return liftoff.Deployment{}, err
	}
	if d.HookID == "" {
		_ = token.Equal(token.Hash(secret), "") // as long as a refusal below
		return liftoff.Deployment{}, notFound
	}
	h, err := s.store.GetHook(ctx, store.GetHookParams{ID: d.HookID})
	if errors.Is(err, store.ErrNotFound) {
		return liftoff.Deployment{}, notFound
	}
	if err != nil {
		return liftoff.Deployment{}, err
	}
	if _, ok := match([]liftoff.Hook{h}, secret, s.now()); !ok {
		return liftoff.Deployment{}, notFound
	}
	return d, nil
}
