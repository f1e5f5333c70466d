// Package keylimit is a token bucket per key (a client address, an
// email): what the password gate of protected previews and the
// dashboard's sign-in limit their attempts with.
package keylimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter allows each key limit events per minute, in a burst or spread
// out. Buckets full again are forgotten, so it stays as small as the set
// of recent callers. Safe for concurrent use.
type Limiter struct {
	limit int
	every rate.Limit

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// New returns a Limiter of perMinute events per key.
func New(perMinute int) *Limiter {
	return &Limiter{limit: perMinute, every: rate.Limit(float64(perMinute) / 60), buckets: map[string]*rate.Limiter{}}
}

// Take spends one of key's events; false, with the wait until the next
// one (a second at least), when none is left.
func (l *Limiter) Take(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.lastSweep = now
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.limit) {
				delete(l.buckets, k)
			}
		}
	}
	b := l.buckets[key]
	if b == nil {
		b = rate.NewLimiter(l.every, l.limit)
		b.SetBurstAt(now, l.limit)
		l.buckets[key] = b
	}
	if b.AllowN(now, 1) {
		return true, 0
	}
	wait := time.Duration((1 - b.TokensAt(now)) / float64(l.every) * float64(time.Second))
	return false, max(wait, time.Second)
}
