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

// RestoreDirs puts the saved copy of each of paths (cacheDirectories:
// clean, relative to base, as config checks them) into base, which is the
// checkout root or inside it: before the install step. Its files are hard
// links to the saved ones, as package managers' own stores do (pnpm links
// one copy of a package into every project): they replace a package's
// files rather than write into them. A preview's first build, seeded from
// production's cache, gets copies instead: nothing it does may reach
// production's files. Saved directories whose files changed size since
// they were saved (something wrote into them in place) are not restored.
// A path the checkout already has (the repository holds it), or that
// leads through a symbolic link, is left alone; one that cannot be
// restored is removed again. Log says what was restored and what was not;
// nothing fails the build.
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
	if _, sum, err := dirsDigest(saved); err != nil || sum != l.mf.DirsDigest {
		if err == nil {
			err = errors.New("their files changed since they were saved")
		}
		l.log("==> cacheDirectories not restored: %v", err)
		return
	}
	var restored []string
	for _, p := range paths {
		src := filepath.Join(saved, dirKey(p))
		if _, err := os.Lstat(src); err != nil {
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
		err := os.MkdirAll(filepath.Dir(dst), 0o755)
		if err == nil {
			err = copyTree(src, dst, how, nil, nil)
		}
		if err != nil {
			_ = removeTree(dst)
			l.log("==> cacheDirectories %q not restored: %v", p, err)
			continue
		}
		restored = append(restored, fmt.Sprintf("%s (%s)", p, time.Since(started).Round(time.Millisecond)))
	}
	if len(restored) > 0 {
		l.log("==> Restored cacheDirectories: %s", strings.Join(restored, ", "))
	}
}

// SaveDirs puts each of paths, relative to base, from the checkout into
// the working copy, to be saved with it: after the build, as hard links
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
		dst := filepath.Join(dirs, dirKey(p))
		if err := copyTree(src, dst, byLink, nil, nil); err != nil {
			_ = removeTree(dst)
			l.log("==> cacheDirectories %q not saved: %v", p, err)
		}
	}
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
