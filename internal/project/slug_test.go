package project

import "testing"

func TestSlugOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, want string }{
		{"shop", "shop"},
		{"Shop", "shop"},
		{"  Ma Boutique (EU) ", "ma-boutique-eu"},
		{"api_v2.internal", "api-v2-internal"},
		{"---", "project"},
		{"", "project"},
		{"日本語", "project"},
		{"café-2", "caf-2"},
		{"a-very-long-project-name-that-goes-on-and-on-forever", "a-very-long-project-name-that-goes-on-an"},
		{"abcdefghijklmnopqrstuvwxyz-abcdefghijklm-nop", "abcdefghijklmnopqrstuvwxyz-abcdefghijklm"},
	} {
		got := SlugOf(tc.name)
		if got != tc.want {
			t.Errorf("SlugOf(%q) = %q, want %q", tc.name, got, tc.want)
		}
		if err := checkSlug(got); err != nil {
			t.Errorf("SlugOf(%q) = %q is not a valid slug: %v", tc.name, got, err)
		}
	}
}
