package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSandboxGetsNoInheritedDescriptor: Go opens its own files
// close-on-exec, but a descriptor Liftoff inherited from whatever started
// it (a supervisor's pipe, a shell's `7<secrets.env`, systemd's sockets)
// is not, and every sandboxed command inherited it: a build read a file of
// the operator's through /proc/self/fd/7 that the sandbox does not show.
func TestSandboxGetsNoInheritedDescriptor(t *testing.T) {
	s := newBwrap(t, Config{})
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "operator-secret")
	if err := os.WriteFile(secret, []byte("operator's secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// As a parent process would leave it: without O_CLOEXEC.
	fd, err := syscall.Open(secret, syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	out, state, err := run(t, s, Command{Dir: dir, Env: []string{"PATH=/usr/bin:/bin"}, Args: sh(
		`cat /proc/self/fd/` + strconv.Itoa(fd) + ` 2>/dev/null; true`)})
	if err != nil || !state.Success() {
		t.Fatalf("Wait = %v, %v; output:\n%s", state, err, out)
	}
	if strings.Contains(out, "operator's secret") {
		t.Errorf("a sandboxed command read a descriptor Liftoff inherited (fd %d): %q", fd, out)
	}
}
