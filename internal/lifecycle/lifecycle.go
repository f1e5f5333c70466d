// Package lifecycle gives Liftoff's background parts one start and stop
// contract, Service, and the pieces to keep it: Guard for the bookkeeping,
// Loop for a part that is one goroutine, and Group for a whole server
// started in order and stopped in reverse.
//
// The contract: Start starts a part once and returns when it runs (or
// why it cannot). Stop stops it and returns when it has stopped; it is
// safe before Start, and more than once. A second Start, or a Start after
// Stop, starts nothing and returns ErrStarted or ErrStopped: a caller that
// fails half-way through wiring can stop everything it made, and nothing
// comes back to life after that.
package lifecycle

import (
	"context"
	"errors"
	"sync"
)

// Service is a part of Liftoff that runs in the background.
type Service interface {
	// Start starts the part; ctx bounds the start itself, not the life
	// of the part, which lasts until Stop.
	Start(ctx context.Context) error
	// Stop stops the part and returns once it has stopped.
	Stop()
}

// Why a Start started nothing.
var (
	ErrStarted = errors.New("already started")
	ErrStopped = errors.New("stopped")
)

// Guard keeps the contract's bookkeeping for a part: whether it started
// and whether it stopped. The zero value is ready to use.
type Guard struct {
	mu               sync.Mutex
	started, stopped bool
}

// Start marks the part started, or says why it must not start.
func (g *Guard) Start() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.stopped:
		return ErrStopped
	case g.started:
		return ErrStarted
	}
	g.started = true
	return nil
}

// Stop marks the part stopped. It reports whether the part had started,
// and whether this is the first Stop (the one that should do the work).
func (g *Guard) Stop() (started, first bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	first = !g.stopped
	g.stopped = true
	return g.started, first
}

// Loop runs one background loop. The zero value is ready to use.
type Loop struct {
	guard Guard
	mu    sync.Mutex
	stop  chan struct{} // closed by Stop
	done  chan struct{} // closed when the loop has returned, or will never run
}

// chans makes the channels once and returns them.
func (l *Loop) chans() (stop, done chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done == nil {
		l.stop, l.done = make(chan struct{}), make(chan struct{})
	}
	return l.stop, l.done
}

// Start runs run in a goroutine, the first time it is called before Stop;
// otherwise it returns ErrStarted or ErrStopped. run returns once stop is
// closed.
func (l *Loop) Start(run func(stop <-chan struct{})) error {
	if err := l.guard.Start(); err != nil {
		return err
	}
	stop, done := l.chans()
	go func() {
		defer close(done)
		run(stop)
	}()
	return nil
}

// Stop asks the loop to stop and waits until run has returned; if it never
// started, it returns at once and the loop never will start.
func (l *Loop) Stop() {
	stop, done := l.chans()
	// The guard's lock orders this against Start: either run was started
	// (and closes done) or it never will be (and done is closed here).
	started, first := l.guard.Stop()
	if first {
		close(stop)
		if !started {
			close(done)
		}
	}
	<-done
}

// Done is closed once the loop has returned, or was stopped before it
// started: whoever waits on the loop (to hand it work) can give up then.
func (l *Loop) Done() <-chan struct{} {
	_, done := l.chans()
	return done
}
