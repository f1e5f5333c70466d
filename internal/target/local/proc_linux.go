package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// procAttr puts a release in a process group of its own, so it can be
// stopped with everything it started, and has the kernel kill the shell if
// Liftoff dies. Pdeathsig reaches only the direct child: what the shell
// started survives a kill -9 of Liftoff, which is what the state files and
// Cleanup are for.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
}

// signalGroup sends sig to the process group pgid. ESRCH (the group is
// already empty) is the only expected error, and there is nothing to do
// about any other.
func signalGroup(pgid int, sig syscall.Signal) {
	if pgid <= 1 {
		// kill(-1) would signal every process we may signal: never.
		return
	}
	_ = syscall.Kill(-pgid, sig)
}

// waitExited blocks until the child pid has exited, without reaping it
// (waitid with WNOWAIT; exec.Cmd.Wait reaps it later). The unreaped leader
// keeps its pid, which is the group's id, from being reused, so signalling
// the group until then cannot hit a stranger.
func waitExited(pid int) {
	const pPID = 1     // idtype_t P_PID
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if errno != syscall.EINTR {
			// ECHILD (already reaped) or anything else: nothing to wait for.
			return
		}
	}
}

// procStat is what Liftoff needs from /proc/<pid>/stat.
type procStat struct {
	state     byte   // R, S, D, Z, ...
	pgrp      int    // process group id
	startTime uint64 // clock ticks after boot; with the pid it names one process
}

func (s procStat) live() bool { return s.state != 'Z' && s.state != 'X' }

// readProcStat reads /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// Fields from 3 (state) on; starttime is field 22.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	pgrp, err1 := strconv.Atoi(f[2])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return procStat{state: f[0][0], pgrp: pgrp, startTime: start}, nil
}

// groupMembers returns the live (not zombie) processes of process group
// pgid. Processes that vanish while /proc is read are skipped.
func groupMembers(pgid int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var out []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err == nil && st.pgrp == pgid && st.live() {
			out = append(out, pid)
		}
	}
	return out
}

// hasEnv reports whether the environment pid was started with holds the
// exact entry kv ("KEY=VALUE").
func hasEnv(pid int, kv string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for e := range bytes.SplitSeq(b, []byte{0}) {
		if string(e) == kv {
			return true
		}
	}
	return false
}

// readBootID identifies the current boot: start times in /proc count from
// it, and no process of an earlier boot survives.
func readBootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
