package gitsource

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const (
	benchFiles   = 100_000
	benchChanged = 5_000
)

// BenchmarkChangedFiles compares ChangedFiles with running git's diff
// alone on a repository of 100,000 files whose second commit changes 5,000
// of them (BENCHMARKS.md's case). The repository is built once per run,
// outside the timings.
func BenchmarkChangedFiles(b *testing.B) {
	mir, base, target := buildBenchRepo(b)
	ctx := b.Context()
	if got, err := mir.ChangedFiles(ctx, base, target); err != nil || len(got) != benchChanged {
		b.Fatalf("ChangedFiles = %d paths, %v; want %d", len(got), err, benchChanged)
	}

	// What the brief names as the floor: git diff, as a user would run it.
	b.Run("git-diff-only", func(b *testing.B) {
		for b.Loop() {
			if err := run(ctx, mir.Dir(), "", nil, io.Discard, "diff", "--name-only", "--no-renames", "-z", base, target); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The command ChangedFiles runs, without the parsing.
	b.Run("git-diff-tree-only", func(b *testing.B) {
		for b.Loop() {
			if err := run(ctx, mir.Dir(), "", nil, io.Discard, "diff-tree", "-r", "-z", "--name-only", "--no-renames",
				"--no-commit-id", "--end-of-options", base, target, "--"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ChangedFiles", func(b *testing.B) {
		for b.Loop() {
			if _, err := mir.ChangedFiles(ctx, base, target); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// buildBenchRepo writes the benchmark's repository with git fast-import:
// 100 directories of 10 subdirectories of 100 files, then a commit changing
// every 20th file.
func buildBenchRepo(b *testing.B) (mir *Mirror, base, target string) {
	b.Helper()
	dir := b.TempDir()
	runTestGit(b, dir, nil, "init", "--bare", "-q")

	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Env = testGitEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	name := func(i int) string {
		return fmt.Sprintf("pkg%02d/sub%d/file%02d.go", i/1000, i/100%10, i%100)
	}
	file := func(path, content string) {
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", path, len(content), content)
	}
	fmt.Fprint(w, "commit refs/heads/main\nmark :1\ncommitter Bench <bench@liftoff.invalid> 1700000000 +0000\ndata 4\nbase\n")
	for i := range benchFiles {
		file(name(i), "package p // "+name(i)+"\n")
	}
	fmt.Fprint(w, "\ncommit refs/heads/main\nmark :2\ncommitter Bench <bench@liftoff.invalid> 1700000100 +0000\ndata 6\ntarget\nfrom :1\n")
	for i := 0; i < benchFiles; i += benchFiles / benchChanged {
		file(name(i), "package p // changed "+name(i)+"\n")
	}
	fmt.Fprint(w, "\n")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("git fast-import: %v: %s", err, stderr.String())
	}

	mir = &Mirror{dir: dir, url: dir, state: newMirrorState(), logger: testLogger(b)}
	revs := strings.Fields(runTestGit(b, dir, nil, "rev-parse", "main~1", "main"))
	return mir, revs[0], revs[1]
}
