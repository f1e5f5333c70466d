package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Unsandboxed, a program is found in the command's own PATH, as the
// sandbox's shell finds it, not in Liftoff's.
func TestLookPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{
		{"a/tool", 0o755},
		{"b/tool", 0o755},
		{"c/tool", 0o644}, // not executable: skipped
		{"work/bin/local", 0o755},
	} {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	work := filepath.Join(dir, "work")
	tests := []struct {
		name, program string
		env           []string
		want          string // "" for not found
	}{
		{"first PATH entry that has it", "tool", []string{"PATH=" + dir + "/a:" + dir + "/b"}, dir + "/a/tool"},
		{"not executable is skipped", "tool", []string{"PATH=" + dir + "/c:" + dir + "/b"}, dir + "/b/tool"},
		{"the last PATH wins", "tool", []string{"PATH=" + dir + "/a", "PATH=" + dir + "/b"}, dir + "/b/tool"},
		{"relative entry is relative to the directory", "local", []string{"PATH=bin"}, work + "/bin/local"},
		{"a name with a slash is used as is", "./bin/local", []string{"PATH=" + dir + "/a"}, "./bin/local"},
		{"not in PATH", "tool", []string{"PATH=" + dir + "/c"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := lookPath(tt.program, tt.env, work)
			if tt.want == "" {
				if !errors.Is(err, exec.ErrNotFound) {
					t.Errorf("lookPath = %q, %v; want exec.ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("lookPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
