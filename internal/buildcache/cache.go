package buildcache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Config configures a Manager.
type Config struct {
	// Dir holds the caches (<data-dir>/buildcache). Required; created,
	// private to its owner, when missing.
	Dir string
	// MaxSize bounds the total size of the saved caches, in bytes: after
	// each save, whole caches are removed, least recently used first,
	// until the rest fits. Required, positive.
	MaxSize int64
	// Now is the clock of saves and last uses. Default time.Now.
	Now func() time.Time
}

// Manager keeps the build caches under one directory. It is safe for
// concurrent use; one Manager (one process) owns its directory.
type Manager struct {
	dir string
	max int64
	now func() time.Time

	mu   sync.Mutex // guards keys, and the directories of keys as they are made or removed
	keys map[string]*entry
	// removals are the caches being removed from the trash.
	removals sync.WaitGroup
}

// entry is the in-process state of one cache.
type entry struct {
	leased bool // a build holds it (guarded by Manager.mu)
	// saved guards the saved cache: a seed copy reads it (RLock), a
	// commit swaps it and an eviction removes it (Lock).
	saved sync.RWMutex
}

// trashDir is where caches go to be removed, out of sight of the keys: a
// rename into it is atomic, the removal that follows is not.
const trashDir = ".trash"

// New prepares dir and removes what a previous run left in its trash.
func New(cfg Config) (*Manager, error) {
	if cfg.Dir == "" {
		return nil, errors.New("buildcache: Config.Dir is required")
	}
	if cfg.MaxSize <= 0 {
		return nil, fmt.Errorf("buildcache: Config.MaxSize must be positive, got %d", cfg.MaxSize)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, trashDir), 0o700); err != nil {
		return nil, fmt.Errorf("buildcache: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("buildcache: %w", err)
	}
	m := &Manager{dir: dir, max: cfg.MaxSize, now: cfg.Now, keys: map[string]*entry{}}
	if m.now == nil {
		m.now = time.Now
	}
	if err := m.emptyTrash(); err != nil {
		return nil, fmt.Errorf("buildcache: empty %s: %w", filepath.Join(dir, trashDir), err)
	}
	return m, nil
}

// Dir is the directory of the caches.
func (m *Manager) Dir() string { return m.dir }

// MaxSize is the bound of the saved caches' total size.
func (m *Manager) MaxSize() int64 { return m.max }

// Key names one cache: a service of an environment instance of a project.
type Key struct {
	Project     string // the project's id
	Environment string // the environment's id in liftoff.json (its givenId)
	PR          int    // a preview instance's pull request; 0 for a normal environment
	Service     string // the service's id in liftoff.json
}

// safeID is what an id may be to name a directory.
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// rel is the key's directory, relative to the Manager's: a preview's
// environment part is <environment>.pr-<n>, which no environment id can
// be (ids have no dot).
func (k Key) rel() (string, error) {
	for _, id := range []string{k.Project, k.Environment, k.Service} {
		if !safeID.MatchString(id) {
			return "", fmt.Errorf("buildcache: id %q cannot name a directory", id)
		}
	}
	if k.PR < 0 {
		return "", fmt.Errorf("buildcache: pull request %d", k.PR)
	}
	env := k.Environment
	if k.PR > 0 {
		env += ".pr-" + strconv.Itoa(k.PR)
	}
	return filepath.Join(k.Project, env, k.Service), nil
}

// String names the cache in messages: production/web, preview#12/web.
func (k Key) String() string {
	if k.PR > 0 {
		return fmt.Sprintf("%s#%d/%s", k.Environment, k.PR, k.Service)
	}
	return k.Environment + "/" + k.Service
}

// The parts of a cache's directory.
const (
	savedName    = "cache" // the saved cache
	workName     = "work"  // the working copy a build writes
	usedName     = "used"  // its modification time is the cache's last use
	manifestName = ".liftoff-cache.json"
	// formatVersion changes when the layout of a cache changes: a saved
	// cache of another version is dropped.
	formatVersion = 1
)

// manifest is written into a cache as the last thing before it is saved:
// a saved cache without one never finished saving.
type manifest struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"savedAt"`
	Size    int64     `json:"size"` // bytes of its regular files
	// Digest sums the paths and sizes of its files but dirs/, Dirs those
	// of each directory of dirs/ (the cacheDirectories, by dirKey):
	// restored from, the cache must still match them.
	Digest string              `json:"digest"`
	Dirs   map[string]savedDir `json:"dirs,omitempty"`
	Key    Key                 `json:"key"`
}

// ErrBusy is Open's error when a build already holds the cache.
var ErrBusy = errors.New("buildcache: another build holds this cache")

// Options are what a build asks of its cache.
type Options struct {
	// Clear drops the saved cache: the build starts from an empty one
	// (a deployment with clearCache), and Seed is not read.
	Clear bool
	// Seed, when the cache has nothing saved, is the cache whose saved
	// content the build starts from, copied: a preview's production
	// environment's. Nil: it starts empty.
	Seed *Key
	// Log receives the lines that say what was restored, or why not (the
	// deployment's log). Nil discards them.
	Log func(format string, args ...any)
}

// Lease is one build's hold on its cache. Close it, whatever happens.
type Lease struct {
	m     *Manager
	key   Key
	rel   string
	e     *entry
	log   func(format string, args ...any)
	saved string   // restored from: "" (cold), "own" or "seed"
	mf    manifest // of the cache it was restored from
	// restored are the cacheDirectories restored as links, carried those
	// the build left as they were (taken over from the saved cache at
	// Commit), saving those linked into the working copy; by dirKey.
	restored map[string]restoredDir
	carried  map[string]savedDir
	saving   map[string]savedDir
	// seedRel and seedEntry are the cache it was seeded from.
	seedRel   string
	seedEntry *entry
	closed    bool
}

// Open lends the cache of k to a build: it prepares the working copy Dir
// from the saved cache (or from Seed's, or empty) and marks the cache
// used. Problems with what is saved are no error: the cache is dropped,
// Log says so, and the build gets an empty one. Open fails only when the
// cache cannot be lent at all (a bad key, ErrBusy, a working copy that
// cannot be made); the build should then run without a cache.
func (m *Manager) Open(ctx context.Context, k Key, o Options) (*Lease, error) {
	rel, err := k.rel()
	if err != nil {
		return nil, err
	}
	logf := o.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	m.mu.Lock()
	e := m.keys[rel]
	if e == nil {
		e = &entry{}
		m.keys[rel] = e
	}
	if e.leased {
		m.mu.Unlock()
		return nil, ErrBusy
	}
	e.leased = true
	l := &Lease{m: m, key: k, rel: rel, e: e, log: logf,
		restored: map[string]restoredDir{}, carried: map[string]savedDir{}, saving: map[string]savedDir{}}
	err = os.MkdirAll(l.path(), 0o700)
	m.mu.Unlock()
	if err != nil {
		l.release()
		return nil, fmt.Errorf("buildcache: %w", err)
	}
	// A working copy left by a build that never ended (Liftoff killed)
	// was never saved: it goes.
	if err := m.trash(l.Dir()); err != nil {
		l.release()
		return nil, fmt.Errorf("buildcache: remove a leftover working copy: %w", err)
	}
	if err := l.restore(ctx, o); err != nil {
		l.release()
		return nil, err
	}
	l.touch()
	return l, nil
}

// path is the cache's directory.
func (l *Lease) path() string { return filepath.Join(l.m.dir, l.rel) }

// savedPath is the saved cache.
func (l *Lease) savedPath() string { return filepath.Join(l.path(), savedName) }

// Dir is the working copy: the build's cache directory, the one place of
// the cache it may write. Its path is the same for every build of the
// cache, as tools record absolute paths (Go's build cache keys on the
// directory of a module's source).
func (l *Lease) Dir() string { return filepath.Join(l.path(), workName) }

// Key is the cache the lease holds.
func (l *Lease) Key() Key { return l.key }

// Restored says what the working copy started from: "own" (the cache's
// saved copy), "seed" (Options.Seed's) or "" (empty).
func (l *Lease) Restored() string { return l.saved }

// restore makes the working copy.
func (l *Lease) restore(ctx context.Context, o Options) error {
	saved := l.savedPath()
	if o.Clear {
		l.e.saved.Lock()
		err := l.m.trash(saved)
		l.e.saved.Unlock()
		if err != nil {
			l.log("==> Build cache of %s could not be cleared (%v): building without it", l.key.Service, err)
			return fmt.Errorf("buildcache: clear %s: %w", l.key, err)
		}
		l.log("==> Build cache of %s cleared (clearCache): building from an empty cache", l.key.Service)
		return l.emptyWork()
	}
	_, err := os.Lstat(saved)
	switch {
	case errors.Is(err, fs.ErrNotExist) && o.Seed != nil:
		return l.seed(ctx, *o.Seed)
	case errors.Is(err, fs.ErrNotExist):
		l.log("==> Build cache of %s: none saved yet, building cold", l.key.Service)
		return l.emptyWork()
	}
	started := time.Now()
	mf, err := l.clone(saved, byLink)
	if err != nil {
		l.drop(err)
		return l.emptyWork()
	}
	l.saved, l.mf = "own", mf
	l.log("==> Build cache of %s restored: %s saved %s, in %s", l.key.Service, formatSize(mf.Size),
		mf.SavedAt.Format(time.RFC3339), time.Since(started).Round(time.Millisecond))
	return nil
}

// seed makes the working copy a copy of another cache's saved content.
func (l *Lease) seed(ctx context.Context, k Key) error {
	rel, err := k.rel()
	if err != nil || rel == l.rel {
		return l.emptyWork()
	}
	l.m.mu.Lock()
	e := l.m.keys[rel]
	if e == nil {
		e = &entry{}
		l.m.keys[rel] = e
	}
	l.m.mu.Unlock()
	started := time.Now()
	e.saved.RLock()
	mf, err := l.clone(filepath.Join(l.m.dir, rel, savedName), byCopy)
	e.saved.RUnlock()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.log("==> Build cache of %s: none saved yet, nor in %s, building cold", l.key.Service, k)
		return l.emptyWork()
	case err != nil:
		// Theirs is not ours to drop: its own next build will.
		l.log("==> Build cache of %s: the cache of %s could not be read (%v), building cold", l.key.Service, k, err)
		return l.emptyWork()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	l.saved, l.mf, l.seedRel, l.seedEntry = "seed", mf, rel, e
	l.log("==> Build cache of %s starts from a copy of %s's: %s saved %s, in %s", l.key.Service, k, formatSize(mf.Size),
		mf.SavedAt.Format(time.RFC3339), time.Since(started).Round(time.Millisecond))
	return nil
}

// clone checks the saved cache at src and copies it (how) to the working
// copy, which it removes again when the copy fails.
func (l *Lease) clone(src string, how int) (manifest, error) {
	info, err := os.Lstat(src)
	if err != nil {
		return manifest{}, err
	}
	if !info.IsDir() {
		return manifest{}, errors.New("it is not a directory")
	}
	mf, err := readManifest(src)
	if err != nil {
		return manifest{}, err
	}
	sum := newDigest()
	err = copyTree(src, l.Dir(), how, skipSaved, sum.add)
	if err == nil && sum.String() != mf.Digest {
		err = errors.New("its files changed since it was saved (a build wrote into them in place, or the disk lost part of them)")
	}
	if err != nil {
		if rerr := l.m.trash(l.Dir()); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return manifest{}, err
	}
	return mf, nil
}

// skipSaved leaves out of a working copy, and of the digest, what a
// build does not get: the manifest, which is ours, and cacheDirectories,
// copied into the checkout from the saved cache (RestoreDirs).
func skipSaved(rel string) bool { return rel == manifestName || rel == dirsName }

// readManifest reads and checks the manifest of the saved cache at dir.
func readManifest(dir string) (manifest, error) {
	var mf manifest
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return mf, errors.New("it has no manifest: its save never finished")
	}
	if err != nil {
		return mf, err
	}
	if err := json.Unmarshal(b, &mf); err != nil {
		return mf, fmt.Errorf("its manifest is not valid: %w", err)
	}
	if mf.Version != formatVersion {
		return mf, fmt.Errorf("it is of format %d, not %d", mf.Version, formatVersion)
	}
	return mf, nil
}

// drop removes the saved cache that could not be restored, saying why.
func (l *Lease) drop(why error) {
	l.e.saved.Lock()
	err := l.m.trash(l.savedPath())
	l.e.saved.Unlock()
	if err != nil {
		l.log("==> Build cache of %s could not be restored (%v) nor removed (%v): building cold", l.key.Service, why, err)
		return
	}
	l.log("==> Build cache of %s could not be restored (%v): dropped, building cold", l.key.Service, why)
}

// emptyWork makes an empty working copy.
func (l *Lease) emptyWork() error {
	if err := os.Mkdir(l.Dir(), 0o700); err != nil {
		return fmt.Errorf("buildcache: %w", err)
	}
	return nil
}

// touch marks the cache used now.
func (l *Lease) touch() {
	p := filepath.Join(l.path(), usedName)
	now := l.m.now()
	if err := os.Chtimes(p, now, now); errors.Is(err, fs.ErrNotExist) {
		if f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
			_ = f.Close()
			_ = os.Chtimes(p, now, now)
		}
	}
}

// Commit saves the working copy, after a successful build: its manifest
// written, it replaces the saved cache in one rename. Then the caches are
// brought under the size bound. A working copy larger than the bound on
// its own is not saved (Log says so; the saved cache stays). Commit
// returns an error when nothing was saved because of one; the build is
// not the worse for it.
func (l *Lease) Commit(ctx context.Context) error {
	if l.closed {
		return errors.New("buildcache: commit after close")
	}
	started := time.Now()
	work := l.Dir()
	size, sum, err := treeDigest(work, skipSaved)
	if err != nil {
		l.log("==> Build cache of %s not saved: %v", l.key.Service, err)
		return fmt.Errorf("buildcache: measure %s: %w", work, err)
	}
	for _, d := range l.saving {
		size += d.Size
	}
	for _, d := range l.carried {
		size += d.Size
	}
	if size > l.m.max {
		l.log("==> Build cache of %s not saved: at %s it is larger than the bound of all caches (%s, liftoff serve --build-cache-max-size)",
			l.key.Service, formatSize(size), formatSize(l.m.max))
		return nil
	}
	l.e.saved.Lock()
	if lost := l.carry(); len(lost) > 0 {
		l.log("==> Build cache of %s: %d of its cacheDirectories could not be kept", l.key.Service, len(lost))
	}
	mf := manifest{Version: formatVersion, SavedAt: l.m.now().UTC(), Size: size, Digest: sum, Dirs: l.saving, Key: l.key}
	err = writeManifest(work, mf)
	if err == nil {
		err = swap(work, l.savedPath())
	}
	l.e.saved.Unlock()
	if err != nil {
		l.log("==> Build cache of %s not saved: %v", l.key.Service, err)
		return fmt.Errorf("buildcache: save %s: %w", l.key, err)
	}
	// After the swap the working copy's path holds the old cache.
	if err := l.m.trash(work); err != nil {
		l.log("==> Build cache of %s: the previous one could not be removed: %v", l.key.Service, err)
	}
	l.touch()
	l.log("==> Build cache of %s saved: %s, in %s", l.key.Service, formatSize(size), time.Since(started).Round(time.Millisecond))
	if evicted := l.m.evict(ctx); len(evicted) > 0 {
		l.log("==> Build caches removed to stay within %s (least recently used first): %s", formatSize(l.m.max), evictedList(evicted))
	}
	return nil
}

// writeManifest writes mf into dir, replacing one the build may have put
// there.
func writeManifest(dir string, mf manifest) error {
	b, err := json.Marshal(mf)
	if err != nil {
		return err
	}
	p := filepath.Join(dir, manifestName)
	if err := removeTree(p); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o600)
}

// swap makes work the saved cache at saved, in one step: RENAME_EXCHANGE
// trades the two directories when saved exists, and work then holds the
// old one. Where the file system cannot exchange, the old one is moved
// aside first (a crash between the two renames loses it: the next build
// runs cold).
func swap(work, saved string) error {
	err := unix.Renameat2(unix.AT_FDCWD, work, unix.AT_FDCWD, saved, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOENT):
		if _, serr := os.Lstat(saved); errors.Is(serr, fs.ErrNotExist) {
			return os.Rename(work, saved)
		}
		return err
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		old := saved + ".old"
		if err := removeTree(old); err != nil {
			return err
		}
		if err := os.Rename(saved, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Rename(work, saved); err != nil {
			return err
		}
		return os.Rename(old, work)
	}
	return err
}

// Drop throws the cache away, the saved one and the working copy, and
// gives the build an empty working copy at the same path: for a build
// that failed on something its cache held, to run again cold.
func (l *Lease) Drop() error {
	if l.closed {
		return errors.New("buildcache: drop after close")
	}
	l.e.saved.Lock()
	err := l.m.trash(l.savedPath())
	l.e.saved.Unlock()
	if terr := l.m.trash(l.Dir()); err == nil {
		err = terr
	}
	if err == nil {
		err = l.emptyWork()
	}
	l.saved, l.mf = "", manifest{}
	clear(l.restored)
	clear(l.carried)
	clear(l.saving)
	return err
}

// Close ends the lease: a working copy not saved is removed. Safe to call
// more than once.
func (l *Lease) Close() {
	if l.closed {
		return
	}
	l.closed = true
	if err := l.m.trash(l.Dir()); err != nil {
		l.log("==> Build cache of %s: its working copy could not be removed: %v", l.key.Service, err)
	}
	l.release()
}

func (l *Lease) release() {
	l.closed = true
	l.m.mu.Lock()
	l.e.leased = false
	l.m.mu.Unlock()
}

// formatSize says a size in bytes for people: 1.2 GiB, 340 MiB, 12 KiB.
func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	exp := int(math.Log(float64(n)) / math.Log(unit))
	exp = min(max(exp, 1), len(units))
	v := float64(n) / math.Pow(unit, float64(exp))
	if v >= 100 {
		return fmt.Sprintf("%.0f %s", v, units[exp-1])
	}
	return fmt.Sprintf("%.1f %s", v, units[exp-1])
}
