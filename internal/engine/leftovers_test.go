package engine

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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
				Args: []string{"/bin/sh", "-c", sandboxtest.Daemon + " sleep 300"}})
			if err != nil {
				t.Fatal(err)
			}
			waited := make(chan struct{})
			go func() { _, _ = p.Wait(); close(waited) }()
			defer func() { p.Kill(); <-waited }()
			daemon := sandboxtest.ShellPid(t, sandboxtest.DaemonMarker(dir))

			if n := killLeftovers([]string{id}); n == 0 {
				t.Fatal("killLeftovers found nothing")
			}
			select {
			case <-waited:
			case <-time.After(30 * time.Second):
				t.Fatal("the step still runs")
			}
			sandboxtest.WaitGone(t, daemon, "the daemon after killLeftovers")
		})
	}
}
