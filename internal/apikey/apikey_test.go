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

// TestScopePowers is the table of what each scope may do: the API's route
// guard and the dashboard's pages both ask these two questions.
func TestScopePowers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		scope   Scope
		need    Need
		oneEnv  bool
		allowed bool
	}{
		{Admin, NeedAdmin, false, true},
		{Admin, NeedDeploy, true, true},
		{Admin, NeedRead, false, true},
		{Read, NeedRead, false, true},
		{Read, NeedRead, true, true},
		{Read, NeedDeploy, true, false},
		{Read, NeedAdmin, false, false},
		{Deploy, NeedRead, true, true},
		{Deploy, NeedDeploy, true, true},
		{Deploy, NeedRead, false, false}, // a listing of everything
		{Deploy, NeedAdmin, false, false},
		{"", NeedRead, true, false},
		{"owner", NeedRead, true, false},
	} {
		if got := c.scope.Allows(c.need, c.oneEnv); got != c.allowed {
			t.Errorf("%q.Allows(%s, one environment %v) = %v, want %v", c.scope, c.need, c.oneEnv, got, c.allowed)
		}
	}
	envs := []int64{3, 4}
	for _, c := range []struct {
		scope Scope
		env   int64
		want  bool
	}{
		{Admin, 9, true}, {Read, 9, true}, {Deploy, 3, true}, {Deploy, 4, true}, {Deploy, 9, false}, {"x", 3, false},
	} {
		if got := c.scope.Reaches(envs, c.env); got != c.want {
			t.Errorf("%q.Reaches(%v, %d) = %v, want %v", c.scope, envs, c.env, got, c.want)
		}
	}
}
