package watch_test

import (
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// naive is the reference the indexed Matcher must agree with: every
// pattern, in order, through doublestar, the last match deciding. Its
// normalization is written again from the package documentation rather than
// shared, so that the fuzz test checks it too.
//
// It validates each pattern once with doublestar.ValidatePattern and then
// matches with doublestar.MatchUnvalidated, as the package does, rather than
// with doublestar.Match: Match re-validates the rest of the pattern from
// where a mismatch happened, and when that is inside a character class it
// reports a valid pattern as bad ("[!0[]" against "0"), and inside
// alternatives it then gives up before trying the next one
// ("{[!0[],0}" does not match "0"). See TestDoublestarRevalidation.
type naive struct {
	globs   []string
	texts   []string
	exclude []bool
}

// compileNaive returns false when any pattern is invalid.
func compileNaive(patterns []string) (*naive, bool) {
	n := &naive{}
	for i, text := range patterns {
		g, exclude := strings.CutPrefix(text, "!")
		if strings.HasSuffix(g, "/") {
			g += "**"
		}
		for strings.HasPrefix(g, "./") || strings.HasPrefix(g, "/") {
			g = strings.TrimPrefix(strings.TrimPrefix(g, "./"), "/")
		}
		if g == "" || !doublestar.ValidatePattern(g) {
			return nil, false
		}
		if i == 0 && exclude {
			n.add("**", "**", false)
		}
		n.add(g, text, exclude)
	}
	return n, true
}

func (n *naive) add(glob, text string, exclude bool) {
	n.globs = append(n.globs, glob)
	n.texts = append(n.texts, text)
	n.exclude = append(n.exclude, exclude)
}

// decider returns the index of the last pattern matching path, or -1.
func (n *naive) decider(path string) int {
	last := -1
	for i, g := range n.globs {
		if doublestar.MatchUnvalidated(g, path) {
			last = i
		}
	}
	return last
}

func (n *naive) match(path string) bool {
	i := n.decider(path)
	return i >= 0 && !n.exclude[i]
}

// count returns how many of paths are watched.
func (n *naive) count(paths []string) int {
	c := 0
	for _, p := range paths {
		if n.match(p) {
			c++
		}
	}
	return c
}
