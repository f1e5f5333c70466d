// Package procgroup is what build steps, releases and the engine share about
// Linux processes: running a command in a process group of its own that the
// kernel kills with Liftoff, signalling a whole group, waiting for a child
// without reaping it, and reading /proc to find a group's members or the
// processes a deployment left behind.
package procgroup

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

// Attr puts a command in a process group of its own, so it can be stopped
// with everything it started, and has the kernel kill it if Liftoff dies.
//
// Pdeathsig reaches only the direct child (the shell): what the shell
// started survives a kill -9 of Liftoff, which is why callers record what
// they start and clean up at the next start. The kernel sends it when the
// thread that started the child exits (go.dev/issue/27505); Go ends a thread
// only when a goroutine locked to it (runtime.LockOSThread) exits, so
// commands must not be started from such a goroutine. The group also keeps
// children out of a terminal's foreground group, so a Ctrl-C reaches
// Liftoff, which stops them in order.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// Signal sends sig to the process group pgid. ESRCH (the group is already
// empty) is the only expected error, and there is nothing to do about any
// other.
func Signal(pgid int, sig syscall.Signal) {
	if pgid <= 1 {
		// kill(-1) would signal every process we may signal: never.
		return
	}
	_ = syscall.Kill(-pgid, sig)
}

// WaitExited blocks until the child pid has exited, without reaping it
// (waitid with WNOWAIT; exec.Cmd.Wait reaps it later). The unreaped leader
// keeps its pid, which is the group's id, from being reused by an unrelated
// process, so signalling the group until then cannot hit a stranger.
func WaitExited(pid int) {
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

// Stat is what Liftoff needs from /proc/<pid>/stat.
type Stat struct {
	State     byte   // R, S, D, Z, ...
	Pgrp      int    // process group id
	StartTime uint64 // clock ticks after boot; with the pid it names one process
}

// Live reports whether the process is neither a zombie nor dead.
func (s Stat) Live() bool { return s.State != 'Z' && s.State != 'X' }

// ReadStat reads /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// Fields from 3 (state) on; starttime is field 22.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	pgrp, err1 := strconv.Atoi(f[2])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return Stat{State: f[0][0], Pgrp: pgrp, StartTime: start}, nil
}

// pids lists the processes in /proc.
func pids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer func() { _ = d.Close() }()
	names, _ := d.Readdirnames(-1)
	out := make([]int, 0, len(names))
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// Members returns the live (not zombie) processes of process group pgid.
// Processes that vanish while /proc is read are skipped.
func Members(pgid int) []int {
	var out []int
	for _, pid := range pids() {
		st, err := ReadStat(pid)
		if err == nil && st.Pgrp == pgid && st.Live() {
			out = append(out, pid)
		}
	}
	return out
}

// HasEnv reports whether the environment pid was started with holds the
// exact entry kv ("KEY=VALUE"). Processes of other users cannot be read and
// never match.
func HasEnv(pid int, kv string) bool {
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

// WithEnv returns the live processes, other than this one, whose
// environment holds one of the entries kvs.
func WithEnv(kvs ...string) []int {
	self := os.Getpid()
	var out []int
	for _, pid := range pids() {
		if pid == self {
			continue
		}
		for _, kv := range kvs {
			if HasEnv(pid, kv) {
				if st, err := ReadStat(pid); err == nil && st.Live() {
					out = append(out, pid)
				}
				break
			}
		}
	}
	return out
}

// BootID identifies the current boot: start times in /proc count from it,
// and no process of an earlier boot survives.
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
