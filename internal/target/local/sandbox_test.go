package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/procgroup"
	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/sandbox/sandboxtest"
)

// sandboxHarness is a harness whose releases run in a bwrap sandbox over
// dataDir, with the runtime dir in it as Liftoff has it; testdata/server
// is shown to the sandbox.
func sandboxHarness(t *testing.T) (*harness, *sandbox.Sandbox, string) {
	t.Helper()
	dataDir := t.TempDir()
	sb := sandboxtest.New(t, dataDir, filepath.Dir(serverBin))
	h := newHarness(t, func(c *Config) {
		c.Dir = filepath.Join(dataDir, "runtime")
		c.Sandbox = sb
		c.StopGrace = 5 * time.Second
	})
	return h, sb, dataDir
}

// daemonThen is a start command that leaves a daemon behind, outside its
// process group and session (setsid), before it runs command. The
// daemon's command line holds "liftoff-daemon:<release dir>", the
// release's does not.
func daemonThen(command string) string {
	return sandboxtest.Daemon + " " + command
}

func expectDead(t *testing.T, pid int, what string) {
	t.Helper()
	if st, err := procgroup.ReadStat(pid); err == nil && st.Live() {
		t.Errorf("%s: process %d is alive", what, pid)
	}
}

// TestSandboxedReleaseDaemonsDie: a daemon a release started with setsid
// outlived the release when it was replaced, stopped, or when Liftoff shut
// down. In the sandbox it is gone by the time that returns.
func TestSandboxedReleaseDaemonsDie(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  func(t *testing.T, h *harness)
	}{
		{name: "redeploy", end: func(t *testing.T, h *harness) {
			next := serverRelease(t, production, "api", "v2")
			h.deploy(next)
			h.expectBody("api.production.localhost", "v2")
		}},
		{name: "stop", end: func(t *testing.T, h *harness) {
			if err := h.tg.StopInstance(context.Background(), production); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "shutdown", end: func(t *testing.T, h *harness) {
			if err := h.tg.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _, _ := sandboxHarness(t)
			rel := serverRelease(t, production, "api", "v1")
			rel.Service.StartCommand = config.Shell(daemonThen("exec " + rel.Service.StartCommand.Line))
			h.deploy(rel)
			h.expectBody("api.production.localhost", "v1")
			daemon := sandboxtest.ShellPid(t, sandboxtest.DaemonMarker(rel.Dir))
			tt.end(t, h)
			expectDead(t, daemon, "the daemon of the release")
		})
	}
}

// TestSandboxedReleaseSeesNothingOfLiftoff: a release runs with an empty
// parent environment and without the data dir (the runtime state of
// every release, the database) in sight.
func TestSandboxedReleaseSeesNothingOfLiftoff(t *testing.T) {
	t.Parallel()
	h, sb, dataDir := sandboxHarness(t)
	if err := os.WriteFile(filepath.Join(dataDir, "liftoff.db"), []byte("the database"), 0o600); err != nil {
		t.Fatal(err)
	}
	home, err := sb.Home("cproject", "production")
	if err != nil {
		t.Fatal(err)
	}
	rel := shellRelease(t, production, "worker", config.TypeWorker, fmt.Sprintf(
		`echo "ppid: $(tr '\0' ' ' < /proc/$PPID/environ)"; echo "home: $HOME"; cat %[1]s/liftoff.db; ls %[1]s/runtime/procs; echo checked; sleep 300`, dataDir))
	rel.Home = home
	h.deploy(rel)
	// The deployment's log has the release's output only until it is
	// healthy (a worker: once it ran for WorkerGrace), which on a loaded
	// machine comes before the script's end: read the service's log file,
	// which has all of it.
	var got string
	eventually(t, "the release to print checked", func() bool {
		b, _ := os.ReadFile(h.tg.LogPath(production, "worker"))
		got = string(b)
		return strings.Contains(got, " checked\n") // after the line's time
	})
	for _, want := range []string{" ppid: \n", " home: " + home + "\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("release output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "the database") || strings.Contains(got, ".json") {
		t.Errorf("the release saw the data dir:\n%s", got)
	}
}

// TestCleanupSandboxed plays a Liftoff that died and left a sandboxed
// release running: Cleanup stops it (SIGTERM to the release's processes,
// not to bwrap), and with it everything in its sandbox.
func TestCleanupSandboxed(t *testing.T) {
	t.Parallel()
	h, sb, _ := sandboxHarness(t)
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	sp, err := sb.Start(sandbox.Command{Args: []string{shell, "-c", daemonThen("trap 'echo terminated; exit 0' TERM; while :; do sleep 0.05; done")},
		Dir: dir, Env: []string{"PATH=/usr/bin:/bin", releaseIDVar + "=rel-1"}, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _, _ = sp.Wait(); close(waited) }()
	t.Cleanup(func() { sp.Kill(); <-waited })
	daemon := sandboxtest.ShellPid(t, sandboxtest.DaemonMarker(dir))
	st, err := procgroup.ReadStat(sp.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.tg.writeRecord(procRecord{PID: sp.Pid(), Group: sp.Group(), StartTime: st.StartTime, BootID: h.tg.bootID,
		Release: "rel-1", Instance: "production", Service: "api"}); err != nil {
		t.Fatal(err)
	}
	if err := h.tg.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		t.Fatal("the sandbox still runs after Cleanup")
	}
	expectDead(t, daemon, "the daemon of the leftover release")
	// The shell may also say its sleep was "Terminated".
	if b, _ := os.ReadFile(out.Name()); !strings.HasSuffix(string(b), "terminated\n") {
		t.Errorf("the release's output: %q, want it stopped with SIGTERM first", b)
	}
}
