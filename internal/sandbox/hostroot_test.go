package sandbox

import (
	"os"
	"strings"
	"testing"
)

// TestSandboxCannotWriteKernelSettings: run as root, bwrap maps the
// sandbox's uid 0 to the host's uid 0, and the kernel lets the global root
// uid write /proc/sys without any capability. A build could then set
// kernel.core_pattern to a program of its checkout and have the kernel run
// it as root on the host at the next crash. Nothing in /proc/sys, nor
// /proc/sysrq-trigger, may be writable in the sandbox. (The check only
// asks access(2); it never writes.)
func TestSandboxCannotWriteKernelSettings(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root's sandbox maps to the host's uid 0; run the tests as root to check it")
	}
	s := newBwrap(t, Config{})
	dir := t.TempDir()
	out, state, err := run(t, s, Command{Dir: dir, Env: []string{"PATH=/usr/bin:/bin"}, Args: sh(
		`for f in /proc/sys/kernel/core_pattern /proc/sys/kernel/modprobe /proc/sys/vm/drop_caches /proc/sys/kernel/printk_ratelimit /proc/sysrq-trigger; do
			if [ -e "$f" ] && [ -w "$f" ]; then echo "writable: $f"; fi
		done`)})
	if err != nil || !state.Success() {
		t.Fatalf("Wait = %v, %v; output:\n%s", state, err, out)
	}
	if strings.Contains(out, "writable:") {
		t.Errorf("a sandboxed command may change the host's kernel settings:\n%s", out)
	}
}
