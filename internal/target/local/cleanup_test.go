package local

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/procgroup"
)

// TestCleanup plays a Liftoff killed with -9: a process group is started
// as Deploy starts one, recorded as Deploy records it, and left behind.
func TestCleanup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		killLeader bool // the kernel killed the shell (Pdeathsig); its children live on
		mangle     func(*procRecord)
		wantKilled bool
	}{
		{name: "leader alive", wantKilled: true},
		{name: "leader gone", killLeader: true, wantKilled: true},
		{name: "pid reused", mangle: func(r *procRecord) { r.StartTime-- }},
		{name: "other boot", mangle: func(r *procRecord) { r.BootID = "another-boot" }},
		{name: "leader gone, other release", killLeader: true, mangle: func(r *procRecord) { r.Release = "someone-else" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.StopGrace = 5 * time.Second })
			cmd := exec.Command(shell, "-c", "sleep 300 & sleep 300 & wait")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), releaseIDVar + "=rel-1"}
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := cmd.Process.Pid
			reaped := make(chan struct{})
			go func() { _ = cmd.Wait(); close(reaped) }()
			t.Cleanup(func() {
				// Only while the group has members: then its id is still ours.
				if len(procgroup.Members(pid)) > 0 {
					procgroup.Signal(pid, syscall.SIGKILL)
				}
				<-reaped
			})
			st, err := procgroup.ReadStat(pid)
			if err != nil {
				t.Fatal(err)
			}
			rec := procRecord{PID: pid, StartTime: st.StartTime, BootID: h.tg.bootID,
				Release: "rel-1", Instance: "production", Service: "api", Command: "sleep"}
			if tc.mangle != nil {
				tc.mangle(&rec)
			}
			path, err := h.tg.writeRecord(rec)
			if err != nil {
				t.Fatal(err)
			}
			// Both sleeps must be in the group before the shell goes.
			eventually(t, "the shell to start its children", func() bool { return len(procgroup.Members(pid)) == 3 })
			if tc.killLeader {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				<-reaped
				if len(procgroup.Members(pid)) != 2 {
					t.Fatalf("group after the leader's death: %v", procgroup.Members(pid))
				}
			}

			if err := h.tg.Cleanup(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tc.wantKilled {
				expectGroupGone(t, pid, "the leftover group")
			} else {
				expectGroupAlive(t, pid, "a group that is not the recorded one")
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("state file still there after Cleanup (%v)", err)
			}
		})
	}
}

func TestCleanupLeavesOwnReleasesAndJunk(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rel := serverRelease(t, production, "api", "v1")
	h.deploy(rel)
	procs := filepath.Join(h.dir, "procs")
	for name, content := range map[string]string{"junk.json": "{", "1.json": `{"pid":1}`, "x.json.tmp": "{}"} {
		if err := os.WriteFile(filepath.Join(procs, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.tg.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.expectBody("api.production.localhost", "v1")
	entries, _ := os.ReadDir(procs)
	pid := h.current(production, "api").proc().pid
	if len(entries) != 1 || entries[0].Name() != strconv.Itoa(pid)+".json" {
		t.Errorf("procs/ after Cleanup: %v, want only the running release's state file", entries)
	}
}
