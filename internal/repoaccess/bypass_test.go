package repoaccess

import (
	"context"
	"testing"
)

// git's libcurl answers every name under .localhost with the loopback
// address itself (RFC 6761), without asking the resolver, which does not
// know those names: Liftoff must refuse them as it refuses localhost.
func TestAllowRefusesLocalhostSubdomains(t *testing.T) {
	t.Parallel()
	p, err := New(Config{Resolver: dns})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"http://x.localhost:8080/acme/shop.git",
		"https://a.b.localhost/acme/shop.git",
		"http://X.LOCALHOST/acme/shop.git",
	} {
		if err := p.Allow(context.Background(), u); err == nil {
			t.Errorf("Allow(%s) = nil, want a loopback refusal (curl resolves *.localhost to 127.0.0.1)", u)
		}
	}
}

// git (curl) removes "." and ".." segments from an http(s) path before it
// sends it, so a URL that matches a pattern only through them fetches a
// repository the pattern does not allow.
func TestAllowRefusesDotSegmentsOutOfAPattern(t *testing.T) {
	t.Parallel()
	p, err := New(Config{Patterns: []string{"https://github.com/acme/**"}, Resolver: dns})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"https://github.com/acme/../evil/secret.git",
		"https://github.com/acme/x/../../evil/secret.git",
		"https://github.com/acme/./../evil/secret.git",
	} {
		if err := p.Allow(context.Background(), u); err == nil {
			t.Errorf("Allow(%s) = nil with --allowed-repos https://github.com/acme/**: git fetches https://github.com/evil/secret.git", u)
		}
	}
}
