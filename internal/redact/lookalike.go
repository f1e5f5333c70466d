package redact

import (
	"regexp"
	"strings"
)

// lookalike matches a Liftoff secret and anything shaped like a piece of
// one: the prefix in any case followed by letters and digits. It is wider
// than token.Pattern on purpose, for the short texts of the HTTP edge (request
// paths, error messages that quote a caller's input), where a false match
// costs nothing: a secret cut short (a message quoting the first 48
// characters), run into other text ("<secret>x"), mistyped or upper-cased
// by a proxy is still most of a secret.
var lookalike = regexp.MustCompile(`(?i)lf[hk]_[a-z0-9]+`)

// Lookalikes replaces everything in s that looks like a Liftoff secret or a
// piece of one (see lookalike) by its prefix and [REDACTED]. s is text as it
// will be shown: decode escaped forms (a URL path) before calling it.
// Secrets and Scrubber, which need the whole shape, are the ones for long
// output.
func Lookalikes(s string) string {
	if !mayHold(s) {
		return s
	}
	return lookalike.ReplaceAllStringFunc(s, func(m string) string { return m[:4] + Redacted })
}

// HasLookalike reports whether s holds anything Lookalikes would replace.
func HasLookalike(s string) bool { return mayHold(s) && lookalike.MatchString(s) }

// mayHold is a cheap test that keeps the regular expression off the common
// path: every secret has an underscore after "lf" and one letter.
func mayHold(s string) bool {
	for i := strings.IndexByte(s, '_'); i >= 0; {
		if i >= 3 && (s[i-3]|0x20) == 'l' && (s[i-2]|0x20) == 'f' {
			return true
		}
		j := strings.IndexByte(s[i+1:], '_')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}
