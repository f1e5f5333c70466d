package steps

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testWait bounds every wait in these tests. It is generous on purpose: the
// tests check that things happen, not how fast, so a loaded machine does not
// make them flake.
const testWait = 20 * time.Second

// liveOutput is an Output that tests can watch while Run writes to it.
type liveOutput struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
	closed  bool          // set when Run has returned
	late    []byte        // written after closed
}

func newLiveOutput() *liveOutput {
	return &liveOutput{changed: make(chan struct{})}
}

func (o *liveOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		o.late = append(o.late, p...)
	}
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// close records that Run has returned; later writes are reported by
// lateWrites.
func (o *liveOutput) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
}

func (o *liveOutput) lateWrites() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.late)
}

func (o *liveOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output contains s and returns the output so far.
func (o *liveOutput) waitFor(t *testing.T, s string) string {
	t.Helper()
	timeout := time.After(testWait)
	for {
		o.mu.Lock()
		out, changed := o.buf.String(), o.changed
		o.mu.Unlock()
		if strings.Contains(out, s) {
			return out
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("output never contained %q; got:\n%s", s, out)
		}
	}
}

// pidLine waits for the output line that a step printed with `echo $$`
// (the first line after the header that is a number) and returns it.
func (o *liveOutput) pidLine(t *testing.T) int {
	t.Helper()
	timeout := time.After(testWait)
	for {
		o.mu.Lock()
		out, changed := o.buf.String(), o.changed
		o.mu.Unlock()
		for line := range strings.Lines(out) {
			if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && strings.HasSuffix(line, "\n") {
				return pid
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("step never printed its pid; output:\n%s", out)
		}
	}
}

// runAsync starts Run and returns a channel that receives its error; the
// output is closed when Run returns.
func runAsync(ctx context.Context, spec Spec, out *liveOutput) <-chan error {
	done := make(chan error, 1)
	go func() {
		err := Run(ctx, spec)
		out.close()
		done <- err
	}()
	return done
}

// waitRun waits for the result of runAsync.
func waitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(testWait):
		t.Fatalf("Run did not return within %v", testWait)
		return nil
	}
}

// proc is a process as /proc/<pid>/stat describes it.
type proc struct {
	pid   int
	comm  string
	state byte // R, S, D, Z (zombie), X (dead) ...
	pgrp  int
}

// alive reports whether the process can still run code: zombies are dead
// processes nobody has reaped yet (orphans wait for the container's PID 1,
// which may never reap them).
func (p proc) alive() bool { return p.state != 'Z' && p.state != 'X' }

// readProc reads /proc/<pid>/stat; ok is false if the process is gone.
func readProc(pid int) (p proc, ok bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return proc{}, false
	}
	// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return proc{}, false
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 3 {
		return proc{}, false
	}
	pgrp, err := strconv.Atoi(fields[2])
	if err != nil {
		return proc{}, false
	}
	return proc{pid: pid, comm: s[open+1 : end], state: fields[0][0], pgrp: pgrp}, true
}

// liveGroupMembers lists the live processes of the process group pgid.
func liveGroupMembers(t *testing.T, pgid int) []proc {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var members []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && p.pgrp == pgid && p.alive() {
			members = append(members, p)
		}
	}
	return members
}

// waitGroupMembers waits until the group pgid has at least n live processes
// named comm. The kernel offers no notification for this, so it polls.
func waitGroupMembers(t *testing.T, pgid int, comm string, n int) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		count := 0
		for _, p := range liveGroupMembers(t, pgid) {
			if p.comm == comm {
				count++
			}
		}
		if count >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %d never had %d live %q processes", pgid, n, comm)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertGroupGone checks that nothing in the group pgid is alive. Run
// returns once the group was killed and its output closed; a killed process
// may still be finishing its exit in the kernel for a moment, so this allows
// that moment (polling, as nothing notifies) but no more than testWait.
func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		members := liveGroupMembers(t, pgid)
		if len(members) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has live processes: %+v", pgid, members)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
