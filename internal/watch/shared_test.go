package watch_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/watch"
)

// TestDecideSharedGlobs checks Decide, which matches a glob several services
// watch once per change set, against the reference and against deciding
// each service alone: globs shared by patterns written differently
// ("libs/**", "./libs/", "!/libs/**"), positive in one service and
// excluded in another, repeated within one service, and services on two
// change sets.
func TestDecideSharedGlobs(t *testing.T) {
	t.Parallel()
	paths := []string{
		"libs", "libs/a.go", "libs/a_test.go", "libs/p/x.proto", "libs-x/y.go", "apps/api/a.proto",
		"apps/api/docs/a.md", "apps/api/main.go", "apps/web/{a,b}.go", "apps/web/[x].go", "apps/web/*.go",
		"a.proto", "README.md", "apps/web/a.go",
	}
	other := []string{"libs/b.go", "docs/x.md", "apps/web/a_test.go"}
	watchPaths := [][]string{
		{"libs/**", "**/*.proto"},
		{"./libs/", "!**/*_test.go"},
		{"!/libs/**"},
		{"apps/**", "!libs/**", "libs/**", "!**/*.proto"},
		{"**/*.proto", "!apps/**", "**/*.proto"},
		{"apps/web/{a,b}.go", `apps/web/\{a,b\}.go`, "apps/web/[[]x].go"},
		{"apps/web/{a,b}.go", `apps/web/\*.go`, "!**/*_test.go"},
		{"**", "!**/*.md", "apps/*/docs/**"},
		{"libs/**", "!**/*.proto", "**/*_test.go"},
	}
	check := func(t *testing.T, paths []string, watchPaths [][]string) {
		t.Helper()
		cs := watch.NewChangeSet(paths)
		otherCS := watch.NewChangeSet(other)
		svcs := make([]watch.Service, 0, 2*len(watchPaths))
		for i, wp := range watchPaths {
			svcs = append(svcs,
				watch.Service{ID: fmt.Sprintf("a%d", i), WatchPaths: wp, Base: "b", Changes: cs},
				watch.Service{ID: fmt.Sprintf("o%d", i), WatchPaths: wp, Base: "b", Changes: otherCS})
		}
		ds, err := watch.Decide(false, svcs)
		if err != nil {
			t.Fatal(err)
		}
		for k, s := range svcs {
			ref, ok := compileNaive(s.WatchPaths)
			if !ok {
				t.Fatalf("%q invalid", s.WatchPaths)
			}
			changed := paths
			if s.Changes == otherCS {
				changed = other
			}
			want := ref.count(slices.Compact(slices.Sorted(slices.Values(changed))))
			if ds[k].Matched != want || ds[k].Deploy != (want > 0) {
				t.Errorf("%s %q: matched %d (%s), reference %d", s.ID, s.WatchPaths, ds[k].Matched, ds[k].Reason, want)
			}
			alone, err := watch.Decide(false, []watch.Service{s})
			if err != nil {
				t.Fatal(err)
			}
			if alone[0] != ds[k] {
				t.Errorf("%s %q: decided with others %+v, alone %+v", s.ID, s.WatchPaths, ds[k], alone[0])
			}
		}
	}
	t.Run("fixed", func(t *testing.T) { check(t, paths, watchPaths) })

	// Random pattern lists drawn from a small pool, so that services share
	// globs, over paths of the same alphabet (as TestMatchAgreesWithReference).
	t.Run("random", func(t *testing.T) {
		patternTokens := []string{"a", "b", "/", "*", "**", "**/", "/**", "?", "[ab]", "[!a]", "{a,b}", "{/a,b/}", ".", `\*`}
		pathTokens := []string{"a", "b", "/", ".", "*", "ba"}
		rng := rand.New(rand.NewPCG(3, 4))
		build := func(tokens []string, maxLen int) string {
			var b strings.Builder
			for range rng.IntN(maxLen) + 1 {
				b.WriteString(tokens[rng.IntN(len(tokens))])
			}
			return b.String()
		}
		for range 300 {
			var pool []string
			for len(pool) < 6 {
				p := build(patternTokens, 4)
				if _, ok := compileNaive([]string{p}); ok && strings.Trim(p, "/.") != "" {
					pool = append(pool, p)
				}
			}
			wps := make([][]string, 6)
			for i := range wps {
				for range rng.IntN(3) + 1 {
					p := pool[rng.IntN(len(pool))]
					if rng.IntN(3) == 0 {
						p = "!" + p
					}
					wps[i] = append(wps[i], p)
				}
			}
			ps := make([]string, 25)
			for i := range ps {
				ps[i] = build(pathTokens, 6)
			}
			check(t, ps, wps)
			if t.Failed() {
				t.Fatalf("watch paths %q, paths %q", wps, ps)
			}
		}
	})
}

// TestNewChangeSetOrder checks that a change set is sorted and without
// duplicates whatever the input's order: git's (sorted, checked in one
// pass), shuffled, or with duplicates in either.
func TestNewChangeSetOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"empty", nil, nil},
		{"sorted", []string{"a", "a/b", "a0", "b"}, []string{"a", "a/b", "a0", "b"}},
		{"shuffled", []string{"b", "a/b", "a", "a0"}, []string{"a", "a/b", "a0", "b"}},
		{"sorted duplicates", []string{"a", "a", "b", "b"}, []string{"a", "b"}},
		{"shuffled duplicates", []string{"b", "a", "b", "a"}, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			m, err := watch.Compile([]string{"**"})
			if err != nil {
				t.Fatal(err)
			}
			cs := watch.NewChangeSet(in)
			if got := m.Filter(cs).Paths; !slices.Equal(got, tc.want) || cs.Len() != len(tc.want) {
				t.Errorf("NewChangeSet(%q): paths %q, Len %d; want %q", tc.in, got, cs.Len(), tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("NewChangeSet modified its input: %q", in)
			}
		})
	}
}
