// Package redact keeps secrets out of text that leaves Liftoff: deployment
// output, runtime logs, error messages, answers and log lines of the HTTP
// edge. It is the one scrubber. A Scrubber (or Secrets) replaces the secrets
// Liftoff issues, found by their shape (token.Pattern, the one definition),
// and any exact values it was given; Writer does the same to a stream, line
// by line, with bounded memory, so that no secret survives being cut in two
// by a read or a line split. Lookalikes casts a wider net for short texts
// that may quote a secret cut short or mangled.
package redact

import (
	"cmp"
	"regexp"
	"slices"
	"strings"

	"github.com/liftoffhq/liftoff/internal/token"
)

// Redacted replaces a secret. A secret of Liftoff's own keeps its prefix
// ("lfh_[REDACTED]"), which says what leaked.
const Redacted = "[REDACTED]"

// Secrets replaces every secret Liftoff issues in text, inside longer
// words too: New().String, for text that holds no other secret values.
func Secrets(text string) string { return (*Scrubber)(nil).String(text) }

// Scrubber replaces secrets in text. The nil *Scrubber, like New(), knows
// only the shapes of Liftoff's secrets. It is safe for concurrent use.
type Scrubber struct {
	values []string // longest first
	maxLen int
}

// New returns a scrubber of Liftoff's secrets and of values, exact strings
// such as the values of a service's secret variables. A value of several
// lines is redacted line by line (output is read in lines); blank lines are
// ignored.
func New(values ...string) *Scrubber {
	var vs []string
	for _, v := range values {
		for line := range strings.SplitSeq(v, "\n") {
			if line = strings.TrimRight(line, "\r"); strings.TrimSpace(line) != "" {
				vs = append(vs, line)
			}
		}
	}
	if len(vs) == 0 {
		return nil
	}
	// Longest first: of two values where one starts the other, the longer
	// one wins at a position.
	slices.SortFunc(vs, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	vs = slices.Compact(vs)
	maxLen := token.Len
	for _, v := range vs {
		maxLen = max(maxLen, len(v))
	}
	return &Scrubber{values: vs, maxLen: maxLen}
}

// shapes matches the secrets Liftoff issues.
var shapes = regexp.MustCompile(token.Pattern)

// MaxLen is the longest text one secret can span. A reader of text in parts
// keeps MaxLen-1 bytes of a part to see a secret cut at its end.
func (s *Scrubber) MaxLen() int {
	if s == nil {
		return token.Len
	}
	return s.maxLen
}

// mayContain is the fast path: false means text surely holds no secret.
func (s *Scrubber) mayContain(text string) bool {
	if strings.Contains(text, token.HookPrefix) || strings.Contains(text, token.APIKeyPrefix) {
		return true
	}
	if s == nil {
		return false
	}
	for _, v := range s.values {
		if strings.Contains(text, v) {
			return true
		}
	}
	return false
}

// match is a secret found in a text: text[start:end].
type match struct{ start, end int }

// find returns the secrets in text, left to right, without overlaps: at
// each step the one that starts first, and of those the longest. Values are
// compared as bytes (a regular expression would read invalid UTF-8 as
// U+FFFD and miss them).
func (s *Scrubber) find(text string) []match {
	var out []match
	var values []string
	if s != nil {
		values = s.values
	}
	// next[i] is where candidate i (0 the shape, then each value) next
	// occurs at or after pos, -1 when nowhere; found lazily.
	next := make([]match, len(values)+1)
	for i := range next {
		next[i] = match{-2, -2}
	}
	for pos := 0; pos < len(text); {
		best := match{-1, -1}
		for i := range next {
			if n := next[i]; n.start == -2 || (n.start >= 0 && n.start < pos) {
				next[i] = s.occurrence(text, pos, i, values)
			}
			n := next[i]
			if n.start >= 0 && (best.start < 0 || n.start < best.start || (n.start == best.start && n.end > best.end)) {
				best = n
			}
		}
		if best.start < 0 {
			break
		}
		out = append(out, best)
		pos = best.end
	}
	return out
}

// occurrence finds candidate i in text at or after pos.
func (s *Scrubber) occurrence(text string, pos, i int, values []string) match {
	if i == 0 {
		if m := shapes.FindStringIndex(text[pos:]); m != nil {
			return match{pos + m[0], pos + m[1]}
		}
		return match{-1, -1}
	}
	if j := strings.Index(text[pos:], values[i-1]); j >= 0 {
		return match{pos + j, pos + j + len(values[i-1])}
	}
	return match{-1, -1}
}

// String replaces every secret in text, inside longer words too: what it
// returns never holds a whole secret.
func (s *Scrubber) String(text string) string {
	if !s.mayContain(text) {
		return text
	}
	var sb strings.Builder
	last := 0
	for _, m := range s.find(text) {
		sb.WriteString(text[last:m.start])
		sb.WriteString(replacement(text[m.start:m.end]))
		last = m.end
	}
	sb.WriteString(text[last:])
	return sb.String()
}

func replacement(m string) string {
	if len(m) == token.Len && token.Looks(m, m[:len(token.HookPrefix)]) {
		return m[:len(token.HookPrefix)] + Redacted
	}
	return Redacted
}

// Cut returns where to cut b near at so that no secret spans the cut: at
// itself, or the start of a secret that would span it (the whole secret then
// goes to the next part), or, for a value longer than at, its end. b must
// hold MaxLen-1 bytes past at, or end where the text ends (a line's end):
// a secret never spans a line break.
func (s *Scrubber) Cut(b []byte, at int) int {
	if at >= len(b) {
		return len(b)
	}
	lo := max(0, at-s.MaxLen()+1)
	hi := min(len(b), at+s.MaxLen()-1)
	window := string(b[lo:hi])
	if !s.mayContain(window) {
		return at
	}
	for _, m := range s.find(window) {
		start, end := lo+m.start, lo+m.end
		if start < at && end > at {
			if start > 0 {
				return start
			}
			return end
		}
	}
	return at
}
