package token

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		s := New(HookPrefix)
		if !strings.HasPrefix(s, "lfh_") || len(s) != Len || !Looks(s, HookPrefix) {
			t.Fatalf("New = %q", s)
		}
		if seen[s] {
			t.Fatalf("repeated secret %q", s)
		}
		seen[s] = true
	}
}

func TestHashAndEqual(t *testing.T) {
	t.Parallel()
	a := New(APIKeyPrefix)
	h1, h2 := Hash(a), Hash(a)
	if h1 != h2 || len(h1) != 64 || h1 == Hash(a+"x") {
		t.Fatal("Hash is not a stable SHA-256")
	}
	if !Equal(Hash(a), Hash(a)) || Equal(Hash(a), Hash(New(APIKeyPrefix))) || Equal(Hash(a), "") {
		t.Fatal("Equal")
	}
}

func TestLooks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s    string
		want bool
	}{
		{New(HookPrefix), true},
		{New(APIKeyPrefix), false},
		{"lfh_short", false},
		{"lfh_" + strings.Repeat("A", 52), false},
		{"lfh_" + strings.Repeat("a", 52), true},
		{"lfh_" + strings.Repeat("a", 53), false},
		{"x" + "lfh_" + strings.Repeat("a", 52), false},
		{"lfh_" + strings.Repeat("1", 52), false},
	} {
		if got := Looks(c.s, HookPrefix); got != c.want {
			t.Errorf("Looks(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}
