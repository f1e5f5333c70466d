package pgnote

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// buffer is an io.WriteCloser that keeps what was written.
type buffer struct{ bytes.Buffer }

func (*buffer) Close() error { return nil }

// TestNoteOnce: the first test binary of a go command prints the note and
// the others of the same command do not; another command prints it again;
// markers of commands that ended long ago are removed, fresh ones kept.
func TestNoteOnce(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	var out buffer
	open := func() (io.WriteCloser, error) { return &out, nil }

	if !noteOnce(dir, "100-5", now, open) || out.String() != SkipNote {
		t.Fatalf("the first binary printed %q", out.String())
	}
	out.Reset()
	for range 3 {
		if noteOnce(dir, "100-5", now, open) || out.Len() != 0 {
			t.Fatalf("a later binary of the same go command printed %q", out.String())
		}
	}
	// The same pid, reused by a later go command (another start time).
	if !noteOnce(dir, "100-9", now, open) || out.String() != SkipNote {
		t.Fatalf("another go command printed %q", out.String())
	}

	stale := filepath.Join(dir, markerPrefix+"7-1")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(stale, now, now.Add(-markerMaxAge-time.Minute)); err != nil {
		t.Fatal(err)
	}
	noteOnce(dir, "200-1", now, open)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a day-old marker is kept: %v", err)
	}
	for _, fresh := range []string{"100-5", "100-9", "200-1"} {
		if _, err := os.Stat(filepath.Join(dir, markerPrefix+fresh)); err != nil {
			t.Errorf("marker %s: %v", fresh, err)
		}
	}

	// Nowhere to print: no note, no failure.
	if noteOnce(dir, "300-1", now, func() (io.WriteCloser, error) { return nil, os.ErrNotExist }) {
		t.Error("noteOnce printed with nowhere to print")
	}
}

// TestCommandKey: the key of a live process holds its pid and start time;
// one without /proc entry is its pid alone.
func TestCommandKey(t *testing.T) {
	pid := os.Getpid()
	key := commandKey(pid)
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		if len(key) <= len(strconv.Itoa(pid))+1 || key[:len(strconv.Itoa(pid))+1] != strconv.Itoa(pid)+"-" {
			t.Fatalf("commandKey(%d) = %q, want the pid and its start time", pid, key)
		}
		if again := commandKey(pid); again != key {
			t.Fatalf("commandKey changed: %q then %q", key, again)
		}
	}
	if key := commandKey(1 << 30); key != strconv.Itoa(1<<30) {
		t.Fatalf("commandKey of no process = %q", key)
	}
}

// TestAppendSafe: the note may go to a go command's standard error when it
// is a pipe or a file opened to append, never to a file it writes at its
// own offset (go test ./... > log), where its next line would overwrite it.
func TestAppendSafe(t *testing.T) {
	dir := t.TempDir()
	file := func(flag int) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(flag)), os.O_WRONLY|os.O_CREATE|flag, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		return f
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, c := range []struct {
		name   string
		stderr *os.File
		want   bool
	}{
		{"a file opened with >", file(os.O_TRUNC), false},
		{"a file opened with >>", file(os.O_APPEND), true},
		{"a pipe", pw, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A process whose standard error is c.stderr, as the go
			// command's would be; its /proc entry exists once Start returns.
			cmd := exec.Command("sleep", "60")
			cmd.Stderr = c.stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			if got := appendSafe(cmd.Process.Pid); got != c.want {
				t.Fatalf("appendSafe = %v, want %v", got, c.want)
			}
		})
	}
	if appendSafe(1 << 30) {
		t.Error("appendSafe of no process = true")
	}
}
