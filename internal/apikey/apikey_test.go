package apikey

import "testing"

func TestFromHeader(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"Bearer lfk_abc", "lfk_abc"},
		{"Bearer: lfk_abc", "lfk_abc"},
		{"bearer lfk_abc", "lfk_abc"},
		{"BEARER:lfk_abc", "lfk_abc"},
		{"lfk_abc", "lfk_abc"},
		{"  lfk_abc  ", "lfk_abc"},
		{"", ""},
		{"Bearer", "Bearer"},
		{"Bearerlfk", "Bearerlfk"},
	} {
		if got := FromHeader(c.in); got != c.want {
			t.Errorf("FromHeader(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
