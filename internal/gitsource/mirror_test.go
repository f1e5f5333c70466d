package gitsource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/gittest"
)

func TestManagerMirrorClones(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.write("README.md", "hello\n")
	head := r.commit("first")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, r.dir)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, url string
	}{
		{"absolute path", r.dir},
		{"relative path", rel},
		{"file URL", "file://" + r.dir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			mgr := NewManager(dir, testLogger(t), nil)
			mir, err := mgr.Mirror(t.Context(), "proj", Remote{URL: tc.url})
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, "proj.git"); mir.Dir() != want {
				t.Errorf("Dir() = %q, want %q", mir.Dir(), want)
			}
			got, err := mir.ResolveCommit(t.Context(), "main")
			if err != nil || got != head {
				t.Errorf("ResolveCommit(main) = %q, %v; want %q", got, err, head)
			}
			// A second call reuses the mirror and leaves nothing else behind.
			if _, err := mgr.Mirror(t.Context(), "proj", Remote{URL: tc.url}); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != "proj.git" {
				t.Errorf("manager directory holds %v, want only proj.git", entries)
			}
		})
	}
}

func TestManagerMirrorRejects(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.commit("first")
	mgr := NewManager(t.TempDir(), testLogger(t), nil)
	for _, tc := range []struct {
		name, projectID, url string
		want                 error
	}{
		{"option as URL", "proj", "--upload-pack=touch /tmp/pwned", ErrInvalidRepoURL},
		{"ssh host option", "proj", "ssh://-oProxyCommand=touch%20x/repo", ErrInvalidRepoURL},
		{"git protocol", "proj", "git://example.com/repo.git", ErrInvalidRepoURL},
		{"missing local path", "proj", filepath.Join(r.dir, "nope"), ErrInvalidRepoURL},
		{"project id with slash", "../x", r.dir, nil},
		{"project id starting with dash", "-x", r.dir, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := mgr.Mirror(t.Context(), tc.projectID, Remote{URL: tc.url})
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v does not wrap %v", err, tc.want)
			}
		})
	}
}

func TestManagerRemove(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.commit("first")
	mgr, mir := newTestMirror(t, r)
	if err := mgr.Remove(t.Context(), "proj"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mir.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mirror still there: %v", err)
	}
	if err := mgr.Remove(t.Context(), "proj"); err != nil {
		t.Errorf("removing again: %v", err)
	}
	// It comes back on next use.
	mir, err := mgr.Mirror(t.Context(), "proj", Remote{URL: r.dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mir.ResolveCommit(t.Context(), "main"); err != nil {
		t.Error(err)
	}
}

// TestCredentialsRedacted checks that a token in a repository URL never
// reaches an error message, whichever step fails.
func TestCredentialsRedacted(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-token"
	// Nothing listens on port 1: every attempt fails fast.
	secretURL := "https://user:" + secret + "@127.0.0.1:1/owner/repo.git"
	r := newTestRepo(t, "main")
	r.commit("first")
	mgr, _ := newTestMirror(t, r)

	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "user:") {
			t.Errorf("error shows the credential: %v", err)
		}
		// The URL without its user information: Liftoff keeps it apart.
		if !strings.Contains(err.Error(), "https://127.0.0.1:1/owner/repo.git") {
			t.Errorf("error does not name the URL: %v", err)
		}
	}
	t.Run("clone", func(t *testing.T) {
		_, err := mgr.Mirror(t.Context(), "other", Remote{URL: secretURL})
		check(t, err)
		if _, err := os.Stat(filepath.Join(mgr.dir, "other.git")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a failed clone left a mirror behind: %v", err)
		}
	})
	// Repointing the existing mirror makes fetches fail.
	mir, err := mgr.Mirror(t.Context(), "proj", Remote{URL: secretURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("fetch", func(t *testing.T) { check(t, mir.Fetch(t.Context())) })
	t.Run("fetch commit", func(t *testing.T) {
		check(t, mir.FetchCommit(t.Context(), strings.Repeat("ab", 20), 3))
	})
	t.Run("revision not found", func(t *testing.T) {
		_, err := mir.ResolveCommit(t.Context(), "nope")
		check(t, err)
	})
}

func TestDefaultBranch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		setup   func(r *testRepo) // before the clone
		after   func(r *testRepo) // after the clone, followed by a Fetch
		want    string
		wantErr error
	}{
		{name: "main", setup: func(r *testRepo) {}, want: "main"},
		{name: "trunk", setup: func(r *testRepo) { r.git("branch", "-m", "trunk") }, want: "trunk"},
		{
			name:  "remote HEAD moved",
			setup: func(r *testRepo) { r.git("branch", "develop") },
			after: func(r *testRepo) { r.git("symbolic-ref", "HEAD", "refs/heads/develop") },
			want:  "develop",
		},
		{
			name: "dangling HEAD falls back to main",
			setup: func(r *testRepo) {
				r.git("branch", "other")
				r.git("symbolic-ref", "HEAD", "refs/heads/gone")
			},
			want: "main",
		},
		{
			name: "dangling HEAD falls back to master",
			setup: func(r *testRepo) {
				r.git("branch", "-m", "master")
				r.git("symbolic-ref", "HEAD", "refs/heads/gone")
			},
			want: "master",
		},
		{
			name: "dangling HEAD without fallback",
			setup: func(r *testRepo) {
				r.git("branch", "-m", "trunk")
				r.git("symbolic-ref", "HEAD", "refs/heads/gone")
			},
			wantErr: ErrRevisionNotFound,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRepo(t, "main")
			r.commit("first")
			tc.setup(r)
			_, mir := newTestMirror(t, r)
			if tc.after != nil {
				tc.after(r)
				if err := mir.Fetch(t.Context()); err != nil {
					t.Fatal(err)
				}
				mir.RefreshHead(t.Context())
			}
			got, err := mir.DefaultBranch(t.Context())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("DefaultBranch() = %q, %v; want error %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("DefaultBranch() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestFetch(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.commit("first")
	r.git("branch", "old")
	r.git("tag", "old-tag")
	_, mir := newTestMirror(t, r)
	ctx := t.Context()

	r.write("new.txt", "new\n")
	newHead := r.commit("second")
	r.git("branch", "feature")
	pr := r.prOnlyCommit("7", "pr.txt")
	r.git("branch", "-D", "old")
	r.git("tag", "-d", "old-tag")

	if err := mir.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rev, want string
		wantErr   error
	}{
		{rev: "main", want: newHead},
		{rev: "feature", want: newHead},
		{rev: "refs/pull/7/head", want: pr},
		{rev: "old", wantErr: ErrRevisionNotFound},
		{rev: "old-tag", wantErr: ErrRevisionNotFound},
	} {
		t.Run(tc.rev, func(t *testing.T) {
			got, err := mir.ResolveCommit(ctx, tc.rev)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ResolveCommit(%q) = %q, %v; want %v", tc.rev, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ResolveCommit(%q) = %q, %v; want %q", tc.rev, got, err, tc.want)
			}
		})
	}
}

// TestFetchSerialised runs fetches of one mirror at once; unserialised,
// git fails to lock the refs it updates.
func TestFetchSerialised(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.commit("first")
	mgr, _ := newTestMirror(t, r)
	for i := range 20 {
		r.git("branch", "b"+strings.Repeat("x", i))
	}
	r.commit("second")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			// Separate Mirror values share the project's lock.
			mir, err := mgr.Mirror(t.Context(), "proj", Remote{URL: r.dir})
			if err == nil {
				err = mir.Fetch(t.Context())
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestFetchCommit(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	head := r.commit("first")
	_, mir := newTestMirror(t, r)
	pr7 := r.prOnlyCommit("7", "seven.txt")
	pr8 := r.prOnlyCommit("8", "eight.txt")
	pr9 := r.prOnlyCommit("9", "nine.txt")
	unknown := strings.Repeat("0123456789", 4)

	for _, tc := range []struct {
		name     string
		sha      string
		pr       int
		wantErr  error
		wantText []string
	}{
		{name: "already there", sha: head},
		{name: "full SHA of a pull request", sha: pr7, pr: 7},
		// A short SHA cannot be asked for: only the PR ref brings it.
		{name: "short SHA of a pull request", sha: pr8[:10], pr: 8},
		{name: "full SHA without a pull request", sha: pr9},
		{name: "unknown SHA", sha: unknown, pr: 7, wantErr: ErrRevisionNotFound, wantText: []string{unknown, r.dir}},
		{name: "unknown SHA and pull request", sha: unknown, pr: 99, wantErr: ErrRevisionNotFound, wantText: []string{unknown, r.dir}},
		{name: "unknown short SHA", sha: "abcdef1", wantErr: ErrRevisionNotFound, wantText: []string{"abcdef1"}},
		{name: "option", sha: "-abcdef1", wantErr: ErrInvalidRevision},
		{name: "not hex", sha: "main", wantErr: ErrInvalidRevision},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mir.FetchCommit(t.Context(), tc.sha, tc.pr)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if ok, err := mir.HasCommit(t.Context(), tc.sha); !ok || err != nil {
					t.Fatalf("HasCommit after FetchCommit = %v, %v", ok, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("FetchCommit = %v, want %v", err, tc.wantErr)
			}
			for _, s := range tc.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
		})
	}
}

func TestResolveCommit(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.write("a.txt", "1\n")
	first := r.commit("first")
	r.git("tag", "-a", "-m", "release", "v1.0")
	r.git("tag", "light")
	r.write("a.txt", "2\n")
	second := r.commit("second")
	_, mir := newTestMirror(t, r)

	for _, tc := range []struct {
		name, rev, want string
		wantErr         error
	}{
		{name: "branch", rev: "main", want: second},
		{name: "annotated tag", rev: "v1.0", want: first},
		{name: "lightweight tag", rev: "light", want: first},
		{name: "full SHA", rev: first, want: first},
		{name: "upper-case SHA", rev: strings.ToUpper(first), want: first},
		{name: "short SHA", rev: first[:7], want: first},
		{name: "expression", rev: "main~1", want: first},
		{name: "HEAD", rev: "HEAD", want: second},
		{name: "unknown name", rev: "nope", wantErr: ErrRevisionNotFound},
		{name: "unknown SHA", rev: strings.Repeat("f", 40), wantErr: ErrRevisionNotFound},
		{name: "tree, not commit", rev: "main^{tree}", wantErr: ErrRevisionNotFound},
		{name: "option", rev: "--all", wantErr: ErrInvalidRevision},
		{name: "short option", rev: "-h", wantErr: ErrInvalidRevision},
		{name: "path", rev: "main:a.txt", wantErr: ErrInvalidRevision},
		{name: "empty", rev: "", wantErr: ErrInvalidRevision},
		{name: "newline", rev: "main\n--all", wantErr: ErrInvalidRevision},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := mir.ResolveCommit(t.Context(), tc.rev)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ResolveCommit(%q) = %q, %v; want %v", tc.rev, got, err, tc.wantErr)
				}
				if tc.rev != "" && !strings.Contains(err.Error(), tc.rev) && !strings.Contains(err.Error(), "\\n") {
					t.Errorf("error %q does not name %q", err, tc.rev)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ResolveCommit(%q) = %q, %v; want %q", tc.rev, got, err, tc.want)
			}
		})
	}
}

// TestResolveCommitAmbiguous builds enough commits for two of them to
// share a four-digit prefix. fast-import with fixed dates makes the SHAs, and
// so the test, deterministic.
func TestResolveCommitAmbiguous(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	var stream strings.Builder
	for i := 1; i <= 1500; i++ {
		msg := "commit " + strconv.Itoa(i)
		stream.WriteString("commit refs/heads/main\nmark :" + strconv.Itoa(i) + "\n")
		stream.WriteString("committer Test <test@liftoff.invalid> 1700000000 +0000\n")
		stream.WriteString("data " + strconv.Itoa(len(msg)) + "\n" + msg + "\n")
		if i > 1 {
			stream.WriteString("from :" + strconv.Itoa(i-1) + "\n")
		}
		stream.WriteString("\n")
	}
	runTestGit(t, r.dir, strings.NewReader(stream.String()), "fast-import", "--quiet")
	_, mir := newTestMirror(t, r)

	seen := make(map[string]bool)
	prefix := ""
	for sha := range strings.SplitSeq(runTestGit(t, mir.Dir(), nil, "rev-list", "--all"), "\n") {
		if seen[sha[:4]] {
			prefix = sha[:4]
			break
		}
		seen[sha[:4]] = true
	}
	if prefix == "" {
		t.Fatal("no two commits share a four-digit prefix; add commits")
	}
	_, err := mir.ResolveCommit(t.Context(), prefix)
	if !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("ResolveCommit(%q) error = %v, want ErrAmbiguous", prefix, err)
	}
	if !strings.Contains(err.Error(), `"`+prefix+`"`) {
		t.Errorf("error %q does not name %q", err, prefix)
	}
	if _, err := mir.HasCommit(t.Context(), prefix); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("HasCommit(%q) error = %v, want ErrAmbiguous", prefix, err)
	}
}

func TestAncestry(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	c1 := r.commit("one")
	c2 := r.commit("two")
	r.git("checkout", "-q", "-b", "feature", c1)
	c3 := r.commit("three")
	_, mir := newTestMirror(t, r)
	ctx := t.Context()

	t.Run("IsAncestor", func(t *testing.T) {
		for _, tc := range []struct {
			a, d    string
			want    bool
			wantErr error
		}{
			{a: c1, d: c2, want: true},
			{a: c2, d: c1, want: false},
			{a: c1, d: c1, want: true},
			{a: c3, d: "main", want: false},
			{a: "nope", d: c1, wantErr: ErrRevisionNotFound},
			{a: "-x", d: c1, wantErr: ErrInvalidRevision},
		} {
			got, err := mir.IsAncestor(ctx, tc.a, tc.d)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("IsAncestor(%q, %q) error = %v, want %v", tc.a, tc.d, err, tc.wantErr)
				}
				continue
			}
			if err != nil || got != tc.want {
				t.Errorf("IsAncestor(%q, %q) = %v, %v; want %v", tc.a, tc.d, got, err, tc.want)
			}
		}
	})
	t.Run("MergeBase", func(t *testing.T) {
		for _, tc := range []struct {
			a, b    string
			want    string
			wantErr error
		}{
			{a: "main", b: "feature", want: c1},
			{a: c3, b: c2, want: c1},
			{a: c2, b: c1, want: c1},
			{a: "nope", b: c1, wantErr: ErrRevisionNotFound},
			{a: "-x", b: c1, wantErr: ErrInvalidRevision},
		} {
			got, err := mir.MergeBase(ctx, tc.a, tc.b)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("MergeBase(%q, %q) error = %v, want %v", tc.a, tc.b, err, tc.wantErr)
				}
				continue
			}
			if err != nil || got != tc.want {
				t.Errorf("MergeBase(%q, %q) = %q, %v; want %q", tc.a, tc.b, got, err, tc.want)
			}
		}
	})
	t.Run("BranchContains", func(t *testing.T) {
		for _, tc := range []struct {
			branch, commit string
			want           bool
			wantErr        error
		}{
			{branch: "main", commit: c1, want: true},
			{branch: "main", commit: c2, want: true},
			{branch: "main", commit: c3, want: false},
			{branch: "feature", commit: c3, want: true},
			{branch: "feature", commit: c2, want: false},
			{branch: "gone", commit: c1, wantErr: ErrRevisionNotFound},
			{branch: "main", commit: strings.Repeat("e", 40), wantErr: ErrRevisionNotFound},
			{branch: "-x", commit: c1, wantErr: ErrInvalidRevision},
			{branch: "main", commit: "--all", wantErr: ErrInvalidRevision},
		} {
			got, err := mir.BranchContains(ctx, tc.branch, tc.commit)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("BranchContains(%q, %q) error = %v, want %v", tc.branch, tc.commit, err, tc.wantErr)
				}
				continue
			}
			if err != nil || got != tc.want {
				t.Errorf("BranchContains(%q, %q) = %v, %v; want %v", tc.branch, tc.commit, got, err, tc.want)
			}
		}
	})
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.write("liftoff.json", `{"v":1}`)
	first := r.commit("first")
	r.write("liftoff.json", `{"v":2}`)
	r.write("apps/api/main.go", "package main\n")
	r.symlink("liftoff.json", "link.json")
	r.symlink("nope.json", "dangling.json")
	r.symlink("../../etc/passwd", "outside")
	r.write("max.bin", strings.Repeat("x", MaxFileSize))
	r.write("big.bin", strings.Repeat("x", MaxFileSize+1))
	r.write("with space/ünï.txt", "unicode\n")
	r.commit("second")
	_, mir := newTestMirror(t, r)

	for _, tc := range []struct {
		name, rev, path, want string
		wantErr               error
	}{
		{name: "head", rev: "main", path: "liftoff.json", want: `{"v":2}`},
		{name: "older commit", rev: first, path: "liftoff.json", want: `{"v":1}`},
		{name: "leading ./", rev: "main", path: "./liftoff.json", want: `{"v":2}`},
		{name: "leading /", rev: "main", path: "/liftoff.json", want: `{"v":2}`},
		{name: "nested", rev: "main", path: "apps/api/main.go", want: "package main\n"},
		{name: "space and unicode", rev: "main", path: "with space/ünï.txt", want: "unicode\n"},
		{name: "symlink followed", rev: "main", path: "link.json", want: `{"v":2}`},
		{name: "at the size limit", rev: "main", path: "max.bin", want: strings.Repeat("x", MaxFileSize)},
		{name: "missing", rev: "main", path: "flightcontrol.json", wantErr: ErrFileNotFound},
		{name: "missing at older commit", rev: first, path: "apps/api/main.go", wantErr: ErrFileNotFound},
		{name: "directory", rev: "main", path: "apps", wantErr: ErrFileNotFound},
		{name: "dangling symlink", rev: "main", path: "dangling.json", wantErr: ErrFileNotFound},
		{name: "symlink outside", rev: "main", path: "outside", wantErr: ErrFileNotFound},
		{name: "too large", rev: "main", path: "big.bin", wantErr: ErrFileTooLarge},
		{name: "unknown revision", rev: "nope", path: "liftoff.json", wantErr: ErrRevisionNotFound},
		{name: "option revision", rev: "-p", path: "liftoff.json", wantErr: ErrInvalidRevision},
		{name: "escaping path", rev: "main", path: "../x", wantErr: ErrInvalidPath},
		{name: "empty path", rev: "main", path: "", wantErr: ErrInvalidPath},
		{name: "newline in path", rev: "main", path: "a\nmain:liftoff.json", wantErr: ErrInvalidPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := mir.ReadFile(t.Context(), tc.rev, tc.path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ReadFile(%q, %q) = %d bytes, %v; want %v", tc.rev, tc.path, len(got), err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("ReadFile(%q, %q) = %.40q, %v; want %.40q", tc.rev, tc.path, got, err, tc.want)
			}
		})
	}
}

// TestContextEndsGit checks that git is killed when the context ends, and
// the error says why.
func TestContextEndsGit(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.commit("first")
	_, mir := newTestMirror(t, r)

	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := mir.ResolveCommit(ctx, "main"); !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
	t.Run("while running", func(t *testing.T) {
		// cat-file --batch waits for input that never comes.
		stdin, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		defer w.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = run(ctx, mir.Dir(), "", stdin, nil, "cat-file", "--batch")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("git took %v to die", d)
		}
	})
}

// TestCredentialKeptApart fetches from a real HTTP git server that refuses
// every request without basic authentication: a credential given in the
// URL, or apart from it, reaches the server, while the mirror's config,
// `git remote -v` and every error hold the URL without it.
func TestCredentialKeptApart(t *testing.T) {
	t.Parallel()
	const user, token = "x-access-token", "ghp_Zm9vYmFyc2VjcmV0dG9rZW4"
	root := t.TempDir()
	r := newTestRepo(t, "main")
	r.write("README.md", "hello\n")
	r.commit("first")
	runTestGit(t, root, nil, "clone", "-q", "--bare", r.dir, filepath.Join(root, "shop.git"))
	srv := gittest.NewHTTPServer(t, root, user, token)
	plain := srv.URL + "/shop.git"
	withToken := strings.Replace(plain, "http://", "http://"+user+":"+token+"@", 1)

	noSecret := func(t *testing.T, what, s string) {
		t.Helper()
		if strings.Contains(s, token) {
			t.Errorf("%s shows the token: %q", what, s)
		}
	}
	for _, tc := range []struct {
		name   string
		remote Remote
	}{
		{"in the URL", Remote{URL: withToken}},
		{"apart", Remote{URL: plain, Credential: Credential{Username: user, Password: token}}},
	} {
		// One after the other: both push to the same repository.
		t.Run(tc.name, func(t *testing.T) {
			mgr := NewManager(t.TempDir(), testLogger(t), nil)
			mir, err := mgr.Mirror(t.Context(), "proj", tc.remote)
			if err != nil {
				t.Fatal(err)
			}
			first := r.git("rev-parse", "HEAD")
			if got, err := mir.ResolveBranch(t.Context(), "main"); err != nil || got != first {
				t.Fatalf("ResolveBranch(main) = %q, %v; want %q", got, err, first)
			}
			r.write("README.md", "again "+tc.name+"\n")
			second := r.commit("second")
			runTestGit(t, r.dir, nil, "push", "-q", filepath.Join(root, "shop.git"), "main")
			if err := mir.Fetch(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got, err := mir.ResolveBranch(t.Context(), "main"); err != nil || got != second {
				t.Fatalf("after fetch, main = %q, %v; want %q", got, err, second)
			}
			mir.RefreshHead(t.Context())
			config, err := os.ReadFile(filepath.Join(mir.Dir(), "config"))
			if err != nil {
				t.Fatal(err)
			}
			noSecret(t, "the mirror's config", string(config))
			if !strings.Contains(string(config), "url = "+plain+"\n") {
				t.Errorf("the mirror's config does not name %s:\n%s", plain, config)
			}
			remotes := runTestGit(t, mir.Dir(), nil, "remote", "-v")
			noSecret(t, "git remote -v", remotes)
			if !strings.Contains(remotes, plain) {
				t.Errorf("git remote -v = %q", remotes)
			}
			// A missing commit makes git ask the server: that works too,
			// and the error names the URL without the token.
			err = mir.FetchCommit(t.Context(), strings.Repeat("ab", 20), 0)
			if !errors.Is(err, ErrRevisionNotFound) {
				t.Fatalf("FetchCommit of a missing commit: %v", err)
			}
			noSecret(t, "the error", err.Error())
		})
	}
	// A mirror cloned before credentials were kept apart has the token in
	// its config: the first use rewrites it.
	t.Run("mirror from before", func(t *testing.T) {
		dir := t.TempDir()
		runTestGit(t, dir, nil, "clone", "-q", "--mirror", withToken, filepath.Join(dir, "proj.git"))
		mir, err := NewManager(dir, testLogger(t), nil).Mirror(t.Context(), "proj", Remote{URL: withToken})
		if err != nil {
			t.Fatal(err)
		}
		if err := mir.Fetch(t.Context()); err != nil {
			t.Fatal(err)
		}
		config, err := os.ReadFile(filepath.Join(mir.Dir(), "config"))
		if err != nil {
			t.Fatal(err)
		}
		noSecret(t, "the old mirror's config", string(config))
	})
	t.Run("required", func(t *testing.T) {
		before := srv.Unauthorized.Load()
		_, err := NewManager(t.TempDir(), testLogger(t), nil).Mirror(t.Context(), "proj", Remote{URL: plain})
		if err == nil {
			t.Fatal("cloned without the credential")
		}
		if srv.Unauthorized.Load() == before {
			t.Error("the server refused nothing: the test does not prove the credential is sent")
		}
	})
}

// TestResolveBranchOnlyBranches: a branch name is looked up as
// refs/heads/<name> and nothing else, so a pull request ref, a SHA, a tag,
// or a tag named like a branch's full ref do not resolve.
func TestResolveBranchOnlyBranches(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.write("a.txt", "1\n")
	main := r.commit("first")
	r.git("tag", "v1.0.0")
	r.git("tag", "-a", "-m", "annotated", "v2.0.0")
	pr := r.prOnlyCommit("7", "pr.txt")
	r.git("checkout", "-q", "-b", "feature/x")
	r.write("b.txt", "2\n")
	feature := r.commit("feature")
	r.git("checkout", "-q", "main")
	// A tag whose name is a branch's full ref name: git's name lookup
	// finds it as refs/tags/refs/heads/ghost.
	r.git("update-ref", "refs/tags/refs/heads/ghost", feature)
	_, mir := newTestMirror(t, r)

	for _, tc := range []struct{ branch, want string }{
		{"main", main},
		{"refs/heads/main", main},
		{"feature/x", feature},
	} {
		if got, err := mir.ResolveBranch(t.Context(), tc.branch); err != nil || got != tc.want {
			t.Errorf("ResolveBranch(%q) = %q, %v; want %q", tc.branch, got, err, tc.want)
		}
	}
	for _, branch := range []string{"pull/7/head", "refs/pull/7/head", main, main[:7], "v1.0.0", "v2.0.0", "tags/v1.0.0",
		"ghost", "refs/heads/ghost", "HEAD", "main~1", "main^{tree}", "heads/main", "nope"} {
		got, err := mir.ResolveBranch(t.Context(), branch)
		if err == nil {
			t.Errorf("ResolveBranch(%q) = %q, want an error", branch, got)
			continue
		}
		if !errors.Is(err, ErrRevisionNotFound) && !errors.Is(err, ErrInvalidRevision) {
			t.Errorf("ResolveBranch(%q): %v wraps neither ErrRevisionNotFound nor ErrInvalidRevision", branch, err)
		}
		if ok, err := mir.BranchContains(t.Context(), branch, main); err == nil {
			t.Errorf("BranchContains(%q, main) = %v, want an error", branch, ok)
		}
	}
	_ = pr
}

// allowOnly is a Policy that refuses every URL but one, and counts calls.
type allowOnly struct {
	url   string
	mu    sync.Mutex
	calls []string
}

func (p *allowOnly) Allow(_ context.Context, u string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, u)
	if u != p.url {
		return errors.New(u + " is not the one allowed")
	}
	return nil
}

// TestPolicyAskedBeforeEveryFetch: the policy judges the URL before the
// clone and again before each fetch, and a refusal wraps ErrNotAllowed.
func TestPolicyAskedBeforeEveryFetch(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t, "main")
	r.commit("first")
	pol := &allowOnly{url: r.dir}
	mgr := NewManager(t.TempDir(), testLogger(t), pol)
	if _, err := mgr.Mirror(t.Context(), "other", Remote{URL: "file://" + r.dir}); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("clone of a refused URL: %v", err)
	}
	mir, err := mgr.Mirror(t.Context(), "proj", Remote{URL: r.dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := mir.Fetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := mir.FetchCommit(t.Context(), strings.Repeat("ab", 20), 0); !errors.Is(err, ErrRevisionNotFound) {
		t.Fatalf("FetchCommit: %v", err)
	}
	pol.mu.Lock()
	calls := len(pol.calls)
	pol.url = "nothing" // the policy changed its mind (DNS moved)
	pol.mu.Unlock()
	if calls < 4 {
		t.Errorf("policy asked %d times for a refused clone, a clone, a fetch and a fetch of a commit", calls)
	}
	if err := mir.Fetch(t.Context()); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("fetch after the policy changed: %v", err)
	}
	if err := mir.FetchCommit(t.Context(), strings.Repeat("cd", 20), 0); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("fetch of a commit after the policy changed: %v", err)
	}
}
