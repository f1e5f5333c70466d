package apikey

import (
	"errors"
	"testing"
)

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

func TestParseScope(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want Scope
		ok   bool
	}{
		{"", Admin, true}, // what every key was before scopes
		{"admin", Admin, true},
		{"deploy", Deploy, true},
		{"read", Read, true},
		{"Admin", "", false},
		{"write", "", false},
		{" read", "", false},
	} {
		got, err := ParseScope(c.in)
		if got != c.want || (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrBadScope)) {
			t.Errorf("ParseScope(%q) = %q, %v", c.in, got, err)
		}
	}
}
