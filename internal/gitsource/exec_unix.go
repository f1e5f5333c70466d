//go:build unix

package gitsource

import (
	"os/exec"
	"syscall"
)

// isolateProcess starts git in a new session: it has no controlling terminal,
// so nothing it starts (ssh asking for a passphrase or a host key) can prompt,
// and it leads a process group, so cancelling kills git together with the
// helpers it spawned (ssh, git-remote-https, a local upload-pack), which
// would otherwise outlive it and hold its pipes open.
func isolateProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error {
		// The group id is the leader's pid. Kill the group, then make sure
		// of the leader (the group kill fails if it is already gone).
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return cmd.Process.Kill()
	}
}
