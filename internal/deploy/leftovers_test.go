package deploy

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/procgroup"
	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/sandbox/sandboxtest"
)

// TestKillLeftovers: the processes a deployment's steps left running are
// found by LIFTOFF_DEPLOYMENT_ID in their environment and killed, daemons
// included, unsandboxed and in a sandbox (whose processes carry it too,
// though bwrap's own environment is empty).
func TestKillLeftovers(t *testing.T) {
	t.Parallel()
	for _, mode := range []sandbox.Mode{sandbox.None, sandbox.Bwrap} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			var sb *sandbox.Sandbox
			if mode == sandbox.Bwrap {
				sb = sandboxtest.New(t, t.TempDir())
			}
			dir := t.TempDir()
			id := "cleftover" + strconv.FormatInt(time.Now().UnixNano(), 36)
			out, err := os.Create(filepath.Join(t.TempDir(), "output"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			p, err := sb.Start(sandbox.Command{Dir: dir, Output: out,
				Env:  []string{"PATH=/usr/bin:/bin", "LIFTOFF_DEPLOYMENT_ID=" + id},
				Args: []string{"/bin/sh", "-c", `d=daemon; setsid sh -c "sleep 300; : liftoff-$d:$PWD" >/dev/null 2>&1 </dev/null & sleep 300`}})
			if err != nil {
				t.Fatal(err)
			}
			waited := make(chan struct{})
			go func() { _, _ = p.Wait(); close(waited) }()
			defer func() { p.Kill(); <-waited }()
			daemon := findDaemon(t, "liftoff-daemon:"+dir)

			if n := killLeftovers([]string{id}); n == 0 {
				t.Fatal("killLeftovers found nothing")
			}
			select {
			case <-waited:
			case <-time.After(30 * time.Second):
				t.Fatal("the step still runs")
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				st, err := procgroup.ReadStat(daemon)
				if err != nil || !st.Live() {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the daemon %d outlived killLeftovers", daemon)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// findDaemon waits for the shell whose command line holds marker.
func findDaemon(t *testing.T, marker string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			comm, cerr := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			if err == nil && cerr == nil && string(comm) == "sh\n" && strings.Contains(string(b), marker) {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process runs %q", marker)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
