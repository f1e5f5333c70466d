// Package pgnote tells whoever runs the tests without
// LIFTOFF_TEST_DATABASE_URL, once per go command, that the PostgreSQL tests
// skip and how to run them. It imports nothing of Liftoff, so every package
// whose tests use PostgreSQL can call it from TestMain.
package pgnote

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// EnvDatabaseURL names the environment variable that points the tests at a
// PostgreSQL server.
const EnvDatabaseURL = "LIFTOFF_TEST_DATABASE_URL"

// SkipNote is what a test run without LIFTOFF_TEST_DATABASE_URL prints, once.
const SkipNote = "PostgreSQL tests skipped: " + EnvDatabaseURL + " is not set. To run them too:\n" +
	"  " + EnvDatabaseURL + "='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test ./...\n"

// markerPrefix names the files in os.TempDir that say a go command already
// printed SkipNote.
const markerPrefix = "liftoff-postgres-skipped-"

// markerMaxAge is how long a marker is kept: past it, the go command that
// made it has long ended.
const markerMaxAge = 24 * time.Hour

// Main runs a package's tests, saying first, once per go command, that the
// PostgreSQL tests skip when LIFTOFF_TEST_DATABASE_URL is not set. A
// package whose tests open PostgreSQL calls it from TestMain:
//
//	func TestMain(m *testing.M) { pgnote.Main(m) }
func Main(m *testing.M) {
	NoteSkipped()
	os.Exit(m.Run())
}

// NoteSkipped prints SkipNote when LIFTOFF_TEST_DATABASE_URL is not set,
// once for all the test binaries one go command runs. go test shows a
// passing package's output only with -v, and each package's skips in it,
// so the note goes around it: to the terminal (/dev/tty), or where there is
// none to the go command's own standard error. The go command is the test
// binary's parent; an O_EXCL marker file named by its pid and start time
// makes the first binary to get there the only one to print.
func NoteSkipped() {
	if os.Getenv(EnvDatabaseURL) != "" {
		return
	}
	ppid := os.Getppid()
	noteOnce(os.TempDir(), commandKey(ppid), time.Now(), func() (io.WriteCloser, error) {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			return tty, nil
		}
		if !appendSafe(ppid) {
			return nil, errors.New("the go command's standard error is a file it does not append to")
		}
		return os.OpenFile("/proc/"+strconv.Itoa(ppid)+"/fd/2", os.O_WRONLY|os.O_APPEND, 0)
	})
}

// appendSafe reports whether writing at the end of process pid's standard
// error leaves what it writes there whole: a pipe, a terminal, or a file it
// appends to. A file it opened otherwise (go test ./... > log) has an offset
// of its own, so its next line would overwrite the note: better no note.
func appendSafe(pid int) bool {
	fd := "/proc/" + strconv.Itoa(pid) + "/fd/2"
	info, err := os.Stat(fd)
	if err != nil {
		return false
	}
	if !info.Mode().IsRegular() {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/fdinfo/2")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&syscall.O_APPEND != 0
		}
	}
	return false
}

// commandKey names the process pid for as long as it lives: its pid and,
// where /proc says it, its start time (pids are reused).
func commandKey(pid int) string {
	key := strconv.Itoa(pid)
	if b, err := os.ReadFile("/proc/" + key + "/stat"); err == nil {
		// The fields after the command name, which may hold spaces: the
		// start time is the 22nd field, the 20th after the name.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
			if f := strings.Fields(string(b[i+1:])); len(f) > 19 {
				key += "-" + f[19]
			}
		}
	}
	return key
}

// noteOnce writes SkipNote to what open opens unless a marker for key exists
// in dir, and makes the marker. Markers older than markerMaxAge are removed.
// It reports whether it printed.
func noteOnce(dir, key string, now time.Time, open func() (io.WriteCloser, error)) bool {
	removeOldMarkers(dir, now)
	f, err := os.OpenFile(filepath.Join(dir, markerPrefix+key), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		// Another test binary of the same go command printed it (or
		// the temp dir is not writable: then the skips say it, with -v).
		return false
	}
	_ = f.Close()
	w, err := open()
	if err != nil {
		return false
	}
	defer func() { _ = w.Close() }()
	_, err = fmt.Fprint(w, SkipNote)
	return err == nil
}

// removeOldMarkers removes the markers of go commands that ended long ago.
func removeOldMarkers(dir string, now time.Time) {
	old, _ := filepath.Glob(filepath.Join(dir, markerPrefix+"*"))
	for _, name := range old {
		info, err := os.Lstat(name)
		if err != nil || !info.Mode().IsRegular() || now.Sub(info.ModTime()) < markerMaxAge {
			continue
		}
		_ = os.Remove(name)
	}
}
