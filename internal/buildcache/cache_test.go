package buildcache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logLines collects what a lease logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *logLines) has(t *testing.T, sub string) {
	t.Helper()
	if !strings.Contains(l.String(), sub) {
		t.Errorf("the log does not say %q:\n%s", sub, l)
	}
}

func newManager(t *testing.T, max int64) *Manager {
	t.Helper()
	m, err := New(Config{Dir: filepath.Join(t.TempDir(), "buildcache"), MaxSize: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Wait) // before the temporary directory goes
	return m
}

var prod = Key{Project: "p1", Environment: "production", Service: "web"}

// build opens k's cache, lets fn write its working copy, and commits it
// when fn returns nil (a successful build), as the engine does.
func build(t *testing.T, m *Manager, k Key, o Options, fn func(work string) error) *Lease {
	t.Helper()
	l, err := m.Open(t.Context(), k, o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := fn(l.Dir()); err != nil {
		return l
	}
	if err := l.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	return l
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Ino
}

func TestSavedCacheIsRestoredAndLinked(t *testing.T) {
	m := newManager(t, 1<<30)
	var log logLines
	build(t, m, prod, Options{Log: log.printf}, func(work string) error {
		write(t, filepath.Join(work, "go/build/ab/entry"), "compiled")
		return nil
	})
	log.has(t, "none saved yet, building cold")
	log.has(t, "Build cache of web saved")

	l, err := m.Open(t.Context(), prod, Options{Log: log.printf})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Restored(); got != "own" {
		t.Errorf("Restored() = %q, want own", got)
	}
	got := filepath.Join(l.Dir(), "go/build/ab/entry")
	if read(t, got) != "compiled" {
		t.Errorf("restored entry = %q", read(t, got))
	}
	// A link, not a copy: restoring costs no bytes.
	if inode(t, got) != inode(t, filepath.Join(l.savedPath(), "go/build/ab/entry")) {
		t.Error("the working copy's file is not a hard link to the saved one")
	}
	if exists(filepath.Join(l.Dir(), manifestName)) {
		t.Error("the manifest was copied into the working copy")
	}
	log.has(t, "Build cache of web restored")
	// The working copy is always at the same path: tools record it.
	if want := filepath.Join(m.Dir(), "p1", "production", "web", "work"); l.Dir() != want {
		t.Errorf("Dir() = %s, want %s", l.Dir(), want)
	}
}

func TestAFailedBuildLeavesTheSavedCache(t *testing.T) {
	m := newManager(t, 1<<30)
	build(t, m, prod, Options{}, func(work string) error {
		write(t, filepath.Join(work, "npm/a"), "v1")
		return nil
	})
	build(t, m, prod, Options{}, func(work string) error {
		// A new file, and a file replaced (npm and Go replace by rename).
		write(t, filepath.Join(work, "npm/half"), "half-writ")
		if err := os.Remove(filepath.Join(work, "npm/a")); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(work, "npm/a"), "v2")
		return errors.New("build failed")
	})
	l, err := m.Open(t.Context(), prod, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := read(t, filepath.Join(l.Dir(), "npm/a")); got != "v1" {
		t.Errorf("after a failed build the cache holds %q, want v1", got)
	}
	if exists(filepath.Join(l.Dir(), "npm/half")) {
		t.Error("what the failed build wrote was saved")
	}
}

// TestAFailedBuildThatWroteInPlace: a build that writes into a restored
// file in place writes the saved cache's file too (they are one file):
// if it then fails, its next build finds the saved cache changed and
// drops it rather than build from what a failed build half wrote.
func TestAFailedBuildThatWroteInPlace(t *testing.T) {
	m := newManager(t, 1<<30)
	build(t, m, prod, Options{}, func(work string) error {
		write(t, filepath.Join(work, "go/build/index"), "entry 1\n")
		return nil
	})
	build(t, m, prod, Options{}, func(work string) error {
		f, err := os.OpenFile(filepath.Join(work, "go/build/index"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString("entry 2, half wri")
		_ = f.Close()
		return errors.New("killed")
	})
	var log logLines
	l, err := m.Open(t.Context(), prod, Options{Log: log.printf})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	log.has(t, "could not be restored (its files changed since it was saved")
	log.has(t, "dropped, building cold")
	if exists(filepath.Join(l.Dir(), "go/build/index")) {
		t.Error("the changed cache was restored")
	}
}

func TestALeftoverWorkingCopyIsNeverUsed(t *testing.T) {
	m := newManager(t, 1<<30)
	build(t, m, prod, Options{}, func(work string) error {
		write(t, filepath.Join(work, "pip/x"), "saved")
		return nil
	})
	// Liftoff died mid-build: its working copy is still there.
	l, err := m.Open(t.Context(), prod, Options{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(l.Dir(), "pip/half"), "half")
	l.release() // no Close: as if the process had died
	m2, err := New(Config{Dir: m.Dir(), MaxSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m2.Wait)
	l2, err := m2.Open(t.Context(), prod, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if exists(filepath.Join(l2.Dir(), "pip/half")) {
		t.Error("the half-written working copy was used")
	}
	if got := read(t, filepath.Join(l2.Dir(), "pip/x")); got != "saved" {
		t.Errorf("pip/x = %q", got)
	}
}

func TestCorruptCacheIsDroppedAndTheBuildRunsCold(t *testing.T) {
	cases := []struct {
		name    string
		corrupt func(t *testing.T, saved string)
		says    string
	}{
		{"save never finished: no manifest", func(t *testing.T, saved string) {
			if err := os.Remove(filepath.Join(saved, manifestName)); err != nil {
				t.Fatal(err)
			}
		}, "its save never finished"},
		{"manifest garbage", func(t *testing.T, saved string) {
			write(t, filepath.Join(saved, manifestName), "\x00\x01not json")
		}, "its manifest is not valid"},
		{"another format", func(t *testing.T, saved string) {
			write(t, filepath.Join(saved, manifestName), `{"version": 99}`)
		}, "it is of format 99"},
		{"not a directory", func(t *testing.T, saved string) {
			if err := removeTree(saved); err != nil {
				t.Fatal(err)
			}
			write(t, saved, "garbage")
		}, "it is not a directory"},
		{"a directory that cannot be read", func(t *testing.T, saved string) {
			if os.Geteuid() == 0 {
				t.Skip("permissions do not stop root from reading")
			}
			if err := os.Chmod(filepath.Join(saved, "go"), 0); err != nil {
				t.Fatal(err)
			}
		}, "permission denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, 1<<30)
			build(t, m, prod, Options{}, func(work string) error {
				write(t, filepath.Join(work, "go/build/x"), "data")
				return nil
			})
			saved := filepath.Join(m.Dir(), "p1", "production", "web", savedName)
			tc.corrupt(t, saved)

			var log logLines
			l, err := m.Open(t.Context(), prod, Options{Log: log.printf})
			if err != nil {
				t.Fatalf("Open failed on a corrupt cache: %v", err)
			}
			defer l.Close()
			log.has(t, "could not be restored")
			log.has(t, tc.says)
			log.has(t, "dropped, building cold")
			if l.Restored() != "" {
				t.Errorf("Restored() = %q, want cold", l.Restored())
			}
			if entries, err := os.ReadDir(l.Dir()); err != nil || len(entries) != 0 {
				t.Errorf("the working copy is not empty: %v %v", entries, err)
			}
			if exists(saved) {
				t.Error("the corrupt cache was not dropped")
			}
			// The build goes on and saves a good one.
			write(t, filepath.Join(l.Dir(), "go/build/x"), "fresh")
			if err := l.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := read(t, filepath.Join(saved, "go/build/x")); got != "fresh" {
				t.Errorf("saved %q", got)
			}
		})
	}
}

func TestClearStartsEmpty(t *testing.T) {
	m := newManager(t, 1<<30)
	build(t, m, prod, Options{}, func(work string) error {
		// Go's module cache is read-only: clearing must remove it all the same.
		write(t, filepath.Join(work, "go/mod/example.com/m@v1/f.go"), "package m")
		if err := os.Chmod(filepath.Join(work, "go/mod/example.com/m@v1/f.go"), 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(work, "go/mod/example.com/m@v1"), 0o555); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	var log logLines
	l, err := m.Open(t.Context(), prod, Options{Clear: true, Seed: &Key{Project: "p1", Environment: "staging", Service: "web"}, Log: log.printf})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	log.has(t, "cleared (clearCache)")
	if exists(filepath.Join(l.Dir(), "go")) || exists(l.savedPath()) {
		t.Error("clearCache kept the cache")
	}
}

func TestPreviewReadsProductionAndWritesItsOwn(t *testing.T) {
	m := newManager(t, 1<<30)
	prodCheckout := t.TempDir()
	write(t, filepath.Join(prodCheckout, "node_modules/pkg/index.js"), "module.exports = 1")
	build(t, m, prod, Options{}, func(work string) error {
		write(t, filepath.Join(work, "npm/shared"), "production")
		return nil
	})
	l1, err := m.Open(t.Context(), prod, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l1.SaveDirs(prodCheckout, prodCheckout, []string{"node_modules"})
	if err := l1.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	l1.Close()
	prodSaved := filepath.Join(m.Dir(), "p1", "production", "web", savedName)
	preview := Key{Project: "p1", Environment: "preview", PR: 12, Service: "web"}
	var log logLines
	l, err := m.Open(t.Context(), preview, Options{Seed: &prod, Log: log.printf})
	if err != nil {
		t.Fatal(err)
	}
	log.has(t, "starts from a copy of production/web's")
	if l.Restored() != "seed" {
		t.Errorf("Restored() = %q, want seed", l.Restored())
	}
	shared := filepath.Join(l.Dir(), "npm/shared")
	if read(t, shared) != "production" {
		t.Fatalf("npm/shared = %q", read(t, shared))
	}
	if inode(t, shared) == inode(t, filepath.Join(prodSaved, "npm/shared")) {
		t.Fatal("the preview's copy shares a file with production's cache")
	}
	// Writing in place, as a tool repairing an entry would.
	if err := os.WriteFile(shared, []byte("poisoned by the PR"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkout := t.TempDir()
	l.RestoreDirs(checkout, checkout, []string{"node_modules"})
	if got := read(t, filepath.Join(checkout, "node_modules/pkg/index.js")); got != "module.exports = 1" {
		t.Errorf("production's node_modules restored as %q", got)
	}
	if inode(t, filepath.Join(checkout, "node_modules/pkg/index.js")) == inode(t, filepath.Join(prodSaved, "dirs", dirKey("node_modules"), "pkg/index.js")) {
		t.Error("the preview's node_modules shares a file with production's cache")
	}
	if err := l.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if got := read(t, filepath.Join(prodSaved, "npm/shared")); got != "production" {
		t.Errorf("production's cache holds %q after the preview's build", got)
	}
	// The next build of the preview reads its own.
	l2, err := m.Open(t.Context(), preview, Options{Seed: &prod})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.Restored() != "own" || read(t, filepath.Join(l2.Dir(), "npm/shared")) != "poisoned by the PR" {
		t.Errorf("the preview's second build restored %q: %q", l2.Restored(), read(t, filepath.Join(l2.Dir(), "npm/shared")))
	}
	if want := filepath.Join(m.Dir(), "p1", "preview.pr-12", "web", "work"); l2.Dir() != want {
		t.Errorf("Dir() = %s, want %s", l2.Dir(), want)
	}
}

func TestOneBuildHoldsACache(t *testing.T) {
	m := newManager(t, 1<<30)
	l, err := m.Open(t.Context(), prod, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Open(t.Context(), prod, Options{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open: %v, want ErrBusy", err)
	}
	l.Close()
	l2, err := m.Open(t.Context(), prod, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l2.Close()
}

func TestLeastRecentlyUsedCachesGoFirst(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	m, err := New(Config{Dir: t.TempDir(), MaxSize: 2500, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Wait)
	key := func(s string) Key { return Key{Project: "p1", Environment: "production", Service: s} }
	fill := func(s string) {
		t.Helper()
		now = now.Add(time.Minute)
		build(t, m, key(s), Options{}, func(work string) error {
			write(t, filepath.Join(work, "npm/blob"), strings.Repeat("x", 1000))
			return nil
		})
	}
	fill("a")
	fill("b")
	// a is used again (a build that failed still used it): b is now the
	// least recently used.
	now = now.Add(time.Minute)
	build(t, m, key("a"), Options{}, func(string) error { return errors.New("failed") })
	// c is held by a build while d is saved: c is never evicted then.
	now = now.Add(time.Minute)
	held, err := m.Open(t.Context(), key("c"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var log logLines
	now = now.Add(time.Minute)
	build(t, m, key("d"), Options{Log: log.printf}, func(work string) error {
		write(t, filepath.Join(work, "npm/blob"), strings.Repeat("x", 1000))
		return nil
	})
	held.Close()
	log.has(t, "removed to stay within 2.4 KiB (least recently used first): production/b")
	for s, want := range map[string]bool{"a": true, "b": false, "d": true} {
		if got := exists(filepath.Join(m.Dir(), "p1", "production", s, savedName)); got != want {
			t.Errorf("cache %s kept: %v, want %v", s, got, want)
		}
	}
	size, count, err := m.Usage()
	if err != nil || size != 2000 || count != 2 {
		t.Errorf("Usage() = %d, %d, %v; want 2000, 2", size, count, err)
	}
}

func TestACacheLargerThanTheBoundIsNotSaved(t *testing.T) {
	m := newManager(t, 100)
	build(t, m, prod, Options{}, func(work string) error {
		write(t, filepath.Join(work, "npm/small"), "ok")
		return nil
	})
	var log logLines
	build(t, m, prod, Options{Log: log.printf}, func(work string) error {
		write(t, filepath.Join(work, "npm/big"), strings.Repeat("x", 200))
		return nil
	})
	log.has(t, "not saved: at 202 B it is larger than the bound of all caches (100 B")
	saved := filepath.Join(m.Dir(), "p1", "production", "web", savedName)
	if !exists(filepath.Join(saved, "npm/small")) || exists(filepath.Join(saved, "npm/big")) {
		t.Error("the oversized cache replaced the saved one")
	}
}

func TestCacheDirectoriesRoundTrip(t *testing.T) {
	m := newManager(t, 1<<30)
	root := t.TempDir()
	base := filepath.Join(root, "apps", "web")
	write(t, filepath.Join(base, "node_modules/left-pad/index.js"), "pad")
	write(t, filepath.Join(base, ".next/cache/webpack/pack"), "pack")
	if err := os.Symlink("../left-pad/index.js", filepath.Join(base, "node_modules/.bin-pad")); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(base, "node_modules/left-pad/index.js"), old, old); err != nil {
		t.Fatal(err)
	}
	paths := []string{"node_modules", ".next/cache", "missing", "../../shared"}
	var log logLines
	l, err := m.Open(t.Context(), prod, Options{Log: log.printf})
	if err != nil {
		t.Fatal(err)
	}
	l.SaveDirs(root, base, paths)
	if err := l.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.Close()

	// The next build: a fresh checkout, where the repository has a
	// node_modules link to elsewhere in one case.
	root2 := t.TempDir()
	base2 := filepath.Join(root2, "apps", "web")
	if err := os.MkdirAll(base2, 0o755); err != nil {
		t.Fatal(err)
	}
	l2, err := m.Open(t.Context(), prod, Options{Log: log.printf})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	l2.RestoreDirs(root2, base2, paths)
	log.has(t, "Restored cacheDirectories: node_modules (")
	if got := read(t, filepath.Join(base2, "node_modules/left-pad/index.js")); got != "pad" {
		t.Errorf("node_modules restored as %q", got)
	}
	if info, err := os.Stat(filepath.Join(base2, "node_modules/left-pad/index.js")); err != nil || !info.ModTime().Equal(old) {
		t.Errorf("the modification time was not kept: %v %v", info, err)
	}
	if got, err := os.Readlink(filepath.Join(base2, "node_modules/.bin-pad")); err != nil || got != "../left-pad/index.js" {
		t.Errorf("the link was restored as %q, %v", got, err)
	}
	if got := read(t, filepath.Join(base2, ".next/cache/webpack/pack")); got != "pack" {
		t.Errorf(".next/cache restored as %q", got)
	}
	// Links, not copies: restoring costs no bytes.
	if inode(t, filepath.Join(base2, "node_modules/left-pad/index.js")) != inode(t, filepath.Join(base, "node_modules/left-pad/index.js")) {
		t.Error("the restored file is not a link to the saved one")
	}

	// A checkout whose .next is a link out of it: nothing is written there.
	root3 := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root3, ".next")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root3, "node_modules/own/index.js"), "the repository's")
	l2.RestoreDirs(root3, root3, []string{".next/cache", "node_modules"})
	log.has(t, `cacheDirectories ".next/cache" not restored: .next is a symbolic link`)
	log.has(t, `cacheDirectories "node_modules" not restored: the checkout has it already`)
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("restored through the link: %v", entries)
	}

	// Something wrote into a saved file in place (a release through its
	// link): the directories are not restored any more.
	if err := os.WriteFile(filepath.Join(base, "node_modules/left-pad/index.js"), []byte("changed in place"), 0o644); err != nil {
		t.Fatal(err)
	}
	root4 := t.TempDir()
	l2.RestoreDirs(root4, root4, paths)
	log.has(t, `cacheDirectories "node_modules" not restored: its files changed since it was saved`)
	if exists(filepath.Join(root4, "node_modules")) {
		t.Error("a changed node_modules was restored")
	}
}

// TestUnchangedCacheDirectoriesAreCarried: a cacheDirectories entry the
// build left as restored is taken over by the new saved cache as it is
// (no file linked again); one it changed is saved anew.
func TestUnchangedCacheDirectoriesAreCarried(t *testing.T) {
	m := newManager(t, 1<<30)
	paths := []string{"node_modules", ".next/cache"}
	deploy := func(change func(checkout string)) string {
		t.Helper()
		checkout := t.TempDir()
		l, err := m.Open(t.Context(), prod, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		l.RestoreDirs(checkout, checkout, paths)
		change(checkout)
		l.SaveDirs(checkout, checkout, paths)
		if err := l.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		return checkout
	}
	saved := func(p string) string {
		return filepath.Join(m.Dir(), "p1", "production", "web", savedName, dirsName, dirKey(p))
	}
	deploy(func(c string) {
		write(t, filepath.Join(c, "node_modules/a/index.js"), "a")
		write(t, filepath.Join(c, ".next/cache/pack"), "1")
	})
	modules, next := inode(t, saved("node_modules")), inode(t, saved(".next/cache"))
	deploy(func(c string) {
		if got := read(t, filepath.Join(c, "node_modules/a/index.js")); got != "a" {
			t.Errorf("node_modules/a/index.js = %q", got)
		}
		// A new pack replaces the old one, as webpack writes them.
		if err := os.Remove(filepath.Join(c, ".next/cache/pack")); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(c, ".next/cache/pack"), "22")
	})
	if inode(t, saved("node_modules")) != modules {
		t.Error("the unchanged node_modules was saved anew, not carried over")
	}
	if inode(t, saved(".next/cache")) == next {
		t.Error("the changed .next/cache was carried over")
	}
	c := deploy(func(string) {})
	if got := read(t, filepath.Join(c, ".next/cache/pack")); got != "22" {
		t.Errorf(".next/cache/pack = %q, want the second build's", got)
	}
	if got := read(t, filepath.Join(c, "node_modules/a/index.js")); got != "a" {
		t.Errorf("node_modules/a/index.js = %q", got)
	}
}

func TestEnvPointsToolsAtTheWorkingCopy(t *testing.T) {
	m := newManager(t, 1<<30)
	l, err := m.Open(t.Context(), prod, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	root := t.TempDir()
	env := l.Env([]string{"PATH=/usr/bin", "GOCACHE=/mine"}, root, root)
	want := []string{
		"GOMODCACHE=" + l.Dir() + "/go/mod",
		"npm_config_cache=" + l.Dir() + "/npm",
		"YARN_CACHE_FOLDER=" + l.Dir() + "/yarn/cache",
		"YARN_GLOBAL_FOLDER=" + l.Dir() + "/yarn/global",
		"PIP_CACHE_DIR=" + l.Dir() + "/pip",
		"XDG_CACHE_HOME=" + l.Dir() + "/xdg",
	}
	if !slices.Equal(env, want) {
		t.Errorf("Env() =\n%q\nwant\n%q", env, want)
	}
	write(t, filepath.Join(root, "pnpm-lock.yaml"), "lockfileVersion: '9.0'")
	sub := filepath.Join(root, "apps", "web")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if env := l.Env(nil, root, sub); !slices.Contains(env, "npm_config_store_dir="+l.Dir()+"/pnpm/store") {
		t.Errorf("a pnpm workspace's build gets no store: %q", env)
	}
}

func TestRemoveProjectAndInstance(t *testing.T) {
	m := newManager(t, 1<<30)
	keys := []Key{prod, {Project: "p1", Environment: "preview", PR: 3, Service: "web"},
		{Project: "p1", Environment: "preview", PR: 4, Service: "web"}, {Project: "p2", Environment: "production", Service: "web"}}
	for _, k := range keys {
		build(t, m, k, Options{}, func(work string) error {
			write(t, filepath.Join(work, "npm/x"), "x")
			return nil
		})
	}
	if err := m.RemoveInstance("p1", "preview", 3); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(m.Dir(), "p1", "preview.pr-3")) || !exists(filepath.Join(m.Dir(), "p1", "preview.pr-4")) {
		t.Error("RemoveInstance removed the wrong caches")
	}
	if err := m.RemoveProject("p1"); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(m.Dir(), "p1")) || !exists(filepath.Join(m.Dir(), "p2", "production", "web", savedName)) {
		t.Error("RemoveProject removed the wrong caches")
	}
}

func TestKeysThatCannotNameADirectory(t *testing.T) {
	m := newManager(t, 1<<30)
	for _, k := range []Key{{Project: "..", Environment: "e", Service: "s"}, {Project: "p", Environment: "a/b", Service: "s"},
		{Project: "p", Environment: "e", Service: ""}, {Project: "p", Environment: "e.pr-1", Service: "s"}} {
		if _, err := m.Open(context.Background(), k, Options{}); err == nil {
			t.Errorf("Open(%+v) succeeded", k)
		}
	}
}

func TestDropRunsTheBuildAgainCold(t *testing.T) {
	m := newManager(t, 1<<30)
	build(t, m, prod, Options{}, func(work string) error {
		write(t, filepath.Join(work, "pip/wheel"), "old")
		return nil
	})
	l, err := m.Open(t.Context(), prod, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Drop(); err != nil {
		t.Fatal(err)
	}
	if l.Restored() != "" || exists(filepath.Join(l.Dir(), "pip")) || exists(l.savedPath()) {
		t.Fatalf("after Drop: restored %q, working copy %v, saved %v", l.Restored(), exists(filepath.Join(l.Dir(), "pip")), exists(l.savedPath()))
	}
	write(t, filepath.Join(l.Dir(), "pip/wheel"), "new")
	if err := l.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(l.savedPath(), "pip/wheel")); got != "new" {
		t.Errorf("saved %q after the cold run", got)
	}
}
