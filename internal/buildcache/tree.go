package buildcache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
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
// them) whose path relative to src it returns true for; onFile, when not
// nil, is told each regular file copied, in the order of
// filepath.WalkDir. Any entry that cannot be read fails the copy; the
// caller removes what it made.
//
// The files are linked or copied by a few goroutines while the walk goes
// on: a cache holds thousands of small files, and a file system takes
// several links at once faster than one after the other.
func copyTree(src, dst string, how int, skip func(rel string) bool, onFile func(rel string, size int64)) error {
	type dirTimes struct {
		path  string
		mode  fs.FileMode
		mtime time.Time
	}
	type file struct {
		src, dst string
		info     fs.FileInfo
	}
	var dirs []dirTimes // set once their entries are in: writing an entry changes them
	files := make(chan file, 256)
	var (
		mu      sync.Mutex
		failure error
	)
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return failure
	}
	var workers sync.WaitGroup
	for range copyWorkers {
		workers.Go(func() {
			for f := range files {
				if failed() != nil {
					continue
				}
				if err := placeFile(f.src, f.dst, f.info, how); err != nil {
					mu.Lock()
					if failure == nil {
						failure = err
					}
					mu.Unlock()
				}
			}
		})
	}
	err := walkRel(src, skip, func(path, rel string, d fs.DirEntry) error {
		if err := failed(); err != nil {
			return err
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
			if onFile != nil {
				onFile(rel, info.Size())
			}
			files <- file{src: path, dst: target, info: info}
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		return nil
	})
	close(files)
	workers.Wait()
	if err == nil {
		err = failed()
	}
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

// copyWorkers is how many files copyTree links or copies at once.
const copyWorkers = 8

// placeFile makes dst a hard link to src (how byLink) or, where a link
// cannot be made (another file system, a link count at its limit), or for
// byCopy, a copy.
func placeFile(src, dst string, info fs.FileInfo, how int) error {
	if how == byLink {
		if err := os.Link(src, dst); err == nil {
			return nil
		}
	}
	return copyFile(src, dst, info)
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

// walkRel walks the tree root as filepath.WalkDir does, giving fn each
// entry's path relative to root too, and leaving out the entries skip
// names (a directory with all it holds).
func walkRel(root string, skip func(rel string) bool, fn func(path, rel string, d fs.DirEntry) error) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel != "." && skip != nil && skip(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		return fn(path, rel, d)
	})
}

// treeDigest is the total size of the regular files under path, and the
// digest of their paths (relative to path) and sizes, in the order
// filepath.WalkDir visits them; skip leaves entries out as copyTree's does.
func treeDigest(path string, skip func(rel string) bool) (int64, string, error) {
	var n int64
	sum := newDigest()
	err := walkRel(path, skip, func(_, rel string, d fs.DirEntry) error {
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
			sum.add(rel, info.Size())
		}
		return nil
	})
	return n, sum.String(), err
}

// digest sums the paths and sizes of a tree's files: a saved cache whose
// files' sizes changed since it was saved (a build wrote in place through
// a hard link, a disk lost part of a file) no longer matches its manifest.
type digest struct{ h hash.Hash }

func newDigest() *digest { return &digest{h: sha256.New()} }

func (d *digest) add(rel string, size int64) {
	fmt.Fprintf(d.h, "%s\x00%d\n", rel, size)
}

func (d *digest) String() string { return hex.EncodeToString(d.h.Sum(nil)) }
