package hook

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a set of token buckets, one per key, each holding up to limit
// tokens and refilling limit tokens per period. Buckets that are full again
// are forgotten, so the set stays as small as the set of recent callers.
type Limiter struct {
	limit  int
	every  rate.Limit
	period time.Duration

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// NewLimiter returns a limiter of limit calls per period per key.
func NewLimiter(limit int, period time.Duration) *Limiter {
	return &Limiter{
		limit:   limit,
		every:   rate.Limit(float64(limit) / period.Seconds()),
		period:  period,
		buckets: map[string]*rate.Limiter{},
	}
}

// Quota is the state of one key's bucket, as the RateLimit-* headers show it.
type Quota struct {
	Limit      int           // RateLimit-Limit
	Remaining  int           // RateLimit-Remaining
	Reset      time.Duration // RateLimit-Reset: until the bucket is full again
	RetryAfter time.Duration // until the next call is allowed; 0 when allowed now
}

// Take spends one token of key's bucket if it has one. ok is false when the
// bucket is empty.
func (l *Limiter) Take(key string, now time.Time) (q Quota, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	ok = b.AllowN(now, 1)
	return l.quota(b, now), ok
}

// Peek returns key's quota without spending.
func (l *Limiter) Peek(key string, now time.Time) Quota {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, found := l.buckets[key]
	if !found {
		return Quota{Limit: l.limit, Remaining: l.limit}
	}
	return l.quota(b, now)
}

func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	if now.Sub(l.lastSweep) > l.period {
		l.lastSweep = now
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.limit) {
				delete(l.buckets, k)
			}
		}
	}
	b, found := l.buckets[key]
	if !found {
		b = rate.NewLimiter(l.every, l.limit)
		b.SetBurstAt(now, l.limit) // start the bucket's clock at now
		l.buckets[key] = b
	}
	return b
}

func (l *Limiter) quota(b *rate.Limiter, now time.Time) Quota {
	tokens := b.TokensAt(now)
	q := Quota{Limit: l.limit, Remaining: max(0, int(math.Floor(tokens)))}
	perToken := time.Duration(float64(time.Second) / float64(l.every))
	q.Reset = time.Duration((float64(l.limit) - tokens) * float64(perToken))
	if tokens < 1 {
		q.RetryAfter = time.Duration((1 - tokens) * float64(perToken))
	}
	return q
}
