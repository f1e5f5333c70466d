package imagepack

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is every entry's modification time. Not a date that looks real:
// a static site's files would then answer If-Modified-Since with 304 for
// ever, whatever a later deployment changed; http.ServeContent sends no
// Last-Modified for the epoch.
var epoch = time.Unix(0, 0).UTC()

// fileLayer is a layer whose gzip'd tar is a file, with its digests
// computed as it was written: once, where go-containerregistry's tarball
// layers compress twice (for the digest, then to send).
type fileLayer struct {
	path      string
	digest    v1.Hash // of the compressed bytes
	diffID    v1.Hash // of the tar
	size      int64
	mediaType types.MediaType
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// counter counts what is written through it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// writeLayer makes a layer of what fill writes to a tar, in a temporary
// file of dir, which the caller removes (remove) once pushed.
func writeLayer(ctx context.Context, dir string, mediaType types.MediaType, fill func(*tar.Writer) error) (_ *fileLayer, err error) {
	f, err := os.CreateTemp(dir, "liftoff-layer-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("layer file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	var (
		digest, diffID hash.Hash = sha256.New(), sha256.New()
		size           counter
	)
	buf := bufio.NewWriterSize(io.MultiWriter(f, digest, &size), 1<<16)
	zw, err := gzip.NewWriterLevel(buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(io.MultiWriter(zw, diffID))
	if err := fill(tw); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, c := range []interface{ Close() error }{tw, zw} {
		if err := c.Close(); err != nil {
			return nil, fmt.Errorf("layer file: %w", err)
		}
	}
	if err := buf.Flush(); err != nil {
		return nil, fmt.Errorf("layer file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("layer file: %w", err)
	}
	return &fileLayer{path: f.Name(), mediaType: mediaType, size: size.n,
		digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", digest.Sum(nil))},
		diffID: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", diffID.Sum(nil))}}, nil
}

// remove removes the layer's file.
func (l *fileLayer) remove() { _ = os.Remove(l.path) }

// owner owns a layer's entries, and says what their modes become.
type owner struct {
	uid, gid int
	// readOnly makes files 0644 (0755 with any executable bit) and
	// directories 0755; else their permissions stay, less setuid, setgid
	// and sticky.
	readOnly bool
}

func (o owner) mode(m fs.FileMode) int64 {
	if !o.readOnly {
		return int64(m.Perm())
	}
	if m.IsDir() || m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// header is an entry's header, with everything that is not the file's
// own fixed: owner, times, no user or group names.
func (o owner) header(name string, typ byte, mode fs.FileMode) *tar.Header {
	return &tar.Header{Name: name, Typeflag: typ, Mode: o.mode(mode), Uid: o.uid, Gid: o.gid, ModTime: epoch, Format: tar.FormatPAX}
}

// skipped counts what addTree left out: sockets, devices, named pipes.
type skipped struct{ n int }

// addTree writes the directory src as dest (a path in the image without
// its leading slash: "app") and everything under it, in lexical order:
// directories, regular files (a hard link as a copy) and symbolic links
// as they are. Other files are left out and counted in skip.
func addTree(ctx context.Context, tw *tar.Writer, src, dest string, own owner, skip *skipped) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", src)
	}
	if err := tw.WriteHeader(own.header(dest+"/", tar.TypeDir, info.Mode())); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == src {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name := path.Join(dest, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch m := info.Mode(); {
		case m.IsDir():
			return tw.WriteHeader(own.header(name+"/", tar.TypeDir, m))
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h := own.header(name, tar.TypeSymlink, 0o777)
			h.Mode, h.Linkname = 0o777, target
			return tw.WriteHeader(h)
		case m.IsRegular():
			return addFile(tw, p, name, own, m)
		default:
			skip.n++
			return nil
		}
	})
}

// addFile writes the regular file src as name.
func addFile(tw *tar.Writer, src, name string, own owner, mode fs.FileMode) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is no longer a regular file", src)
	}
	h := own.header(name, tar.TypeReg, mode)
	h.Size = fi.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	// Exactly Size bytes: a file that grows while it is read must not
	// corrupt the archive, one that shrinks fails.
	n, err := io.Copy(tw, io.LimitReader(f, h.Size))
	if err == nil && n < h.Size {
		err = errors.New("it shrank while it was read")
	}
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return nil
}
