package local

import (
	"context"
	"os"
	"syscall"
)

// instance is one running copy of a release: a process group today (see
// process), a container later. Deploy and the supervisor start, watch and
// stop releases only through it, so another kind of instance plugs in
// beside process without touching them.
type instance interface {
	// Port is the loopback port it listens on; 0 when it listens on none.
	Port() int
	// Exited is closed once it has ended, on its own or stopped.
	Exited() <-chan struct{}
	// Stop ends it (gracefully, at once when ctx ends) and returns how it
	// ended, and whether ctx cut the stop short. It may be called more
	// than once, also after it exited on its own.
	Stop(ctx context.Context) (exit Exit, hurried bool)
}

// Exit is how an instance ended.
type Exit struct {
	// Code is the exit status, or -1 when it was killed by a signal or
	// its status is unknown.
	Code int
	// Text says it for people: "exited with status 3", "was killed by
	// signal killed".
	Text string
}

// exitOf reads a process's end.
func exitOf(s *os.ProcessState) Exit {
	e := Exit{Code: -1, Text: describeExit(s)}
	if s == nil {
		return e
	}
	if ws, ok := s.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return e
	}
	e.Code = s.ExitCode()
	return e
}

// Port, Exited and Stop make a process an instance.
func (p *process) Port() int               { return p.port }
func (p *process) Exited() <-chan struct{} { return p.exited }
func (p *process) Stop(ctx context.Context) (Exit, bool) {
	state, hurried := p.stop(ctx)
	return exitOf(state), hurried
}

var _ instance = (*process)(nil)
