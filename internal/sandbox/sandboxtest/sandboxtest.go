// Package sandboxtest gives tests of other packages a bubblewrap sandbox.
package sandboxtest

import (
	"os/exec"
	"testing"

	"github.com/liftoffhq/liftoff/internal/sandbox"
)

// Skip skips the test on a host without bubblewrap, saying how to run it.
// Where bwrap is installed the sandbox must work: a broken one fails the
// tests rather than skipping them.
func Skip(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap is not installed: apt-get install bubblewrap to run the sandbox tests")
	}
}

// New returns a bwrap sandbox whose data dir is dataDir, or skips the test
// without bubblewrap.
func New(t testing.TB, dataDir string, binds ...string) *sandbox.Sandbox {
	t.Helper()
	Skip(t)
	s, err := sandbox.New(t.Context(), sandbox.Config{Mode: sandbox.Bwrap, DataDir: dataDir, Binds: binds})
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	return s
}
