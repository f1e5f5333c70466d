package watch_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/watch"
)

// TestMatchAgreesWithReference is FuzzMatch's deterministic sibling: pattern
// lists and paths built from a small alphabet, so that they match often and
// exercise the prefix and suffix index around "/", "**" and exclusions.
func TestMatchAgreesWithReference(t *testing.T) {
	t.Parallel()
	patternTokens := []string{"a", "b", "ab", "/", "/", "*", "**", "**/", "/**", "?", "[ab]", "[!a]", "{a,b}", "{a,}", "{/a,b/}", ".", "é", `\*`}
	pathTokens := []string{"a", "b", "ab", "/", "/", ".", "é", "*", "ba"}
	rng := rand.New(rand.NewPCG(1, 2))
	build := func(tokens []string, maxLen int) string {
		var b strings.Builder
		for range rng.IntN(maxLen) + 1 {
			b.WriteString(tokens[rng.IntN(len(tokens))])
		}
		return b.String()
	}
	for c := range 20000 {
		patterns := make([]string, rng.IntN(4)+1)
		for i := range patterns {
			patterns[i] = build(patternTokens, 5)
			if rng.IntN(3) == 0 {
				patterns[i] = "!" + patterns[i]
			}
		}
		paths := make([]string, 20)
		for i := range paths {
			paths[i] = build(pathTokens, 6)
		}
		m, err := watch.Compile(patterns)
		ref, ok := compileNaive(patterns)
		if (err == nil) != ok {
			t.Fatalf("case %d: Compile(%q) error = %v, reference valid=%v", c, patterns, err, ok)
		}
		if !ok {
			continue
		}
		want := 0
		for _, p := range paths {
			if got, w := m.Match(p), ref.match(p); got != w {
				t.Fatalf("case %d: Compile(%q).Match(%q) = %v, reference %v", c, patterns, p, got, w)
			}
		}
		cs := watch.NewChangeSet(paths)
		seen := map[string]bool{}
		for _, p := range paths {
			if !seen[p] && ref.match(p) {
				want++
			}
			seen[p] = true
		}
		if got := len(m.Filter(cs).Paths); got != want {
			t.Fatalf("case %d: Compile(%q).Filter(%q) watches %d paths, reference %d", c, patterns, paths, got, want)
		}
	}
}
