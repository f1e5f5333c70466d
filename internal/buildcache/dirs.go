package buildcache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// dirsName holds the saved cacheDirectories, each under the hash of its
// path: dirs/<sha256 of the path>.
const dirsName = "dirs"

// dirKey names the saved copy of a cacheDirectories path.
func dirKey(p string) string {
	sum := sha256.Sum256([]byte(p))
	return hex.EncodeToString(sum[:16])
}

// savedDir is a saved cacheDirectories entry, as the manifest records it.
type savedDir struct {
	Digest string `json:"digest"` // of its files' paths and sizes (treeDigest)
	Size   int64  `json:"size"`
}

// RestoreDirs puts the saved copy of each of paths (cacheDirectories:
// clean, relative to base, as config checks them) into base, which is the
// checkout root or inside it: before the install step. Its files are hard
// links to the saved ones, as package managers' own stores do (pnpm links
// one copy of a package into every project): they replace a package's
// files rather than write into them. A preview's first build, seeded from
// production's cache, gets copies instead: nothing it does may reach
// production's files. A saved directory whose files changed size since it
// was saved (something wrote into them in place) is not restored. A path
// the checkout already has (the repository holds it), or that leads
// through a symbolic link, is left alone; one that cannot be restored is
// removed again. Log says what was restored and what was not; nothing
// fails the build.
func (l *Lease) RestoreDirs(root, base string, paths []string) {
	if len(paths) == 0 || l.saved == "" {
		return
	}
	from, how := l.e, byLink
	saved := filepath.Join(l.savedPath(), dirsName)
	if l.saved == "seed" {
		from, how, saved = l.seedEntry, byCopy, filepath.Join(l.m.dir, l.seedRel, savedName, dirsName)
	}
	from.saved.RLock()
	defer from.saved.RUnlock()
	var restored []string
	for _, p := range paths {
		key := dirKey(p)
		want, ok := l.mf.Dirs[key]
		src := filepath.Join(saved, key)
		if !ok {
			continue // not saved: the last build had none
		}
		dst := filepath.Join(base, p)
		if err := confined(root, dst); err != nil {
			l.log("==> cacheDirectories %q not restored: %v", p, err)
			continue
		}
		if _, err := os.Lstat(dst); err == nil {
			l.log("==> cacheDirectories %q not restored: the checkout has it already", p)
			continue
		}
		started := time.Now()
		// What it holds as it is restored, to tell at the save whether
		// the build changed anything in it.
		id, err := treeIdentity(src)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(dst), 0o755)
		}
		sum := newDigest()
		if err == nil {
			err = copyTree(src, dst, how, nil, sum.add)
		}
		if err == nil && sum.String() != want.Digest {
			err = errors.New("its files changed since it was saved")
		}
		if err != nil {
			_ = removeTree(dst)
			l.log("==> cacheDirectories %q not restored: %v", p, err)
			continue
		}
		if how == byLink {
			l.restored[key] = restoredDir{identity: id, saved: want}
		}
		restored = append(restored, fmt.Sprintf("%s (%s)", p, time.Since(started).Round(time.Millisecond)))
	}
	if len(restored) > 0 {
		l.log("==> Restored cacheDirectories: %s", strings.Join(restored, ", "))
	}
}

// restoredDir is a cacheDirectories entry restored as links: what it was.
type restoredDir struct {
	identity string // treeIdentity of the saved one
	saved    savedDir
}

// SaveDirs puts each of paths, relative to base, from the checkout into
// the working copy, to be saved with it: after the build. One the build
// did not change (the same files, the very ones restored) is taken over
// from the saved cache as it is, at Commit; another is linked file by file
// (see RestoreDirs). A path that is missing, not a directory, or leads
// through a symbolic link is not saved (Log says why for the last two).
// The checkout keeps them: it is the release.
func (l *Lease) SaveDirs(root, base string, paths []string) {
	if len(paths) == 0 {
		return
	}
	dirs := filepath.Join(l.Dir(), dirsName)
	if err := removeTree(dirs); err != nil {
		l.log("==> cacheDirectories not saved: %v", err)
		return
	}
	if err := os.Mkdir(dirs, 0o700); err != nil {
		l.log("==> cacheDirectories not saved: %v", err)
		return
	}
	for _, p := range paths {
		src := filepath.Join(base, p)
		if err := confined(root, src); err != nil {
			l.log("==> cacheDirectories %q not saved: %v", p, err)
			continue
		}
		info, err := os.Lstat(src)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			l.log("==> cacheDirectories %q not saved: %v", p, err)
			continue
		case info.Mode()&fs.ModeSymlink != 0:
			l.log("==> cacheDirectories %q not saved: it is a symbolic link", p)
			continue
		case !info.IsDir():
			l.log("==> cacheDirectories %q not saved: it is not a directory", p)
			continue
		}
		key := dirKey(p)
		if r, ok := l.restored[key]; ok {
			if id, err := treeIdentity(src); err == nil && id == r.identity {
				l.carried[key] = r.saved
				continue
			}
		}
		dst := filepath.Join(dirs, key)
		sum := newDigest()
		var size int64
		err = copyTree(src, dst, byLink, nil, func(rel string, n int64) {
			sum.add(rel, n)
			size += n
		})
		if err != nil {
			_ = removeTree(dst)
			l.log("==> cacheDirectories %q not saved: %v", p, err)
			continue
		}
		l.saving[key] = savedDir{Digest: sum.String(), Size: size}
	}
}

// carry moves the saved directories the build did not change from the
// saved cache into the working copy. The saved cache is held (saved
// lock). It returns those it could not move.
func (l *Lease) carry() []string {
	var lost []string
	for key, d := range l.carried {
		err := os.Rename(filepath.Join(l.savedPath(), dirsName, key), filepath.Join(l.Dir(), dirsName, key))
		if err != nil {
			lost = append(lost, key)
			continue
		}
		l.saving[key] = d
	}
	return lost
}

// treeIdentity sums what a tree is made of: every entry's path and type,
// files' inodes and sizes, and links' targets. Two trees whose
// files are the same files (hard links) have the same identity, and a
// file added, removed, replaced or grown in one changes it.
func treeIdentity(path string) (string, error) {
	sum := newDigest()
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(path, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode()
		var ino uint64 // a file's own; directories and links are made anew
		if st, ok := info.Sys().(*syscall.Stat_t); ok && mode.IsRegular() {
			ino = st.Ino
		}
		var target string
		if mode&fs.ModeSymlink != 0 {
			if target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		fmt.Fprintf(sum.h, "%s\x00%v\x00%d\x00%d\x00%s\n", rel, mode.Type(), ino, info.Size(), target)
		return nil
	})
	return sum.String(), err
}

// confined checks that path, inside root, is reached without following a
// symbolic link: every part of it below root that exists is a directory
// (the last part may be missing, or anything Lstat says).
func confined(root, path string) error {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return errors.New("it leaves the checkout")
	}
	if rel == "." {
		return errors.New("it is the whole checkout")
	}
	parts := strings.Split(rel, string(filepath.Separator))
	cur := root
	for _, part := range parts[:len(parts)-1] {
		cur = filepath.Join(cur, part)
		info, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil // made as a directory when restored
		case err != nil:
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link", strings.TrimPrefix(cur, root+"/"))
		case !info.IsDir():
			return fmt.Errorf("%s is not a directory", strings.TrimPrefix(cur, root+"/"))
		}
	}
	return nil
}
