package sandbox

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/procgroup"
)

// testWait bounds every wait: generous, so a loaded machine does not make
// a test flake; the tests check that things happen, not how fast.
const testWait = 20 * time.Second

// needBwrap skips a test on a host without bubblewrap. Where bwrap is
// installed it must work: a broken sandbox fails the tests.
func needBwrap(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap is not installed: apt-get install bubblewrap to run the sandbox tests")
	}
}

// newBwrap is a bwrap Sandbox over a data dir of the test's.
func newBwrap(t *testing.T, cfg Config) *Sandbox {
	t.Helper()
	needBwrap(t)
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.Mode = Bwrap
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s.Mode() != Bwrap {
		t.Fatalf("Mode = %s, want bwrap", s.Mode())
	}
	return s
}

// output collects what a command writes, through a pipe as Liftoff's
// runners do.
type output struct {
	w    *os.File
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	more chan struct{} // closed and replaced on every read
}

func newOutput(t *testing.T) *output {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	o := &output{w: w, done: make(chan struct{}), more: make(chan struct{})}
	go func() {
		defer close(o.done)
		defer r.Close()
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			o.mu.Lock()
			o.buf.Write(b[:n])
			close(o.more)
			o.more = make(chan struct{})
			o.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { w.Close() })
	return o
}

// started closes the test's copy of the write end: from then on the pipe
// ends when the command's processes are gone.
func (o *output) started() { o.w.Close() }

// all waits for the end of the output and returns it.
func (o *output) all(t *testing.T) string {
	t.Helper()
	select {
	case <-o.done:
	case <-time.After(testWait):
		t.Fatalf("the output did not end; so far:\n%s", o.String())
	}
	return o.String()
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output holds s.
func (o *output) waitFor(t *testing.T, s string) string {
	t.Helper()
	timeout := time.After(testWait)
	for {
		o.mu.Lock()
		out, more := o.buf.String(), o.more
		o.mu.Unlock()
		if strings.Contains(out, s) {
			return out
		}
		select {
		case <-more:
		case <-timeout:
			t.Fatalf("the output never held %q; it is:\n%s", s, out)
		}
	}
}

// run starts c with the sandbox and waits for it; it returns the output,
// the exit state and Wait's error.
func run(t *testing.T, s *Sandbox, c Command) (string, *os.ProcessState, error) {
	t.Helper()
	out := newOutput(t)
	c.Output = out.w
	p, err := s.Start(c)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	out.started()
	done := make(chan struct{})
	var state *os.ProcessState
	go func() {
		defer close(done)
		state, err = p.Wait()
	}()
	select {
	case <-done:
	case <-time.After(testWait):
		p.Kill()
		t.Fatalf("the command did not end; output:\n%s", out.String())
	}
	return out.all(t), state, err
}

// sh is a shell command line as Args.
func sh(cmd string) []string { return []string{"/bin/sh", "-c", cmd} }

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	st, err := procgroup.ReadStat(pid)
	return err == nil && st.Live()
}

// waitGone waits until pid is dead. Nothing notifies the end of a process
// that is not our child, so it polls.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d is still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hostPid finds the host's pid of a shell of the sandbox whose command
// line holds marker (inside, pids are the sandbox's own).
func hostPid(t *testing.T, marker string) int {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			// Once it runs sh, setsid has left the command's group.
			comm, cerr := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			if err == nil && cerr == nil && string(comm) == "sh\n" && strings.Contains(string(b), marker) && alive(pid) {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process runs %q", marker)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
