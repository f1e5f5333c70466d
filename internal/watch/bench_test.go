package watch_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/liftoffhq/liftoff/internal/watch"
)

// The benchmarks model a large monorepo: a 100,000-file tree, a change set
// of 5,000 of its paths (what `git diff --name-only --no-renames` lists in
// 31 ms on the reference machine, see BENCHMARKS.md) and 50 services with 1
// to 4 watch paths each.
const (
	treeFiles    = 100_000
	changedFiles = 5_000
	services     = 50
)

// syntheticTree returns treeFiles distinct repository paths.
func syntheticTree() []string {
	files := make([]string, 0, treeFiles)
	for s := range services { // 75,000
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
	for l := range 20 { // 20,000
		for k := range 1000 {
			if k%20 == 0 {
				files = append(files, fmt.Sprintf("libs/lib%d/proto/msg%d.proto", l, k))
			} else {
				files = append(files, fmt.Sprintf("libs/lib%d/pkg%d/file%d.go", l, k%25, k))
			}
		}
	}
	root := []string{".github/workflows/ci.yml", ".gitignore", "README.md", "go.mod", "go.sum", "Makefile", "liftoff.json", "LICENSE", "tools/lint.sh", "tools/gen.sh"}
	files = append(files, root...)
	for k := range treeFiles - len(files) { // docs: the rest
		files = append(files, fmt.Sprintf("docs/section%d/page%d.md", k%50, k))
	}
	return files
}

// benchSetup returns the changed paths and the services' watch paths.
func benchSetup() (changed []string, watchPaths [][]string) {
	tree := syntheticTree()
	rng := rand.New(rand.NewPCG(42, 1))
	for _, i := range rng.Perm(len(tree))[:changedFiles] {
		changed = append(changed, tree[i])
	}
	for s := range services {
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
		watchPaths = append(watchPaths, wp)
	}
	return changed, watchPaths
}

func benchServices(watchPaths [][]string, cs *watch.ChangeSet) []watch.Service {
	svcs := make([]watch.Service, len(watchPaths))
	for i, wp := range watchPaths {
		svcs[i] = watch.Service{ID: fmt.Sprintf("svc%d", i), WatchPaths: wp, Base: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", Changes: cs}
	}
	return svcs
}

// decideNaive is the reference decision: every changed path against every
// pattern of every service, in order.
func decideNaive(changed []string, watchPaths [][]string) []int {
	matched := make([]int, len(watchPaths))
	for i, wp := range watchPaths {
		n, ok := compileNaive(wp)
		if !ok {
			panic(fmt.Sprintf("invalid %q", wp))
		}
		matched[i] = n.count(changed)
	}
	return matched
}

// BenchmarkDecide50Services measures what the watch-path decision adds to
// the diff: sorting the change set once, then compiling and matching the
// watch paths of 50 services.
func BenchmarkDecide50Services(b *testing.B) {
	changed, watchPaths := benchSetup()
	svcs := benchServices(watchPaths, watch.NewChangeSet(changed))
	ds, err := watch.Decide(false, svcs)
	if err != nil {
		b.Fatal(err)
	}
	want := decideNaive(changed, watchPaths)
	deployed := 0
	for i, d := range ds {
		if d.Matched != want[i] {
			b.Fatalf("%s: matched %d, naive %d", d.ServiceID, d.Matched, want[i])
		}
		if d.Deploy {
			deployed++
		}
	}
	b.ReportMetric(float64(deployed), "deployed")
	for b.Loop() {
		cs := watch.NewChangeSet(changed)
		for i := range svcs {
			svcs[i].Changes = cs
		}
		if _, err := watch.Decide(false, svcs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideNaive is the baseline: every changed path against every
// pattern of every service through doublestar.
func BenchmarkDecideNaive(b *testing.B) {
	changed, watchPaths := benchSetup()
	for b.Loop() {
		decideNaive(changed, watchPaths)
	}
}

// BenchmarkNewChangeSet is the sorting part of BenchmarkDecide50Services
// (shuffled), and what it costs on paths in the order git prints them.
func BenchmarkNewChangeSet(b *testing.B) {
	changed, _ := benchSetup()
	sorted := slices.Sorted(slices.Values(changed))
	for _, bb := range []struct {
		name  string
		paths []string
	}{{"shuffled", changed}, {"git-order", sorted}} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				watch.NewChangeSet(bb.paths)
			}
		})
	}
}
