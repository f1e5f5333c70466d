package build

import (
	"syscall"
	"unsafe"
)

// procAttr puts a step in a process group of its own, so it can be stopped
// with everything it started, and has the kernel kill it if Liftoff dies.
//
// Pdeathsig reaches only the direct child (the shell). Processes the shell
// started are not covered: that is what the group kill is for while Liftoff
// runs, and processes orphaned by a kill -9 of Liftoff are the engine's to
// clean up when it starts again. The kernel sends it when the thread that
// started the child exits (go.dev/issue/27505); Go ends a thread only when
// a goroutine locked to it (runtime.LockOSThread) exits, so Run must not be
// called from such a goroutine.
//
// The group also keeps steps out of the terminal's foreground group when
// Liftoff runs in one, so a Ctrl-C reaches Liftoff, which then stops them
// in order, rather than the steps directly.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
}

// terminateGroup sends SIGTERM to the process group pgid.
func terminateGroup(pgid int) { signalGroup(pgid, syscall.SIGTERM) }

// killGroup sends SIGKILL to the process group pgid.
func killGroup(pgid int) { signalGroup(pgid, syscall.SIGKILL) }

func signalGroup(pgid int, sig syscall.Signal) {
	// ESRCH (the group is already empty) is the only expected error, and
	// there is nothing to do about any other.
	_ = syscall.Kill(-pgid, sig)
}

// waitExited blocks until the child pid has exited, without reaping it
// (waitid with WNOWAIT; exec.Cmd.Wait reaps it later). A zombie leader
// keeps its pid, which is the group's id, from being reused by an unrelated
// process, so signalling the group afterwards cannot hit a stranger.
func waitExited(pid int) {
	const pPID = 1     // idtype_t P_PID
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if errno != syscall.EINTR {
			// Any other error (ECHILD: already reaped) means there is
			// nothing left to wait for.
			return
		}
	}
}
