package gitsource

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Export writes the tree of commit into dest, as a checkout would but
// without .git: directories, files (with their executable bit), and
// symbolic links as links. dest must not exist or be an empty directory; on
// error, what Export wrote there is removed. The repository's
// .gitattributes export-ignore and export-subst are not applied (the
// mirror's info/attributes turns them off). Submodules are left empty.
func (m *Mirror) Export(ctx context.Context, commit, dest string) error {
	if err := validateRev(commit); err != nil {
		return err
	}
	created, err := prepareDest(dest)
	if err != nil {
		return err
	}
	if err := m.export(ctx, commit, dest); err != nil {
		if created {
			_ = os.RemoveAll(dest)
		} else {
			_ = emptyDir(dest)
		}
		return err
	}
	return nil
}

func (m *Mirror) export(ctx context.Context, commit, dest string) error {
	args := []string{"archive", "--format=tar", "--end-of-options", commit}
	procCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd, stderr := command(procCtx, m.dir, "", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return newGitError(ctx, args, stderr.String(), err)
	}
	extractErr := extractTar(stdout, dest)
	if extractErr == nil {
		// git pads the archive after its end marker.
		_, extractErr = io.Copy(io.Discard, stdout)
	} else {
		cancel()
	}
	if err := cmd.Wait(); err != nil {
		err = newGitError(ctx, args, stderr.String(), err)
		switch {
		case ctx.Err() != nil:
		case isNotFound(err):
			return fmt.Errorf("%w: %q in %s", ErrRevisionNotFound, commit, RedactURL(m.url))
		case extractErr != nil:
			// git died because extraction stopped reading: report why.
			return fmt.Errorf("exporting %q: %w", commit, extractErr)
		}
		return fmt.Errorf("exporting %q: %w", commit, err)
	}
	if extractErr != nil {
		return fmt.Errorf("exporting %q: %w", commit, extractErr)
	}
	return nil
}

// prepareDest creates dest, or checks that it is an empty directory.
func prepareDest(dest string) (created bool, err error) {
	err = os.Mkdir(dest, 0o755)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("export destination: %w", err)
	}
	f, err := os.Open(dest)
	if err != nil {
		return false, fmt.Errorf("export destination: %w", err)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("not empty")
		}
		return false, fmt.Errorf("export destination %s: %w", dest, err)
	}
	return false, nil
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// extractTar writes the tar stream r into the directory dest, which should
// be empty. Entries must stay inside dest: names that are absolute, contain
// a ".." element, or lead through a symbolic link the archive created are
// rejected, as are hard links, devices and other special files. Symbolic
// links are created as links, with their target as is, and never followed
// while extracting (an os.Root guards against escaping dest as well).
// Files get mode 0755 when any executable bit is set in the archive, 0644
// otherwise; directories 0755 (both less the process umask).
func extractTar(r io.Reader, dest string) error {
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()

	links := make(map[string]bool) // symbolic links created so far
	dirs := make(map[string]bool)  // directories known to exist
	buf := make([]byte, 64<<10)
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // git's pax header recording the commit
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if links[dir] {
				return fmt.Errorf("unsafe archive entry %q: goes through the symbolic link %q", hdr.Name, dir)
			}
		}
		if links[name] {
			return fmt.Errorf("unsafe archive entry %q: replaces a symbolic link", hdr.Name)
		}
		if dir := path.Dir(name); dir != "." && !dirs[dir] {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("extracting %q: %w", hdr.Name, err)
			}
			for ; dir != "."; dir = path.Dir(dir) {
				dirs[dir] = true
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if dirs[name] {
				continue
			}
			if err := root.Mkdir(name, 0o755); err != nil {
				return fmt.Errorf("extracting %q: %w", hdr.Name, err)
			}
			dirs[name] = true
		case tar.TypeReg:
			mode := os.FileMode(0o644)
			if hdr.Mode&0o111 != 0 {
				mode = 0o755
			}
			// O_EXCL: never write through something already there.
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
			if err != nil {
				return fmt.Errorf("extracting %q: %w", hdr.Name, err)
			}
			// Hide f's ReadFrom so the buffer is reused.
			_, err = io.CopyBuffer(struct{ io.Writer }{f}, tr, buf)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("extracting %q: %w", hdr.Name, err)
			}
		case tar.TypeSymlink:
			if hdr.Linkname == "" || strings.IndexByte(hdr.Linkname, 0) >= 0 {
				return fmt.Errorf("unsafe archive entry %q: bad link target", hdr.Name)
			}
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return fmt.Errorf("extracting %q: %w", hdr.Name, err)
			}
			links[name] = true
		default:
			return fmt.Errorf("unsafe archive entry %q: unsupported type %q", hdr.Name, hdr.Typeflag)
		}
	}
}

// entryName validates an archive entry's name and returns it cleaned.
func entryName(name string) (string, error) {
	trimmed := strings.TrimSuffix(name, "/")
	bad := trimmed == "" || strings.HasPrefix(trimmed, "/") || strings.IndexByte(trimmed, 0) >= 0
	for elem := range strings.SplitSeq(trimmed, "/") {
		if elem == ".." {
			bad = true
		}
	}
	if bad {
		return "", fmt.Errorf("unsafe archive entry %q: outside the destination", name)
	}
	return path.Clean(trimmed), nil
}
