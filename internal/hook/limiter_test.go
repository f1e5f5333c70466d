package hook

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	l := NewLimiter(3, time.Minute) // a token every 20s
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if q := l.Peek("a", t0); q.Limit != 3 || q.Remaining != 3 || q.Reset != 0 {
		t.Fatalf("Peek of a new key = %+v", q)
	}
	for i := range 3 {
		q, ok := l.Take("a", t0)
		if !ok || q.Remaining != 2-i {
			t.Fatalf("take %d = %+v, %v", i, q, ok)
		}
	}
	q, ok := l.Take("a", t0)
	if ok || q.Remaining != 0 || q.RetryAfter != 20*time.Second || q.Reset != time.Minute {
		t.Fatalf("take from an empty bucket = %+v, %v", q, ok)
	}
	if _, ok := l.Take("b", t0); !ok {
		t.Fatal("keys share a bucket")
	}
	if q, ok := l.Take("a", t0.Add(20*time.Second)); !ok || q.Remaining != 0 {
		t.Fatalf("after one refill = %+v, %v", q, ok)
	}
	if q := l.Peek("a", t0.Add(80*time.Second)); q.Remaining != 3 || q.Reset != 0 {
		t.Fatalf("after a full refill = %+v", q)
	}
	// Full buckets are forgotten on the next sweep.
	l.Take("c", t0.Add(3*time.Minute))
	l.mu.Lock()
	_, kept := l.buckets["b"]
	l.mu.Unlock()
	if kept {
		t.Fatal("a full bucket was kept after a sweep")
	}
}
