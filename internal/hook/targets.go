package hook

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/store"
)

// targetCache keeps what a hook call reads before deciding (the environment,
// its live hooks' secret hashes, its service count) for a short time, so a
// busy hook costs one statement per call instead of two. Changes made through
// this process (create, rotate, pause, delete, project sync) forget the entry
// at once; a change made by another replica sharing the database is seen
// within the TTL.
type targetCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[int64]cachedTarget
}

type cachedTarget struct {
	target   store.HookTarget
	notFound bool
	at       time.Time
}

func newTargetCache(ttl time.Duration) *targetCache {
	return &targetCache{ttl: ttl, max: 10_000, entries: map[int64]cachedTarget{}}
}

// get returns the target of an environment, from the cache when fresh.
func (c *targetCache) get(ctx context.Context, s store.Store, envID int64, now time.Time) (store.HookTarget, error) {
	if c.ttl > 0 {
		c.mu.Lock()
		e, ok := c.entries[envID]
		c.mu.Unlock()
		if ok && now.Sub(e.at) < c.ttl {
			if e.notFound {
				return store.HookTarget{}, store.ErrNotFound
			}
			return e.target, nil
		}
	}
	t, err := s.HookTarget(ctx, store.HookTargetParams{EnvironmentID: envID})
	notFound := errors.Is(err, store.ErrNotFound)
	if err != nil && !notFound {
		return t, err
	}
	if c.ttl > 0 {
		c.put(envID, cachedTarget{target: t, notFound: notFound, at: now})
	}
	if notFound {
		return store.HookTarget{}, store.ErrNotFound
	}
	return t, nil
}

func (c *targetCache) put(envID int64, e cachedTarget) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for id, old := range c.entries {
			if e.at.Sub(old.at) >= c.ttl {
				delete(c.entries, id)
			}
		}
		if len(c.entries) >= c.max {
			return // full of fresh entries: serve this one uncached
		}
	}
	c.entries[envID] = e
}

// forget drops one environment's entry, or every entry when envID is 0.
func (c *targetCache) forget(envID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if envID == 0 {
		clear(c.entries)
		return
	}
	delete(c.entries, envID)
}
