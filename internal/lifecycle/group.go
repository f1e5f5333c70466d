package lifecycle

import (
	"context"
	"sync"
)

// Group is a Service made of parts: Start starts them in order, Stop stops
// them in reverse, so that each part starts after, and stops before, the
// parts it uses.
//
// Stop stops every part, started or not: a part may hold what it was built
// with (an open store, a listener) before it starts, and the contract
// makes Stop safe before Start. For the same reason a Start that fails
// stops every part, the failed one included, and returns its error as it
// is; the group is stopped then.
type Group struct {
	parts []Service
	// mu serialises Start and Stop: a Stop during Start waits for Start
	// to return, then stops what it started.
	mu    sync.Mutex
	guard Guard
}

// NewGroup returns a group of parts, in the order they start.
func NewGroup(parts ...Service) *Group {
	return &Group{parts: parts}
}

// Start starts the parts in order. When one fails, every part is stopped
// and its error returned.
func (g *Group) Start(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.guard.Start(); err != nil {
		return err
	}
	for _, p := range g.parts {
		if err := p.Start(ctx); err != nil {
			g.stop()
			return err
		}
	}
	return nil
}

// Stop stops the parts in reverse order and returns once all have stopped.
func (g *Group) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stop()
}

// stop stops the parts, once; g.mu is held.
func (g *Group) stop() {
	if _, first := g.guard.Stop(); !first {
		return
	}
	for i := len(g.parts) - 1; i >= 0; i-- {
		g.parts[i].Stop()
	}
}

// Funcs makes a Service of two functions, for parts that are not types of
// their own (an HTTP server, a store to close last). Either may be nil.
// It keeps the contract: StartFunc runs at most once, StopFunc exactly
// once on the first Stop, never while StartFunc runs.
type Funcs struct {
	StartFunc func(ctx context.Context) error
	// StopFunc is told whether StartFunc was called: when it was not,
	// there is nothing to wind down, only what was built to release.
	StopFunc func(started bool)
	mu       sync.Mutex
	guard    Guard
}

// Start runs StartFunc the first time it is called before Stop.
func (f *Funcs) Start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.guard.Start(); err != nil {
		return err
	}
	if f.StartFunc == nil {
		return nil
	}
	return f.StartFunc(ctx)
}

// Stop runs StopFunc the first time it is called.
func (f *Funcs) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	started, first := f.guard.Stop()
	if first && f.StopFunc != nil {
		f.StopFunc(started)
	}
}
