package buildcache

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// How copyTree makes each regular file of the copy.
const (
	// byLink makes a hard link to the source's file, and copies the bytes
	// only where a link cannot be made (another file system, a link
	// count at its limit).
	byLink = iota
	// byCopy copies the bytes.
	byCopy
)

// copyTree makes dst, which must not exist, a copy of the tree src:
// directories, regular files (hard links or copies, as how says) and
// symbolic links (as they are, never followed), with their permissions and
// modification times. Anything else (a fifo, a socket, a device) is left
// out. skip, when not nil, leaves out the entries (and the trees under
// them) whose path relative to src it returns true for. Any entry that
// cannot be read fails the copy; the caller removes what it made.
func copyTree(src, dst string, how int, skip func(rel string) bool) error {
	type dirTimes struct {
		path  string
		mode  fs.FileMode
		mtime time.Time
	}
	var dirs []dirTimes // set once their entries are in: writing an entry changes them
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel != "." && skip != nil && skip(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			// Writable by us until its entries are in (Go makes its module
			// cache read-only).
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirTimes{path: target, mode: mode.Perm(), mtime: info.ModTime()})
		case mode.IsRegular():
			if how == byLink {
				if err := os.Link(path, target); err == nil {
					return nil
				}
			}
			return copyFile(path, target, info)
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- { // children before their parents
		d := dirs[i]
		if err := os.Chmod(d.path, d.mode); err != nil {
			return err
		}
		if err := os.Chtimes(d.path, d.mtime, d.mtime); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies the regular file src (of info) to dst, which must not
// exist, with its permissions and modification time. The copy goes
// through copy_file_range, which shares the blocks where the file system
// can (reflinks on XFS and Btrfs).
func copyFile(src, dst string, info fs.FileInfo) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.Chmod(dst, info.Mode().Perm()); err != nil {
		return err
	}
	return os.Chtimes(dst, info.ModTime(), info.ModTime())
}

// removeTree removes path and everything under it, as os.RemoveAll does,
// read-only directories included (Go's module cache is read-only).
// A path that does not exist is no error.
func removeTree(path string) error {
	err := os.RemoveAll(path)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(path)
}

// treeSize is the total size of the regular files under path.
func treeSize(path string) (int64, error) {
	var n int64
	err := filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
