package local

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/liftoffhq/liftoff/internal/sandbox"
)

const (
	// shell runs start commands, as "sh -c COMMAND".
	shell = "/bin/sh"
	// releaseIDVar is set in every release's environment. Cleanup uses it
	// to recognise what is left of a release whose shell is gone.
	releaseIDVar = "LIFTOFF_RELEASE_ID"
	// killWait bounds the wait for a group to disappear after SIGKILL;
	// only a process stuck in the kernel takes longer.
	killWait = 5 * time.Second
	// outputGrace bounds how long a stopped release's output pipe may stay
	// open: only an unsandboxed process that left the group (setsid, a
	// daemon) can hold it that long, and what it writes later is dropped.
	// In a sandbox such a process dies with the release.
	outputGrace = 2 * time.Second
)

// process is a running start command: the shell, as leader of its own
// process group, and whatever it started, in a sandbox or not. One
// goroutine (supervise) owns its end: it signals the processes, reaps the
// leader, flushes the output and removes the state file, whether the
// process was asked to stop or exited on its own.
type process struct {
	sp        *sandbox.Process
	pid       int // of the leader (the shell, or bwrap); also its process group's id
	port      int // PORT it was given
	grace     time.Duration
	pipe      *os.File // read end of stdout and stderr
	out       *output
	statePath string
	log       *slog.Logger
	onDone    func()

	exited  <-chan struct{} // closed when the leader exited (not yet reaped)
	copied  chan struct{}   // closed when the output copy ended
	stopReq chan struct{}   // closed by stop
	hurry   chan struct{}   // closed when the stop must not wait any more
	done    chan struct{}   // closed when everything is gone and the leader reaped

	stopOnce, hurryOnce sync.Once

	state *os.ProcessState // the leader's end; set before done is closed
}

// stop ends the process group gracefully (SIGTERM, then SIGKILL after the
// grace period; at once when ctx ends) and returns the leader's exit state
// once the group is gone, and whether ctx cut the stop short.
func (p *process) stop(ctx context.Context) (state *os.ProcessState, hurried bool) {
	p.stopOnce.Do(func() { close(p.stopReq) })
	select {
	case <-p.done:
	case <-ctx.Done():
		p.hurryOnce.Do(func() { close(p.hurry) })
		hurried = true
		<-p.done
	}
	return p.state, hurried
}

// running reports whether the leader has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *process) copyOutput() {
	defer close(p.copied)
	_, _ = io.Copy(p.out, p.pipe)
}

func (p *process) supervise() {
	defer close(p.done)
	requested := false
	select {
	case <-p.exited:
	case <-p.stopReq:
		requested = true
	}
	// Also when the leader exited on its own: what it started goes too.
	p.sp.Terminate()
	grace := time.NewTimer(p.grace)
	defer grace.Stop()
	if !p.awaitGone(grace.C, p.hurry) {
		p.sp.Kill()
		kill := time.NewTimer(killWait)
		defer kill.Stop()
		p.awaitGone(kill.C, nil)
	}
	<-p.exited
	p.state, _ = p.sp.Wait() // reaps the leader

	out := time.NewTimer(outputGrace)
	select {
	case <-p.copied:
	case <-out.C:
	}
	out.Stop()
	p.pipe.Close()
	<-p.copied

	fmt.Fprintf(p.out, "==> %s\n", describeExit(p.state))
	p.out.finish()
	if p.statePath != "" {
		if err := os.Remove(p.statePath); err != nil && !os.IsNotExist(err) {
			p.log.Warn("local target: cannot remove state file", "path", p.statePath, "err", err)
		}
	}
	if !requested {
		p.log.Warn("local target: release exited on its own", "pid", p.pid, "status", describeExit(p.state))
	}
	p.onDone()
}

// awaitGone waits until the leader has exited and nothing of the release
// is left (see sandbox.Process.Gone). It reports false when timeout or
// hurry came first. Processes that are not our children cannot be waited
// for, so it polls.
func (p *process) awaitGone(timeout <-chan time.Time, hurry <-chan struct{}) bool {
	select {
	case <-p.exited:
	case <-timeout:
		return false
	case <-hurry:
		return false
	}
	delay := 5 * time.Millisecond
	for {
		if p.sp.Gone() {
			return true
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-timeout:
			t.Stop()
			return false
		case <-hurry:
			t.Stop()
			return false
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// describeExit says how a process ended, for people: "exited with status
// 3", "was killed by signal killed".
func describeExit(s *os.ProcessState) string {
	if s == nil {
		return "exited"
	}
	if ws, ok := s.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "was killed by signal " + ws.Signal().String()
	}
	return "exited with status " + strconv.Itoa(s.ExitCode())
}
