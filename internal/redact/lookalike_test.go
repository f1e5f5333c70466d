package redact

import (
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/token"
)

func TestLookalikes(t *testing.T) {
	t.Parallel()
	s := token.New(token.HookPrefix)
	k := token.New(token.APIKeyPrefix)
	for _, c := range []struct{ name, in, want string }{
		{"no secret", "no secret here", "no secret here"},
		{"snake case is no secret", "snake_case_words lf_x", "snake_case_words lf_x"},
		{"hook secret", s, "lfh_[REDACTED]"},
		{"API key in a sentence", "key " + k + ".", "key lfk_[REDACTED]."},
		{"upper-cased by a proxy", strings.ToUpper(s), "LFH_[REDACTED]"},
		{"run into other text", "word_" + s + "x", "word_lfh_[REDACTED]"},
		{"cut short", "got \"" + s[:48] + "\"…", "got \"lfh_[REDACTED]\"…"},
		{"mistyped", "lfh_nope and Lfk_wrong", "lfh_[REDACTED] and Lfk_[REDACTED]"},
		{"twice", s + "/" + s, "lfh_[REDACTED]/lfh_[REDACTED]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Lookalikes(c.in); got != c.want {
				t.Errorf("Lookalikes(%q) = %q, want %q", c.in, got, c.want)
			}
			if HasLookalike(c.in) != (c.in != c.want) {
				t.Errorf("HasLookalike(%q) = %v", c.in, !(c.in != c.want))
			}
		})
	}
}
