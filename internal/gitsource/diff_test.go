package gitsource

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestChangedFiles(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.write("modified.txt", "1\n")
	r.write("deleted.txt", "gone soon\n")
	r.write("old/name.txt", "renamed content\n")
	r.write("dir with space/file one.txt", "1\n")
	r.write("mode.sh", "echo\n")
	r.write("unchanged/keep.txt", "keep\n")
	base := r.commit("base")

	r.write("modified.txt", "2\n")
	r.write("added.txt", "new\n")
	r.remove("deleted.txt")
	r.rename("old/name.txt", "new/name.txt")
	r.write("dir with space/file one.txt", "2\n")
	r.writeExec("mode.sh", "echo\n")
	r.write("ünïcödé/ファイル.txt", "unicode\n")
	r.write("line\nbreak.txt", "newline in the name\n")
	target := r.commit("target")
	_, mir := newTestMirror(t, r)

	for _, tc := range []struct {
		name, base, target string
		want               []string
		wantErr            error
	}{
		{
			name: "every kind of change", base: base, target: target,
			want: []string{
				"added.txt", "deleted.txt", "dir with space/file one.txt", "line\nbreak.txt",
				"mode.sh", "modified.txt", "new/name.txt", "old/name.txt", "ünïcödé/ファイル.txt",
			},
		},
		{name: "reverse", base: "main", target: "main~1", want: []string{
			"added.txt", "deleted.txt", "dir with space/file one.txt", "line\nbreak.txt",
			"mode.sh", "modified.txt", "new/name.txt", "old/name.txt", "ünïcödé/ファイル.txt",
		}},
		{name: "same commit", base: target, target: target, want: nil},
		{name: "unknown base", base: strings.Repeat("d", 40), target: target, wantErr: ErrRevisionNotFound},
		{name: "unknown target", base: base, target: "nope", wantErr: ErrRevisionNotFound},
		{name: "option", base: "--output=/tmp/x", target: target, wantErr: ErrInvalidRevision},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := mir.ChangedFiles(t.Context(), tc.base, tc.target)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ChangedFiles = %q, %v; want %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ChangedFiles =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestReadNULSeparated(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a/", 50_000) + "end" // longer than the read buffer
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{name: "empty", in: "", want: nil},
		{name: "one", in: "a\x00", want: []string{"a"}},
		{name: "several", in: "a\x00b c\x00d\ne\x00", want: []string{"a", "b c", "d\ne"}},
		{name: "no final NUL", in: "a\x00b", want: []string{"a", "b"}},
		{name: "long path", in: "x\x00" + long + "\x00y\x00", want: []string{"x", long, "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readNULSeparated(strings.NewReader(tc.in))
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("readNULSeparated = %.60q, %v; want %.60q", got, err, tc.want)
			}
		})
	}
}
