package watch_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/watch"
)

// FuzzMatch checks that the indexed Matcher agrees with the naive reference
// (every pattern in order through doublestar.Match) on whether a pattern
// list is valid, on every path, and on what Filter reports. Patterns are
// separated by newlines, paths by NUL bytes as `git diff -z` prints them.
func FuzzMatch(f *testing.F) {
	seeds := []struct{ patterns, paths string }{
		{"apps/api/**", "apps/api/main.go\x00apps/api\x00apps/api2/x\x00apps\x00"},
		{"apps/**\n!apps/**/*.md\napps/api/README.md", "apps/api/README.md\x00apps/web/README.md\x00apps/web/x.go"},
		{"!docs/**\n!*.md", "docs/a.md\x00README.md\x00src/a.go"},
		{"**/*.proto\n!**/vendor/**", "a.proto\x00x/y/a.proto\x00vendor/a.proto\x00a.proto.go"},
		{"./apps/{api,web}/\n/libs/*/src/**", "apps/api/x\x00apps/web\x00libs/a/src/b\x00libs/a/b/src/c"},
		{"v[!a-c].txt\nv[^x]?\n[\\]]", "va.txt\x00vd.txt\x00vx\x00]"},
		{"**/Dockerfile\n**/", "Dockerfile\x00a/Dockerfile\x00a/MyDockerfile"},
		{"caf?/**\ndocs/日本語/**\nMy Docs/*", "café/x\x00docs/日本語/a b.md\x00My Docs/x"},
		{"a\uFFFDb\n\xff/**", "a\xffb\x00a\uFFFDb\x00\xfe/x\x00\xff"},
		{"apps/[api\n", "apps/api"},
		{"{a,{b,c}}/**\nx{,y}", "a/1\x00c/2\x00x\x00xy"},
		{`\*\n\!x\n/!y`, "*\x00!x\x00!y"},
		{"a\xff/**\n**/*\xff\n**/*.x/y\n**/*\n*/**", "a\xff/b\x00a\xfe/b\x00a\xff\x00b/c.x/y\x00c.x/y\x00a/\x00a"},
		{"", ""},
	}
	for _, s := range seeds {
		f.Add(s.patterns, s.paths)
	}
	f.Fuzz(func(t *testing.T, patternText, pathText string) {
		if len(patternText) > 256 || len(pathText) > 2048 {
			t.Skip("too long: alternatives make doublestar exponential")
		}
		patterns := strings.Split(patternText, "\n")
		paths := strings.Split(pathText, "\x00")
		// Random paths rarely match random patterns: add paths made from the
		// patterns, which do, or nearly do.
		for _, p := range patterns {
			p = strings.TrimPrefix(p, "!")
			paths = append(paths, p,
				strings.ReplaceAll(p, "*", ""),
				strings.ReplaceAll(p, "*", "x/y"),
				strings.TrimSuffix(strings.TrimSuffix(p, "**"), "/"))
		}

		m, err := watch.Compile(patterns)
		ref, ok := compileNaive(patterns)
		if (err == nil) != ok {
			t.Fatalf("Compile(%q) error = %v, but the reference says valid=%v", patterns, err, ok)
		}
		if !ok {
			return
		}

		counts := make([]int, len(ref.globs))
		var watched []string
		for _, p := range paths {
			i := ref.decider(p)
			want := i >= 0 && !ref.exclude[i]
			if got := m.Match(p); got != want {
				t.Fatalf("Compile(%q).Match(%q) = %v, reference %v", patterns, p, got, want)
			}
			if want && !slices.Contains(watched, p) {
				watched = append(watched, p)
				counts[i]++
			}
		}
		slices.Sort(watched)
		var want watch.Result
		if len(watched) > 0 {
			want.Paths = watched
		}
		// The reference numbers patterns with the implicit "**" included.
		offset := 0
		if len(ref.globs) > len(patterns) {
			offset = 1
		}
		for i, n := range counts {
			if n > 0 {
				want.Patterns = append(want.Patterns, watch.PatternCount{Index: i - offset, Pattern: ref.texts[i], Files: n})
			}
		}
		if got := m.Filter(watch.NewChangeSet(paths)); !reflect.DeepEqual(got, want) {
			t.Fatalf("Compile(%q).Filter(%q)\n got: %+v\nwant: %+v", patterns, paths, got, want)
		}
	})
}
