package keylimit

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	l := New(3)
	for i := range 3 {
		if ok, _ := l.Take("a", t0); !ok {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Take("a", t0)
	if ok || wait < 19*time.Second || wait > 21*time.Second {
		t.Fatalf("fourth event: %v, wait %s; want refused with about 20s", ok, wait)
	}
	if ok, _ := l.Take("b", t0); !ok {
		t.Fatal("another key shares a's bucket")
	}
	if ok, _ := l.Take("a", t0.Add(20*time.Second)); !ok {
		t.Fatal("a's bucket did not refill")
	}
	// Full buckets are forgotten at the next sweep.
	l.Take("c", t0.Add(5*time.Minute))
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets after a sweep, want only c's", n)
	}
}
