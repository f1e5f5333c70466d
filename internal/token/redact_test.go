package token

import (
	"strings"
	"testing"
)

func TestRedactLookalikes(t *testing.T) {
	t.Parallel()
	s := New(HookPrefix)
	k := New(APIKeyPrefix)
	for _, c := range []struct{ in, want string }{
		{"no secret here", "no secret here"},
		{"snake_case_words lf_x", "snake_case_words lf_x"},
		{s, "lfh_[REDACTED]"},
		{"key " + k + ".", "key lfk_[REDACTED]."},
		{strings.ToUpper(s), "LFH_[REDACTED]"},
		{"word_" + s + "x", "word_lfh_[REDACTED]"},
		{"got \"" + s[:48] + "\"…", "got \"lfh_[REDACTED]\"…"},
		{"lfh_nope and Lfk_wrong", "lfh_[REDACTED] and Lfk_[REDACTED]"},
		{s + "/" + s, "lfh_[REDACTED]/lfh_[REDACTED]"},
	} {
		if got := RedactLookalikes(c.in); got != c.want {
			t.Errorf("RedactLookalikes(%q) = %q, want %q", c.in, got, c.want)
		}
		if HasLookalike(c.in) != (c.in != c.want) {
			t.Errorf("HasLookalike(%q) = %v", c.in, !(c.in != c.want))
		}
	}
}
