package gitsource

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExport(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.write("README.md", "readme\n")
	r.write("src/app/main.go", "package main\n")
	r.writeExec("bin/run.sh", "#!/bin/sh\necho run\n")
	r.symlink("src/app", "current")
	r.symlink("/etc/hostname", "absolute-link")
	// A checkout ignores these attributes; so must Export.
	r.write(".gitattributes", "README.md export-ignore\nsubst.txt export-subst\n")
	r.write("subst.txt", "$Format:%H$\n")
	commit := r.commit("tree")
	r.write("later.txt", "not in the export\n")
	r.commit("later")
	_, mir := newTestMirror(t, r)

	dest := filepath.Join(t.TempDir(), "checkout")
	if err := mir.Export(t.Context(), commit, dest); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"README.md":       "readme\n",
		"src/app/main.go": "package main\n",
		"bin/run.sh":      "#!/bin/sh\necho run\n",
		"subst.txt":       "$Format:%H$\n",
		"current/main.go": "package main\n", // through the link, once it exists
	} {
		got, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	for name, exec := range map[string]bool{"bin/run.sh": true, "src/app/main.go": false} {
		fi, err := os.Stat(filepath.Join(dest, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode()&0o100 != 0; got != exec || !fi.Mode().IsRegular() {
			t.Errorf("%s mode = %v, want executable %v", name, fi.Mode(), exec)
		}
	}
	for name, target := range map[string]string{"current": "src/app", "absolute-link": "/etc/hostname"} {
		fi, err := os.Lstat(filepath.Join(dest, name))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is not a symbolic link: %v, %v", name, fi, err)
			continue
		}
		if got, _ := os.Readlink(filepath.Join(dest, name)); got != target {
			t.Errorf("%s -> %q, want %q", name, got, target)
		}
	}
	for _, name := range []string{".git", "later.txt"} {
		if _, err := os.Lstat(filepath.Join(dest, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists in the export: %v", name, err)
		}
	}

	t.Run("into an empty directory", func(t *testing.T) {
		dest := t.TempDir()
		if err := mir.Export(t.Context(), "main", dest); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dest, "later.txt")); err != nil {
			t.Error(err)
		}
	})
	t.Run("into a non-empty directory", func(t *testing.T) {
		dest := t.TempDir()
		if err := os.WriteFile(filepath.Join(dest, "x"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := mir.Export(t.Context(), commit, dest); err == nil {
			t.Fatal("exported over existing files")
		}
	})
	t.Run("unknown commit", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "checkout")
		err := mir.Export(t.Context(), strings.Repeat("c", 40), dest)
		if !errors.Is(err, ErrRevisionNotFound) {
			t.Fatalf("error = %v, want ErrRevisionNotFound", err)
		}
		if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("destination left behind: %v", err)
		}
	})
	t.Run("option as commit", func(t *testing.T) {
		err := mir.Export(t.Context(), "--remote=x", filepath.Join(t.TempDir(), "checkout"))
		if !errors.Is(err, ErrInvalidRevision) {
			t.Fatalf("error = %v, want ErrInvalidRevision", err)
		}
	})
}

// tarEntry describes one entry of a hand-built archive.
type tarEntry struct {
	name     string
	typ      byte
	linkname string
	body     string
	mode     int64
	pax      map[string]string
}

func buildTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.linkname, Mode: mode,
			Size: int64(len(e.body))}
		if e.typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: e.typ, PAXRecords: e.pax}
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractTarRejectsEscapes(t *testing.T) {
	t.Parallel()
	file := func(name string) tarEntry { return tarEntry{name: name, typ: tar.TypeReg, body: "evil"} }
	for _, tc := range []struct {
		name    string
		entries []tarEntry
	}{
		{"parent directory", []tarEntry{file("../evil")}},
		{"nested parent directory", []tarEntry{{name: "a/", typ: tar.TypeDir}, file("a/../../evil")}},
		{"dot-dot inside", []tarEntry{file("a/../evil")}},
		{"absolute path", []tarEntry{file("/tmp/evil")}},
		{"file through a symlink leaving dest", []tarEntry{
			{name: "link", typ: tar.TypeSymlink, linkname: ".."}, file("link/evil"),
		}},
		{"file through an absolute symlink", []tarEntry{
			{name: "link", typ: tar.TypeSymlink, linkname: "/tmp"}, file("link/evil"),
		}},
		{"file through a symlink inside dest", []tarEntry{
			{name: "sub/", typ: tar.TypeDir},
			{name: "link", typ: tar.TypeSymlink, linkname: "sub"}, file("link/evil"),
		}},
		{"directory through a symlink", []tarEntry{
			{name: "link", typ: tar.TypeSymlink, linkname: ".."}, {name: "link/dir/", typ: tar.TypeDir},
		}},
		{"file over a symlink", []tarEntry{
			{name: "link", typ: tar.TypeSymlink, linkname: "../evil"}, file("link"),
		}},
		{"duplicate file", []tarEntry{file("a"), file("a")}},
		{"hard link", []tarEntry{file("a"), {name: "h", typ: tar.TypeLink, linkname: "../../etc/passwd"}}},
		{"device", []tarEntry{{name: "dev", typ: tar.TypeChar}}},
		{"fifo", []tarEntry{{name: "fifo", typ: tar.TypeFifo}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			if err := os.Mkdir(dest, 0o755); err != nil {
				t.Fatal(err)
			}
			err := extractTar(bytes.NewReader(buildTar(t, tc.entries...)), dest)
			if err == nil {
				t.Fatal("archive accepted")
			}
			t.Log(err)
			// Nothing was written outside dest, nor through a link in it.
			if entries, _ := os.ReadDir(parent); len(entries) != 1 {
				t.Errorf("parent holds %v", entries)
			}
			for _, p := range []string{"sub/evil", "evil"} {
				if _, err := os.Lstat(filepath.Join(dest, p)); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

func TestExtractTarAccepts(t *testing.T) {
	t.Parallel()
	dest := t.TempDir()
	archive := buildTar(t,
		// git archive starts with a pax global header holding the commit id.
		tarEntry{name: "pax_global_header", typ: tar.TypeXGlobalHeader, pax: map[string]string{"comment": strings.Repeat("a", 40)}},
		tarEntry{name: "dir/", typ: tar.TypeDir, mode: 0o775},
		tarEntry{name: "dir/run.sh", typ: tar.TypeReg, body: "#!/bin/sh\n", mode: 0o775},
		tarEntry{name: "nested/deeper/file.txt", typ: tar.TypeReg, body: "x"}, // parents not listed
		tarEntry{name: "nested/", typ: tar.TypeDir},                           // listed late
		tarEntry{name: "link", typ: tar.TypeSymlink, linkname: "dir/run.sh"},
		tarEntry{name: "dotdot-link", typ: tar.TypeSymlink, linkname: "../outside"},
	)
	if err := extractTar(bytes.NewReader(archive), dest); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "dir/run.sh")); err != nil || fi.Mode()&0o100 == 0 {
		t.Errorf("run.sh: %v, %v", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "nested/deeper/file.txt")); err != nil || string(b) != "x" {
		t.Errorf("file.txt = %q, %v", b, err)
	}
	for name, want := range map[string]string{"link": "dir/run.sh", "dotdot-link": "../outside"} {
		if got, err := os.Readlink(filepath.Join(dest, name)); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", name, got, err, want)
		}
	}
}

func FuzzEntryName(f *testing.F) {
	for _, s := range []string{"a", "a/b/", "../x", "/abs", "a/../b", "./a", "a//b", ".", "..", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := entryName(name)
		if err != nil {
			return
		}
		if got != "." && !filepath.IsLocal(got) {
			t.Errorf("entryName(%q) = %q, which is not local", name, got)
		}
	})
}
