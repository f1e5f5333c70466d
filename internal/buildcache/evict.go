package buildcache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// trash moves path into the trash, at once, and removes it there in the
// background (a cache of many files takes a while to remove, which no
// build should wait for). A path that does not exist is no error.
func (m *Manager) trash(path string) error {
	var b [8]byte
	_, _ = rand.Read(b[:])
	dst := filepath.Join(m.dir, trashDir, hex.EncodeToString(b[:]))
	if err := os.Rename(path, dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	m.removeLater(dst)
	return nil
}

// removeLater removes path, in the trash, in the background; Wait waits
// for it. What a process that died left there is removed by the next New.
func (m *Manager) removeLater(path string) {
	m.removals.Go(func() { _ = removeTree(path) })
}

// Wait waits until the caches moved into the trash are removed.
func (m *Manager) Wait() { m.removals.Wait() }

// emptyTrash removes, in the background, what the trash holds.
func (m *Manager) emptyTrash() error {
	entries, err := os.ReadDir(filepath.Join(m.dir, trashDir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		m.removeLater(filepath.Join(m.dir, trashDir, e.Name()))
	}
	return nil
}

// usage is one cache as eviction sees it.
type usage struct {
	rel      string
	size     int64 // of its saved cache; 0 when it has none
	lastUsed time.Time
}

// caches lists the caches under the Manager's directory: every
// <project>/<environment>/<service> directory.
func (m *Manager) caches() ([]usage, error) {
	var out []usage
	projects, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, err
	}
	for _, p := range projects {
		if !p.IsDir() || p.Name() == trashDir {
			continue
		}
		envs, err := os.ReadDir(filepath.Join(m.dir, p.Name()))
		if err != nil {
			continue // removed meanwhile
		}
		for _, env := range envs {
			services, err := os.ReadDir(filepath.Join(m.dir, p.Name(), env.Name()))
			if err != nil {
				continue
			}
			for _, s := range services {
				rel := filepath.Join(p.Name(), env.Name(), s.Name())
				u := usage{rel: rel}
				dir := filepath.Join(m.dir, rel)
				if mf, err := readManifest(filepath.Join(dir, savedName)); err == nil {
					u.size, u.lastUsed = mf.Size, mf.SavedAt
				}
				if info, err := os.Stat(filepath.Join(dir, usedName)); err == nil && info.ModTime().After(u.lastUsed) {
					u.lastUsed = info.ModTime()
				}
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// Usage is the total size of the saved caches and how many there are.
func (m *Manager) Usage() (size int64, count int, err error) {
	list, err := m.caches()
	for _, u := range list {
		if u.size > 0 {
			size += u.size
			count++
		}
	}
	return size, count, err
}

// evict removes whole caches, least recently used first, until the saved
// ones fit within MaxSize. A cache a build holds is never removed. It
// returns the caches it removed.
func (m *Manager) evict(ctx context.Context) []string {
	list, err := m.caches()
	if err != nil {
		return nil
	}
	var total int64
	for _, u := range list {
		total += u.size
	}
	if total <= m.max {
		return nil
	}
	slices.SortFunc(list, func(a, b usage) int { return a.lastUsed.Compare(b.lastUsed) })
	var removed []string
	for _, u := range list {
		if total <= m.max || ctx.Err() != nil {
			break
		}
		if u.size == 0 {
			continue
		}
		if m.remove(u.rel) {
			total -= u.size
			removed = append(removed, u.rel)
		}
	}
	return removed
}

// remove removes the cache at rel unless a build holds it or a seed
// copy reads it; it reports whether it did.
func (m *Manager) remove(rel string) bool {
	m.mu.Lock()
	e := m.keys[rel]
	if e != nil && e.leased {
		m.mu.Unlock()
		return false
	}
	if e != nil && !e.saved.TryLock() {
		m.mu.Unlock()
		return false
	}
	trashed, err := m.moveToTrash(rel)
	if e != nil {
		e.saved.Unlock()
	}
	m.mu.Unlock()
	if err != nil {
		return false
	}
	if trashed != "" {
		m.removeLater(trashed)
	}
	return true
}

// moveToTrash moves the directory rel into the trash, removes the parents
// it leaves empty, and returns where it went ("" when it did not exist).
// m.mu is held.
func (m *Manager) moveToTrash(rel string) (string, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	dst := filepath.Join(m.dir, trashDir, hex.EncodeToString(b[:]))
	if err := os.Rename(filepath.Join(m.dir, rel), dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	for p := filepath.Dir(rel); p != "." && p != "/"; p = filepath.Dir(p) {
		if os.Remove(filepath.Join(m.dir, p)) != nil {
			break // not empty
		}
	}
	return dst, nil
}

// RemoveProject removes every cache of a project (deleted), but those a
// build holds.
func (m *Manager) RemoveProject(projectID string) error {
	if !safeID.MatchString(projectID) {
		return fmt.Errorf("buildcache: id %q cannot name a directory", projectID)
	}
	return m.removeUnder(projectID, func(string) bool { return true })
}

// RemoveInstance removes the caches of an environment instance: a preview
// torn down (pr > 0); with pr 0, an environment that left its project's
// config, and the previews it had.
func (m *Manager) RemoveInstance(projectID, environment string, pr int) error {
	rel, err := Key{Project: projectID, Environment: environment, PR: pr, Service: "x"}.rel()
	if err != nil {
		return err
	}
	env := filepath.Base(filepath.Dir(rel))
	return m.removeUnder(projectID, func(name string) bool {
		return name == env || pr == 0 && strings.HasPrefix(name, environment+".pr-")
	})
}

// removeUnder removes the caches of the project's environment directories
// that match.
func (m *Manager) removeUnder(projectID string, match func(env string) bool) error {
	envs, err := os.ReadDir(filepath.Join(m.dir, projectID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, env := range envs {
		if !match(env.Name()) {
			continue
		}
		services, err := os.ReadDir(filepath.Join(m.dir, projectID, env.Name()))
		if err != nil {
			continue
		}
		for _, s := range services {
			rel := filepath.Join(projectID, env.Name(), s.Name())
			if !m.remove(rel) {
				errs = append(errs, fmt.Errorf("buildcache: %s is in use", rel))
			}
		}
	}
	return errors.Join(errs...)
}

// evictedList names removed caches for a log line:
// production/web, preview.pr-12/api (project ids left out).
func evictedList(rels []string) string {
	names := make([]string, 0, len(rels))
	for _, rel := range rels {
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) == 3 {
			names = append(names, parts[1]+"/"+parts[2])
		} else {
			names = append(names, rel)
		}
	}
	if len(names) > 10 {
		names = append(names[:10], "and "+strconv.Itoa(len(names)-10)+" more")
	}
	return strings.Join(names, ", ")
}
