package watch

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
)

// PatternError is an invalid watch path. Config validation can use Index to
// point at watchPaths[Index].
type PatternError struct {
	Index   int    // position in watchPaths
	Pattern string // as written
	Reason  string // why it is invalid, e.g. "unterminated character class"
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("watchPaths[%d] %q: %s", e.Index, e.Pattern, e.Reason)
}

// Matcher decides whether a path is watched by an ordered list of patterns.
// Build it with [Compile]; it is immutable and safe for concurrent use.
type Matcher struct {
	patterns []pattern // in watchPaths order, after the implicit "**" if any
}

type patternKind uint8

const (
	kindGlob    patternKind = iota // needs doublestar
	kindAll                        // "**": matches every path
	kindLiteral                    // no meta character: matches one path
	kindTree                       // "dir/**": matches dir and every path under it
	kindSuffix                     // "**/*.ext": matches every path ending in .ext
)

type pattern struct {
	text    string // as written, for reasons
	index   int    // in watchPaths; -1 for the implicit leading "**"
	exclude bool
	kind    patternKind
	glob    string // what doublestar matches
	// prefix and suffix are literal text every matching path starts and ends
	// with. A path equal to prefix without its trailing "/" may match too:
	// doublestar lets "apps/**" match "apps".
	prefix string
	suffix string
}

// Compile validates patterns (the watchPaths of one service) and prepares
// them for matching. See the package documentation for their semantics. An
// error is a *PatternError naming the first invalid pattern.
func Compile(patterns []string) (*Matcher, error) {
	m := &Matcher{patterns: make([]pattern, 0, len(patterns)+1)}
	for i, text := range patterns {
		p, err := compileOne(i, text)
		if err != nil {
			return nil, err
		}
		if i == 0 && p.exclude {
			m.patterns = append(m.patterns, pattern{text: "**", index: -1, kind: kindAll, glob: "**"})
		}
		m.patterns = append(m.patterns, p)
	}
	return m, nil
}

func compileOne(index int, text string) (pattern, error) {
	p := pattern{text: text, index: index}
	g := text
	if strings.HasPrefix(g, "!") {
		p.exclude = true
		g = g[1:]
	}
	if strings.HasSuffix(g, "/") {
		g += "**"
	}
	for {
		if rest, ok := strings.CutPrefix(g, "./"); ok {
			g = rest
		} else if rest, ok := strings.CutPrefix(g, "/"); ok {
			g = rest
		} else {
			break
		}
	}
	if g == "" {
		return p, &PatternError{Index: index, Pattern: text, Reason: "empty pattern"}
	}
	if reason := invalidReason(g); reason != "" {
		return p, &PatternError{Index: index, Pattern: text, Reason: reason}
	}
	if !doublestar.ValidatePattern(g) {
		// invalidReason mirrors doublestar's validation; this only guards
		// against a future doublestar being stricter.
		return p, &PatternError{Index: index, Pattern: text, Reason: "invalid glob"}
	}
	p.glob = g
	var literal bool
	p.prefix, literal = literalPrefix(g)
	if !literal {
		p.suffix = literalSuffix(g)
	}
	// The commonest shapes need no doublestar call; doublestar agrees, as
	// FuzzMatch checks.
	switch {
	case g == "**":
		p.kind = kindAll
	case literal:
		p.kind = kindLiteral
	case strings.HasSuffix(p.prefix, "/") && g == p.prefix+"**":
		p.kind = kindTree
	case p.suffix != "" && !strings.Contains(p.suffix, "/") && g == "**/*"+p.suffix:
		p.kind = kindSuffix
	}
	return p, nil
}

// invalidReason says why doublestar would reject g, or "" when it would not.
// It follows doublestar's own validation step by step, to say why.
func invalidReason(g string) string {
	depth := 0
	for i := 0; i < len(g); i++ {
		switch g[i] {
		case '\\':
			if i++; i >= len(g) {
				return `trailing "\" escapes nothing`
			}
		case '[':
			if i++; i < len(g) && (g[i] == '!' || g[i] == '^') {
				i++
			}
			if i >= len(g) {
				return "unterminated character class"
			}
			if g[i] == ']' {
				return "empty character class"
			}
			for ; i < len(g) && g[i] != ']'; i++ {
				if g[i] == '\\' {
					i++
				}
			}
			if i >= len(g) {
				return "unterminated character class"
			}
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return `"}" without a matching "{"`
			}
			depth--
		}
	}
	if depth > 0 {
		return `"{" without a matching "}"`
	}
	return ""
}

// isMeta reports whether c starts or ends something doublestar does not
// match literally.
func isMeta(c rune) bool {
	switch c {
	case '*', '?', '[', ']', '{', '}', '\\':
		return true
	}
	return false
}

// literalPrefix returns the text before g's first meta character, and
// whether g is all literal. Doublestar compares runes, and decodes every
// invalid byte as utf8.RuneError, so a byte comparison is only sound up to
// the first rune that decodes to RuneError.
func literalPrefix(g string) (prefix string, literal bool) {
	for i, r := range g {
		if r == utf8.RuneError || isMeta(r) {
			return g[:i], false
		}
	}
	return g, true
}

// literalSuffix returns the text after g's last meta character, less a
// leading "/" (the "/" of "**/" matches nothing when "**" matches no
// directory: "**/a" matches "a").
func literalSuffix(g string) string {
	i := len(g)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(g[:i])
		if r == utf8.RuneError || isMeta(r) {
			break
		}
		i -= size
	}
	return strings.TrimPrefix(g[i:], "/")
}

// Match reports whether path is watched: the last pattern matching it is
// positive.
func (m *Matcher) Match(path string) bool {
	for i := len(m.patterns) - 1; i >= 0; i-- {
		p := &m.patterns[i]
		if p.match(path) {
			return !p.exclude
		}
	}
	return false
}

func (p *pattern) match(path string) bool {
	switch p.kind {
	case kindAll:
		return true
	case kindLiteral:
		return path == p.glob
	case kindTree:
		return strings.HasPrefix(path, p.prefix) || p.isDirOfPrefix(path)
	case kindSuffix:
		return strings.HasSuffix(path, p.suffix)
	}
	if !strings.HasPrefix(path, p.prefix) && !p.isDirOfPrefix(path) {
		return false
	}
	return p.matchInRange(path)
}

// matchInRange matches a path already known to start with the prefix, or
// to be the prefix without its trailing "/" (for a literal pattern: known to
// be the pattern).
func (p *pattern) matchInRange(path string) bool {
	switch p.kind {
	case kindAll, kindTree, kindLiteral:
		return true
	case kindSuffix:
		return strings.HasSuffix(path, p.suffix)
	}
	return strings.HasSuffix(path, p.suffix) && doublestar.MatchUnvalidated(p.glob, path)
}

// isDirOfPrefix reports whether path is the prefix without its trailing "/".
func (p *pattern) isDirOfPrefix(path string) bool {
	n := len(p.prefix)
	return n > 0 && p.prefix[n-1] == '/' && path == p.prefix[:n-1]
}

// PatternCount is a positive pattern and the number of paths it decided.
type PatternCount struct {
	Index   int    // position in watchPaths; -1 for the implicit leading "**"
	Pattern string // as written
	Files   int
}

// Result says which paths of a change set a Matcher watches.
type Result struct {
	// Paths are the watched paths, sorted.
	Paths []string
	// Patterns are the positive patterns that decided at least one watched
	// path (were the last to match it), in watchPaths order.
	Patterns []PatternCount
}

// Filter returns the paths of cs that m watches, and which patterns
// decided them. A nil cs is an empty change set.
func (m *Matcher) Filter(cs *ChangeSet) Result {
	paths := cs.sorted()
	counts := make([]int, len(m.patterns))
	decider := m.decide(paths, nil, counts, nil)
	var r Result
	for j, i := range decider {
		if i >= 0 && !m.patterns[i].exclude {
			r.Paths = append(r.Paths, paths[j])
		}
	}
	for i, n := range counts {
		if n > 0 && !m.patterns[i].exclude {
			p := &m.patterns[i]
			r.Patterns = append(r.Patterns, PatternCount{Index: p.index, Pattern: p.text, Files: n})
		}
	}
	return r
}

// decide returns, for each of the sorted paths, the index in m.patterns of
// the last pattern matching it, or -1, and sets counts[i] to the number of
// paths pattern i decided. It reuses buf when it is big enough. shared, when
// not nil, holds the paths' matches of globs other matchers use too.
//
// Patterns are tried last to first so that a path is matched only until its
// deciding pattern is found, and each pattern only tries the paths in its
// prefix range.
func (m *Matcher) decide(paths []string, buf []int32, counts []int, shared *sharedMatches) []int32 {
	decider := buf[:0]
	if cap(decider) < len(paths) {
		decider = make([]int32, 0, len(paths))
	}
	decider = decider[:len(paths)]
	for j := range decider {
		decider[j] = -1
	}
	var scratch []int32
	undecided := len(paths)
	for i := len(m.patterns) - 1; i >= 0 && undecided > 0; i-- {
		p := &m.patterns[i]
		var matched []int32
		if shared != nil && shared.uses[p.glob] > 1 {
			matched = shared.matches(p, paths)
		} else {
			scratch = p.matches(paths, scratch[:0])
			matched = scratch
		}
		n := 0 // paths p decides
		for _, j := range matched {
			if decider[j] < 0 {
				decider[j] = int32(i)
				n++
			}
		}
		counts[i] = n
		undecided -= n
	}
	return decider
}

// matches appends to dst the indices of the sorted paths p matches: one
// binary search for a literal pattern, else the paths in its prefix range
// (and the prefix's directory itself) that matchInRange accepts.
func (p *pattern) matches(paths []string, dst []int32) []int32 {
	if p.kind == kindLiteral {
		if j, ok := search(paths, p.glob); ok {
			dst = append(dst, int32(j))
		}
		return dst
	}
	if dir, ok := strings.CutSuffix(p.prefix, "/"); ok {
		if j, ok := search(paths, dir); ok && p.matchInRange(paths[j]) {
			dst = append(dst, int32(j))
		}
	}
	lo, hi := prefixRange(paths, p.prefix)
	for j := lo; j < hi; j++ {
		if p.matchInRange(paths[j]) {
			dst = append(dst, int32(j))
		}
	}
	return dst
}

// sharedMatches remembers, for one change set, which of its paths each glob
// matches, so that a glob several services watch ("libs/**",
// "**/*.proto") is matched against the change set once per [Decide] rather
// than once per service. A glob's matches depend on nothing else: whether
// the pattern excludes, and which pattern decides a path, are applied by
// each matcher on top.
type sharedMatches struct {
	uses   map[string]int     // services whose watchPaths have the glob
	byGlob map[string][]int32 // matches of the globs used more than once
}

func (s *sharedMatches) matches(p *pattern, paths []string) []int32 {
	if got, ok := s.byGlob[p.glob]; ok {
		return got
	}
	got := p.matches(paths, nil)
	s.byGlob[p.glob] = got
	return got
}

// globs returns the distinct globs of m's patterns.
func (m *Matcher) globs() []string {
	out := make([]string, 0, len(m.patterns))
	for i := range m.patterns {
		if g := m.patterns[i].glob; !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}
