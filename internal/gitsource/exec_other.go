//go:build !unix

package gitsource

import "os/exec"

// isolateProcess relies on exec.CommandContext's default, which kills git
// only (not its helpers), on platforms without process groups.
func isolateProcess(*exec.Cmd) {}
