package liftoff

import (
	"strconv"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		{"plain", "shop", "shop", true},
		{"trimmed", "  CI on main \n", "CI on main", true},
		{"empty", "", "", false},
		{"only spaces", " \t\n", "", false},
		{"at the limit", strings.Repeat("é", MaxNameLen), strings.Repeat("é", MaxNameLen), true},
		{"counted in characters, not bytes", strings.Repeat("日", MaxNameLen), strings.Repeat("日", MaxNameLen), true},
		{"over the limit", strings.Repeat("a", MaxNameLen+1), strings.Repeat("a", MaxNameLen+1), false},
		{"spaces do not count", " " + strings.Repeat("a", MaxNameLen) + " ", strings.Repeat("a", MaxNameLen), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := CleanName(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("CleanName(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if !strings.Contains(NameRule, strconv.Itoa(MaxNameLen)) {
		t.Errorf("NameRule %q does not say MaxNameLen %d", NameRule, MaxNameLen)
	}
}
