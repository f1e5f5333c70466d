package procgroup

import (
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestGroupAndEnv(t *testing.T) {
	t.Parallel()
	marker := "LIFTOFF_TEST_MARKER=" + t.Name() + time.Now().Format("150405.000000")
	cmd := exec.Command("/bin/sh", "-c", "sleep 60 & sleep 60")
	cmd.Env = append(os.Environ(), marker)
	cmd.SysProcAttr = Attr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { Signal(pgid, syscall.SIGKILL); _ = cmd.Wait() })

	deadline := time.Now().Add(10 * time.Second)
	for len(Members(pgid)) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	members := Members(pgid)
	if len(members) != 3 || !slices.Contains(members, pgid) {
		t.Fatalf("members of the group = %v, want the shell and its two sleeps", members)
	}
	withEnv := WithEnv(marker)
	slices.Sort(withEnv)
	slices.Sort(members)
	if !slices.Equal(withEnv, members) {
		t.Fatalf("WithEnv = %v, want %v", withEnv, members)
	}
	st, err := ReadStat(pgid)
	if err != nil || st.Pgrp != pgid || !st.Live() || st.StartTime == 0 {
		t.Fatalf("ReadStat = %+v, %v", st, err)
	}
	if len(WithEnv("LIFTOFF_TEST_MARKER=nobody")) != 0 {
		t.Fatal("WithEnv matched a marker nobody has")
	}

	Signal(pgid, syscall.SIGKILL)
	WaitExited(pgid)
	deadline = time.Now().Add(10 * time.Second)
	for len(Members(pgid)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if m := Members(pgid); len(m) > 0 {
		t.Fatalf("the group survived SIGKILL: %v", m)
	}
	Signal(1, syscall.SIGKILL) // refused: must not signal every process
	Signal(0, syscall.SIGKILL)
	if BootID() == "" {
		t.Fatal("no boot id")
	}
}
