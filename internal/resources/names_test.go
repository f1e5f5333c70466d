package resources

import (
	"regexp"
	"strings"
	"testing"
)

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func TestName(t *testing.T) {
	t.Parallel()
	base := Identity{ProjectID: "cp1", ProjectSlug: "shop", EnvironmentID: 3, EnvGivenID: "production", ServiceID: "db"}
	got := Name(base)
	if !strings.HasPrefix(got, "lo_shop_production_db_") || len(got) != len("lo_shop_production_db_")+8 {
		t.Errorf("Name = %q, want lo_shop_production_db_ and 8 hex digits", got)
	}
	if again := Name(base); again != got {
		t.Errorf("Name is not stable: %q, then %q", got, again)
	}
	pr := base
	pr.EnvGivenID, pr.EnvironmentID, pr.PRNumber = "preview", 4, 12
	if got := Name(pr); !strings.HasPrefix(got, "lo_shop_preview_pr12_db_") {
		t.Errorf("preview Name = %q", got)
	}
	for _, tt := range []struct {
		name string
		id   Identity
	}{
		{"quotes and SQL in the service id", Identity{ProjectID: "p", ProjectSlug: "shop", EnvironmentID: 1, EnvGivenID: "production", ServiceID: `db"; DROP DATABASE x; --`}},
		{"uppercase and dots", Identity{ProjectID: "p", ProjectSlug: "Shop.Eu", EnvironmentID: 1, EnvGivenID: "Prod", ServiceID: "Main.DB"}},
		{"nothing readable", Identity{ProjectID: "p", ProjectSlug: "", EnvironmentID: 1, EnvGivenID: "---", ServiceID: "ü"}},
		{"far too long", Identity{ProjectID: "p", ProjectSlug: strings.Repeat("longproject", 5), EnvironmentID: 1, EnvGivenID: strings.Repeat("environment", 5),
			PRNumber: 123456, ServiceID: strings.Repeat("database", 10)}},
	} {
		got := Name(tt.id)
		if len(got) > MaxNameLen || !validName.MatchString(got) || strings.Contains(got, "__") || !strings.HasPrefix(got, "lo_") {
			t.Errorf("%s: Name = %q (%d bytes), want at most %d of [a-z0-9_] from lo_", tt.name, got, len(got), MaxNameLen)
		}
	}
	// Ids that sanitize alike, or a long id cut to the same readable part,
	// still give two names.
	a, b := base, base
	a.ServiceID, b.ServiceID = "my-db", "my_db"
	if Name(a) == Name(b) {
		t.Errorf("my-db and my_db share the name %s", Name(a))
	}
	a.ServiceID, b.ServiceID = strings.Repeat("x", 80)+"1", strings.Repeat("x", 80)+"2"
	if Name(a) == Name(b) {
		t.Errorf("two long ids share the name %s", Name(a))
	}
}

func TestPassword(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		p := newPassword()
		if len(p) != 32 || strings.Trim(p, passwordAlphabet) != "" || seen[p] {
			t.Fatalf("password %q", p)
		}
		seen[p] = true
	}
	v, err := scramVerifier("pencil")
	if err != nil || !regexp.MustCompile(`^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$`).MatchString(v) {
		t.Errorf("verifier %q, %v", v, err)
	}
}
