package imagepack

import (
	"strings"
	"testing"
)

// TestSafeSource: a repository URL loses its credentials and query, in
// every form a project's repository takes.
func TestSafeSource(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://x-access-token:ghs_abc@github.com/acme/shop.git": "https://github.com/acme/shop.git",
		"https://github.com/acme/shop.git?token=abc#main":         "https://github.com/acme/shop.git",
		"ssh://git@github.com/acme/shop.git":                      "ssh://github.com/acme/shop.git",
		"git@github.com:acme/shop.git":                            "github.com:acme/shop.git",
		"/srv/git/shop.git":                                       "/srv/git/shop.git",
		"":                                                        "",
	} {
		if got := safeSource(in); got != want {
			t.Errorf("safeSource(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNames: repository parts and tags are valid whatever the ids hold.
func TestNames(t *testing.T) {
	t.Parallel()
	p, err := New(Config{Registry: "registry.example.com/team"})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := p.Repository(Origin{ProjectSlug: "My_Shop!", ServiceID: "API.v2"})
	if err != nil || repo != "registry.example.com/team/my-shop/api-v2" {
		t.Errorf("repository %q (%v)", repo, err)
	}
	if repo, _ := p.Repository(Origin{ProjectID: "cm0abc", ServiceID: "--"}); repo != "registry.example.com/team/cm0abc/x" {
		t.Errorf("repository without a slug, and of a service id of no letters: %q", repo)
	}
	for in, want := range map[string]string{
		"cm12abc":                "cm12abc",
		"-.lead":                 "lead",
		"a b/c":                  "a-b-c",
		strings.Repeat("x", 200): strings.Repeat("x", 128),
	} {
		if got := tagPart(in); got != want {
			t.Errorf("tagPart(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := p.tagged(Origin{ProjectSlug: "s", ServiceID: "api", DeploymentID: "..."}); err != nil {
		t.Errorf("a deployment id of dots: %v", err)
	}
}
