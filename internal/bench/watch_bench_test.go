package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/watch"
)

// The repository of BenchmarkWatchDecision: BENCHMARKS.md's case, laid out
// as a monorepo (the shape of internal/watch's benchmarks).
const (
	watchTreeFiles = 100_000
	// watchChanged is the number of paths `git diff --name-only --no-renames`
	// lists between the two commits (a rename is two of them).
	watchChanged  = 5_000
	watchServices = 50
	// watchRounds is how many times each of the three is measured, in
	// alternating order.
	watchRounds = 9
)

// BenchmarkWatchDecision measures the engine's watch-path decision for 50
// services on a repository of 100,000 files with 5,000 changed paths between
// two commits: Mirror.ChangedFiles (git diff-tree --no-renames), then
// watch.NewChangeSet and watch.Decide, as the engine's plan step does for
// services sharing one base commit. Baselines on the same commits of the
// same mirror, in the same run: `git diff --name-only A B` (git's default,
// rename detection on) and `git diff --name-only --no-renames -z A B`, each
// run alone with os/exec. Rounds alternate between the three (and rotate
// their order) so that drift on a shared machine hits them alike; the
// medians are reported. Run with -benchtime=1x: each b.N runs every round.
func BenchmarkWatchDecision(b *testing.B) {
	ctx := b.Context()
	repo, base, target, changed := buildWatchRepo(b)
	mgr := gitsource.NewManager(b.TempDir(), slog.New(slog.DiscardHandler), nil)
	mir, err := mgr.Mirror(ctx, "bench", gitsource.Remote{URL: repo})
	if err != nil {
		b.Fatal(err)
	}
	watchPaths := watchBenchPaths()
	decide := func() ([]watch.Decision, int, error) {
		files, err := mir.ChangedFiles(ctx, base, target)
		if err != nil {
			return nil, 0, err
		}
		cs := watch.NewChangeSet(files)
		svcs := make([]watch.Service, len(watchPaths))
		for i, wp := range watchPaths {
			svcs[i] = watch.Service{ID: fmt.Sprintf("svc%d", i), WatchPaths: wp, Base: base, Changes: cs}
		}
		ds, err := watch.Decide(false, svcs)
		return ds, len(files), err
	}

	// Once, outside the timings: the decision is the right one, and not a
	// trivial one (some services deploy, some do not).
	ds, n, err := decide()
	if err != nil {
		b.Fatal(err)
	}
	if n != watchChanged {
		b.Fatalf("ChangedFiles listed %d paths, want %d", n, watchChanged)
	}
	deployed := checkWatchDecisions(b, ds, changed, watchPaths)
	gitDiff := func(args ...string) (int, error) {
		return runGitDiff(ctx, mir.Dir(), append(args, base, target)...)
	}
	renamed, err := gitDiff("--name-only")
	if err != nil {
		b.Fatal(err)
	}
	if renamed >= watchChanged {
		// Renames are listed once with rename detection: this is what
		// makes the baseline do its rename work.
		b.Fatalf("git diff --name-only listed %d paths: no rename was detected", renamed)
	}
	if nr, err := gitDiff("--name-only", "--no-renames", "-z"); err != nil || nr != watchChanged {
		b.Fatalf("git diff --no-renames listed %d paths, %v; want %d", nr, err, watchChanged)
	}

	measures := []struct {
		name string
		run  func() error
	}{
		{"decision", func() error { _, _, err := decide(); return err }},
		{"git-diff", func() error { _, err := gitDiff("--name-only"); return err }},
		{"no-renames", func() error { _, err := gitDiff("--name-only", "--no-renames", "-z"); return err }},
	}
	times := make([][]time.Duration, len(measures))
	b.ResetTimer()
	for range b.N {
		for round := range watchRounds {
			for k := range measures {
				i := (round + k) % len(measures)
				t0 := time.Now()
				if err := measures[i].run(); err != nil {
					b.Fatalf("%s: %v", measures[i].name, err)
				}
				times[i] = append(times[i], time.Since(t0))
			}
		}
	}
	b.StopTimer()
	decision, diff, noRenames := median(times[0]), median(times[1]), median(times[2])
	b.ReportMetric(ms(decision), "decision-ms")
	b.ReportMetric(ms(diff), "git-diff-ms")
	b.ReportMetric(ms(noRenames), "no-renames-ms")
	b.ReportMetric(float64(decision)/float64(diff), "ratio-vs-git-diff")
	b.ReportMetric(float64(decision)/float64(noRenames), "ratio-vs-no-renames")
	b.ReportMetric(float64(deployed), "deployed")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d paths changed (%d listed with rename detection); %d of %d services deploy", watchChanged, renamed, deployed, watchServices)
	for i, m := range measures {
		s := slices.Sorted(slices.Values(times[i]))
		b.Logf("%-10s sorted (ms): %s", m.name, msList(s))
	}
}

// median returns the median of ds (the upper one for an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// runGitDiff runs `git diff ARGS` in the bare repository dir, with git's
// defaults (no system or global configuration), and returns how many paths
// it listed. Its output is read in full, as ChangedFiles reads its own.
func runGitDiff(ctx context.Context, dir string, args ...string) (int, error) {
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", append([]string{"diff"}, args...)...)
	cmd.Dir = dir
	cmd.Env = benchGitEnv()
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("git diff %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	sep := byte('\n')
	if slices.Contains(args, "-z") {
		sep = 0
	}
	return bytes.Count(out.Bytes(), []byte{sep}), nil
}

// benchGitEnv is the environment of the benchmark's own git commands:
// neither the system's nor the user's configuration.
func benchGitEnv() []string {
	return append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "LC_ALL=C", "GIT_TERMINAL_PROMPT=0")
}

// watchBenchPaths are the watchPaths of the 50 services: apps/svcN/** for
// each, libs/** for every third, **/*.proto for every fifth, an exclusion
// of its docs for every fourth and of tests for every seventh.
func watchBenchPaths() [][]string {
	out := make([][]string, watchServices)
	for s := range watchServices {
		wp := []string{fmt.Sprintf("apps/svc%d/**", s)}
		if s%3 == 0 {
			wp = append(wp, "libs/**")
		}
		if s%5 == 0 {
			wp = append(wp, "**/*.proto")
		}
		if s%4 == 0 {
			wp = append(wp, fmt.Sprintf("!apps/svc%d/docs/**", s))
		}
		if s%7 == 0 && len(wp) < 4 {
			wp = append(wp, "!**/*_test.go")
		}
		out[s] = wp
	}
	return out
}

// checkWatchDecisions compares the decisions with a naive evaluation of the
// watch paths (doublestar, every pattern on every changed path, the last
// matching pattern deciding) over the paths the generator changed, and
// returns how many services deploy. It fails unless some deploy and some
// do not.
func checkWatchDecisions(b *testing.B, ds []watch.Decision, changed []string, watchPaths [][]string) int {
	b.Helper()
	if len(ds) != len(watchPaths) {
		b.Fatalf("%d decisions for %d services", len(ds), len(watchPaths))
	}
	deployed := 0
	for i, wp := range watchPaths {
		want := 0
		for _, p := range changed {
			last, exclude := -1, false
			for k, pat := range wp {
				g, ex := strings.CutPrefix(pat, "!")
				if doublestar.MatchUnvalidated(g, p) {
					last, exclude = k, ex
				}
			}
			if last >= 0 && !exclude {
				want++
			}
		}
		d := ds[i]
		if d.Deploy != (want > 0) || d.Matched != want {
			b.Fatalf("service %d %q: deploy %v, matched %d (%s); the naive evaluation matches %d files", i, wp, d.Deploy, d.Matched, d.Reason, want)
		}
		if d.Deploy {
			deployed++
		}
	}
	if deployed == 0 || deployed == len(ds) {
		b.Fatalf("%d of %d services deploy: the benchmark would measure a trivial decision", deployed, len(ds))
	}
	return deployed
}

// watchTree returns the watchTreeFiles paths of the base commit: 50
// services of 1,500 files, 20 libraries of 1,000, a few root files and
// docs for the rest.
func watchTree() []string {
	files := make([]string, 0, watchTreeFiles)
	for s := range watchServices {
		for k := range 1500 {
			switch k % 10 {
			case 0:
				files = append(files, fmt.Sprintf("apps/svc%d/docs/page%d.md", s, k))
			case 1:
				files = append(files, fmt.Sprintf("apps/svc%d/proto/v%d/msg%d.proto", s, k%3, k))
			case 2, 3:
				files = append(files, fmt.Sprintf("apps/svc%d/src/pkg%d/file%d_test.go", s, k%40, k))
			default:
				files = append(files, fmt.Sprintf("apps/svc%d/src/pkg%d/file%d.go", s, k%40, k))
			}
		}
	}
	for l := range 20 {
		for k := range 1000 {
			if k%20 == 0 {
				files = append(files, fmt.Sprintf("libs/lib%d/proto/msg%d.proto", l, k))
			} else {
				files = append(files, fmt.Sprintf("libs/lib%d/pkg%d/file%d.go", l, k%25, k))
			}
		}
	}
	files = append(files, ".github/workflows/ci.yml", ".gitignore", "README.md", "go.mod", "go.sum", "Makefile",
		"liftoff.json", "LICENSE", "tools/lint.sh", "tools/gen.sh")
	for k := range watchTreeFiles - len(files) {
		files = append(files, fmt.Sprintf("docs/section%d/page%d.md", k%50, k))
	}
	return files
}

// watchChange is one change of the target commit.
type watchChange struct {
	kind     byte // 'M'odify, 'A'dd, 'D'elete, 'R'ename (with a small edit)
	path, to string
}

// watchChanges picks the target commit's changes, as a big merge would
// bring them: sources of 30 services (edits, a few adds, deletes and
// renames, some tests and protos), only the docs of 8 more, 2 libraries, and
// repository docs for the rest; 12 services are untouched. Together they
// are watchChanged paths of `git diff --no-renames`.
func watchChanges(tree []string) []watchChange {
	rng := rand.New(rand.NewPCG(42, 1))
	byDir := map[string][]string{}
	dirOf := func(p string) string {
		parts := strings.SplitN(p, "/", 4)
		switch parts[0] {
		case "apps":
			return parts[0] + "/" + parts[1] + "/" + parts[2] // apps/svcN/{docs,proto,src}
		case "libs":
			return parts[0] + "/" + parts[1]
		}
		return parts[0]
	}
	for _, p := range tree {
		byDir[dirOf(p)] = append(byDir[dirOf(p)], p)
	}
	var out []watchChange
	paths := 0
	pick := func(dir string, n int, kind byte) {
		files := byDir[dir]
		for _, i := range rng.Perm(len(files))[:n] {
			c := watchChange{kind: kind, path: files[i]}
			switch kind {
			case 'A':
				c.path = strings.TrimSuffix(files[i], ".go") + "_new.go"
				if !strings.HasSuffix(files[i], ".go") {
					c.path = files[i] + ".new"
				}
			case 'R':
				c.to = strings.Replace(files[i], "/src/", "/src/moved/", 1)
				paths++ // the old path and the new one
			}
			out = append(out, c)
			paths++
		}
		// Do not pick a file twice.
		picked := map[string]bool{}
		for _, c := range out {
			picked[c.path] = true
		}
		byDir[dir] = slices.DeleteFunc(files, func(p string) bool { return picked[p] })
	}
	for s := range 30 {
		src := fmt.Sprintf("apps/svc%d/src", s)
		pick(src, 120, 'M')
		pick(src, 4, 'A')
		pick(src, 3, 'D')
		pick(src, 4, 'R')
		if s%6 == 0 {
			pick(fmt.Sprintf("apps/svc%d/proto", s), 5, 'M')
		}
	}
	for s := 30; s < 38; s++ {
		pick(fmt.Sprintf("apps/svc%d/docs", s), 10, 'M')
	}
	pick("libs/lib3", 60, 'M')
	pick("libs/lib11", 40, 'M')
	pick("docs", watchChanged-paths, 'M')
	return out
}

// buildWatchRepo writes the benchmark's repository with git fast-import, a
// base commit of watchTree and a target commit with watchChanges, and
// returns it, the two commits and the paths that changed (a rename is both
// its paths).
func buildWatchRepo(b *testing.B) (dir, base, target string, changed []string) {
	b.Helper()
	dir = b.TempDir()
	gitRun := func(stdin io.Reader, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = benchGitEnv()
		cmd.Stdin = stdin
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
		}
		return strings.TrimSpace(out.String()), nil
	}
	git := func(args ...string) string {
		out, err := gitRun(nil, args...)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	git("init", "-q", "-b", "main")

	tree := watchTree()
	changes := watchChanges(tree)
	pr, pw := io.Pipe()
	imported := make(chan error, 1)
	go func() {
		_, err := gitRun(pr, "fast-import", "--quiet")
		// Unblock the writer if git stopped reading.
		_ = pr.CloseWithError(io.ErrClosedPipe)
		imported <- err
	}()
	w := bufio.NewWriterSize(pw, 1<<20)
	// Files of a few lines, so that a rename with a small edit is still
	// similar enough for git's rename detection.
	content := func(path, edit string) string {
		return fmt.Sprintf("// %s\npackage p\n\nconst Name = %q\n\nfunc Value() int { return %d }\n%s", path, path, len(path), edit)
	}
	file := func(path, data string) {
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", path, len(data), data)
	}
	fmt.Fprint(w, "commit refs/heads/main\nmark :1\ncommitter Bench <bench@liftoff.invalid> 1700000000 +0000\ndata 4\nbase\n")
	for _, p := range tree {
		file(p, content(p, ""))
	}
	fmt.Fprint(w, "\ncommit refs/heads/main\nmark :2\ncommitter Bench <bench@liftoff.invalid> 1700000100 +0000\ndata 6\ntarget\nfrom :1\n")
	for _, c := range changes {
		switch c.kind {
		case 'M', 'A':
			file(c.path, content(c.path, "// changed\n"))
		case 'D':
			fmt.Fprintf(w, "D %s\n", c.path)
		case 'R':
			fmt.Fprintf(w, "D %s\n", c.path)
			file(c.to, content(c.path, "// moved\n"))
		}
		changed = append(changed, c.path)
		if c.to != "" {
			changed = append(changed, c.to)
		}
	}
	fmt.Fprint(w, "\n")
	err := w.Flush()
	_ = pw.CloseWithError(err)
	if importErr := <-imported; importErr != nil {
		b.Fatal(importErr)
	}
	if err != nil {
		b.Fatal(err)
	}
	revs := strings.Fields(git("rev-parse", "main~1", "main"))
	if len(revs) != 2 {
		b.Fatalf("rev-parse: %q", revs)
	}
	return dir, revs[0], revs[1], changed
}
