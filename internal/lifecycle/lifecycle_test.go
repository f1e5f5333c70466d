package lifecycle

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestLoop: every order of Start and Stop, from one goroutine and many,
// runs the loop at most once and never leaves Stop waiting forever.
func TestLoop(t *testing.T) {
	t.Parallel()
	type step int
	const (
		start step = iota
		stop
	)
	for _, c := range []struct {
		name  string
		steps []step
		runs  int32
	}{
		{"start, stop", []step{start, stop}, 1},
		{"stop before start", []step{stop}, 0},
		{"stop, then start", []step{stop, start, stop}, 0},
		{"start twice", []step{start, start, stop}, 1},
		{"stop twice", []step{start, stop, stop}, 1},
		{"start after stop", []step{start, stop, start, stop}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var l Loop
			var runs, running atomic.Int32
			for _, s := range c.steps {
				switch s {
				case start:
					l.Start(func(stop <-chan struct{}) {
						runs.Add(1)
						running.Add(1)
						defer running.Add(-1)
						<-stop
					})
				case stop:
					l.Stop()
					if n := running.Load(); n != 0 {
						t.Fatalf("Stop returned while %d loops run", n)
					}
				}
			}
			if got := runs.Load(); got != c.runs {
				t.Fatalf("the loop ran %d times, want %d", got, c.runs)
			}
			select {
			case <-l.Done():
			default:
				t.Fatal("Done is open after Stop")
			}
		})
	}
	t.Run("done stays open while the loop runs", func(t *testing.T) {
		t.Parallel()
		var l Loop
		running := make(chan struct{})
		l.Start(func(stop <-chan struct{}) { close(running); <-stop })
		<-running
		select {
		case <-l.Done():
			t.Fatal("Done closed while the loop runs")
		default:
		}
		l.Stop()
		<-l.Done()
	})
	t.Run("concurrent", func(t *testing.T) {
		t.Parallel()
		var l Loop
		var runs atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() { l.Start(func(stop <-chan struct{}) { runs.Add(1); <-stop }) })
			wg.Go(l.Stop)
		}
		wg.Wait()
		l.Stop()
		if n := runs.Load(); n > 1 {
			t.Fatalf("the loop ran %d times", n)
		}
	})
}
