// Package lifecycle gives Liftoff's background services one start and stop
// contract: Start runs a service's loop once; Stop stops it and waits for it
// to return. Both are idempotent and safe in any order: Stop before Start
// returns at once, and a Start after Stop does nothing, so a caller that
// fails half-way through wiring can stop everything it made.
package lifecycle

import "sync"

// Loop runs one background loop. The zero value is ready to use.
type Loop struct {
	mu      sync.Mutex
	started bool
	stopped bool
	stop    chan struct{} // closed by Stop
	done    chan struct{} // closed when the loop has returned, or will never run
}

// init makes the channels; l.mu is held.
func (l *Loop) init() {
	if l.done == nil {
		l.stop, l.done = make(chan struct{}), make(chan struct{})
	}
}

// Start runs run in a goroutine, the first time it is called before Stop.
// run returns once stop is closed. Start reports whether it started run.
func (l *Loop) Start(run func(stop <-chan struct{})) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.stopped {
		return false
	}
	l.init()
	l.started = true
	go func() {
		defer close(l.done)
		run(l.stop)
	}()
	return true
}

// Stop asks the loop to stop and waits until run has returned; if it never
// started, it returns at once and the loop never will start.
func (l *Loop) Stop() {
	l.mu.Lock()
	l.init()
	if !l.stopped {
		l.stopped = true
		close(l.stop)
		if !l.started {
			close(l.done)
		}
	}
	done := l.done
	l.mu.Unlock()
	<-done
}

// Done is closed once the loop has returned, or was stopped before it
// started: whoever waits on the loop (to hand it work) can give up then.
func (l *Loop) Done() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	return l.done
}
