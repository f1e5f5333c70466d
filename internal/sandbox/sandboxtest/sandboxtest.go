// Package sandboxtest gives tests of other packages a bubblewrap sandbox.
package sandboxtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/procgroup"
	"github.com/liftoffhq/liftoff/internal/sandbox"
)

// Skip skips the test on a host without bubblewrap, saying how to run it.
// Where bwrap is installed the sandbox must work: a broken one fails the
// tests rather than skipping them.
func Skip(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap is not installed: apt-get install bubblewrap to run the sandbox tests")
	}
}

// New returns a bwrap sandbox whose data dir is dataDir, or skips the test
// without bubblewrap.
func New(t testing.TB, dataDir string, binds ...string) *sandbox.Sandbox {
	t.Helper()
	Skip(t)
	s, err := sandbox.New(t.Context(), sandbox.Config{Mode: sandbox.Bwrap, DataDir: dataDir, Binds: binds})
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	return s
}

// Wait bounds how long the helpers below wait for a process to appear or
// go. It is long: the machine running the tests may be loaded.
const Wait = time.Minute

// Alive reports whether pid is a live (not zombie) process.
func Alive(pid int) bool {
	st, err := procgroup.ReadStat(pid)
	return err == nil && st.Live()
}

// ShellPid waits for the live shell whose command line holds marker and
// returns its host pid: tests start daemons as `setsid sh -c "sleep 300;
// : <marker>"` to find them again (inside a sandbox pids are the
// sandbox's own). Nothing announces a process that is not our child, so it
// polls /proc.
func ShellPid(t testing.TB, marker string) int {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			// Once it runs sh, setsid has left the step's group.
			comm, cerr := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			if err == nil && cerr == nil && string(comm) == "sh\n" && strings.Contains(string(cmdline), marker) && Alive(pid) {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no shell runs %q", marker)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitGone waits until pid is dead, and fails the test after Wait.
func WaitGone(t testing.TB, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for Alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: process %d is still alive", what, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Daemon is a shell command that starts a daemon: a shell that leaves the
// command's process group (setsid) and sleeps for 5 minutes. Run it in
// dir, then find it with ShellPid(t, DaemonMarker(dir)).
const Daemon = `d=daemon; setsid sh -c "sleep 300; : liftoff-$d:$PWD" >/dev/null 2>&1 </dev/null &`

// DaemonMarker is what the command line of a Daemon started in dir holds.
// ("liftoff-$d" in Daemon keeps the shell that starts it from matching.)
func DaemonMarker(dir string) string { return "liftoff-daemon:" + dir }
