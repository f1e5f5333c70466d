package repoaccess

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
)

// fakeDNS answers from a table; other names are not found.
type fakeDNS map[string][]string

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	if addrs == nil {
		return nil, &net.DNSError{Err: "server misbehaving", Name: host, IsTemporary: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

var dns = fakeDNS{
	"github.com":           {"140.82.112.3"},
	"gitlab.com":           {"172.65.251.78", "2606:4700:90:0:f22e:fbec:5bed:a9b9"},
	"git.internal.example": {"10.1.2.3"},
	"sneaky.example":       {"140.82.112.4", "127.0.0.1"},
	"metadata.example":     {"169.254.169.254"},
	"v6local.example":      {"fd00::1"},
	"mapped.example":       {"::ffff:192.168.1.1"},
	"nat64.example":        {"64:ff9b::a9fe:a9fe"},
	"cgnat.example":        {"100.64.0.1"},
	"broken.example":       nil,
}

// repo makes a directory standing for a repository.
func repo(t *testing.T, parts ...string) string {
	t.Helper()
	dir := filepath.Join(parts...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAllow(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dataRepos := repo(t, base, "data", "repos")
	inData := repo(t, dataRepos, "shop")
	srv := repo(t, base, "srv", "git", "shop")
	deep := repo(t, base, "srv", "git", "team", "api")
	outside := repo(t, base, "etc", "liftoff-src")
	mirrors := repo(t, base, "data", "mirrors", "other.git")
	// A link under repos/ to a directory outside it, and a link farm
	// (/links -> srv/git) whose targets are allowed.
	escape := filepath.Join(dataRepos, "escape")
	if err := os.Symlink(mirrors, escape); err != nil {
		t.Fatal(err)
	}
	links := filepath.Join(base, "links")
	if err := os.Symlink(filepath.Join(base, "srv", "git"), links); err != nil {
		t.Fatal(err)
	}

	srvGlob := filepath.Join(base, "srv", "git") + "/*"
	for _, tc := range []struct {
		name     string
		patterns []string
		url      string
		want     string // "" allowed, else a piece of the refusal
	}{
		// The defaults.
		{"https", nil, "https://github.com/acme/shop.git", ""},
		{"https with two public addresses", nil, "https://gitlab.com/acme/shop.git", ""},
		{"scp-like", nil, "git@github.com:acme/shop.git", ""},
		{"ssh", nil, "ssh://git@github.com/acme/shop.git", ""},
		{"unknown name left to git", nil, "https://nowhere.example/acme/shop.git", ""},
		{"under the data dir's repos", nil, inData, ""},
		{"file URL under the data dir's repos", nil, "file://" + inData, ""},
		{"local path elsewhere", nil, outside, "Liftoff reads repositories on its own disk only under " + dataRepos},
		{"file URL elsewhere", nil, "file://" + outside, "unless --allowed-repos allows them"},
		{"link out of repos", nil, escape, mirrors},
		{"loopback", nil, "http://127.0.0.1:8080/acme/shop.git", "127.0.0.1 is a loopback address"},
		{"loopback v6", nil, "https://[::1]/acme/shop.git", "a loopback address"},
		{"metadata", nil, "http://169.254.169.254/latest/meta-data", "a link-local (cloud metadata) address"},
		{"private", nil, "https://10.0.0.5/acme/shop.git", "a private address"},
		{"private over ssh", nil, "git@192.168.1.10:acme/shop.git", "a private address"},
		{"unspecified", nil, "http://0.0.0.0/x", "an unspecified address"},
		{"multicast", nil, "http://224.0.0.1/x", "multicast"},
		{"decimal address", nil, "http://2130706433/x", "reads as an IP address"},
		{"short address", nil, "http://127.1/x", "reads as an IP address"},
		{"hex address", nil, "http://0x7f.0.0.1/x", "reads as an IP address"},
		{"name resolving to private", nil, "https://git.internal.example/acme/shop.git", "git.internal.example resolves to 10.1.2.3, a private address"},
		{"any address internal", nil, "https://sneaky.example/a/b", "resolves to 127.0.0.1"},
		{"name resolving to metadata", nil, "https://metadata.example/a/b", "link-local"},
		{"unique local v6", nil, "https://v6local.example/a/b", "a private address"},
		{"v4-mapped", nil, "https://mapped.example/a/b", "a private address"},
		{"NAT64", nil, "https://nat64.example/a/b", "link-local"},
		{"carrier-grade NAT", nil, "https://cgnat.example/a/b", "shared"},
		{"resolver failing", nil, "https://broken.example/a/b", "could not resolve"},

		// Patterns.
		{"matching pattern", []string{"https://github.com/acme/*"}, "https://github.com/acme/shop.git", ""},
		{"host case", []string{"https://GitHub.com/acme/*"}, "https://github.com/acme/shop.git", ""},
		{"other owner", []string{"https://github.com/acme/*"}, "https://github.com/evil/shop.git", "matches none of the patterns of --allowed-repos (https://github.com/acme/*)"},
		{"star stays in a segment", []string{"https://github.com/acme/*"}, "https://github.com/acme/x/y.git", "matches none"},
		{"double star", []string{"https://gitlab.com/acme/**"}, "https://gitlab.com/acme/team/api.git", ""},
		{"host lookalike", []string{"https://github.com/acme/*"}, "https://github.com.evil.example/acme/shop.git", "matches none"},
		{"scheme differs", []string{"https://github.com/acme/*"}, "http://github.com/acme/shop.git", "matches none"},
		{"scp-like pattern", []string{"git@github.com:acme/*"}, "git@github.com:acme/shop.git", ""},
		{"ssh pattern", []string{"ssh://git@github.com/acme/*"}, "ssh://git@github.com/acme/shop.git", ""},
		{"remote pattern leaves local paths out", []string{"https://github.com/acme/*"}, outside, "only under"},
		{"data dir's repos with patterns", []string{"https://github.com/acme/*"}, inData, ""},
		{"local pattern", []string{srvGlob}, srv, ""},
		{"local pattern, file URL", []string{srvGlob}, "file://" + srv, ""},
		{"local pattern as file URL", []string{"file://" + srvGlob}, srv, ""},
		{"local pattern one level", []string{srvGlob}, deep, "unless --allowed-repos allows them"},
		{"local pattern through a link", []string{filepath.Join(links, "*")}, filepath.Join(links, "shop"), ""},
		{"link into an allowed directory", []string{srvGlob}, filepath.Join(links, "shop"), ""},
		{"local pattern leaves remotes out", []string{srvGlob}, "https://github.com/acme/shop.git", "none for remote URLs"},
		{"literal internal host allowed", []string{"https://git.internal.example/**"}, "https://git.internal.example/acme/shop.git", ""},
		{"literal loopback allowed", []string{"http://127.0.0.1:8080/*"}, "http://127.0.0.1:8080/shop.git", ""},
		{"wildcard host keeps the check", []string{"https://*/**"}, "https://git.internal.example/acme/shop.git", "a private address"},
		{"wildcard host allows public", []string{"https://*/**"}, "https://github.com/acme/shop.git", ""},
		{"wildcard subdomain", []string{"https://*.example/**"}, "https://metadata.example/a/b", "link-local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(Config{Patterns: tc.patterns, LocalRoots: []string{dataRepos}, Resolver: dns})
			if err != nil {
				t.Fatal(err)
			}
			err = p.Allow(context.Background(), tc.url)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Allow(%q) = %v, want allowed", tc.url, err)
			case tc.want != "" && err == nil:
				t.Fatalf("Allow(%q) allowed, want a refusal saying %q", tc.url, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Allow(%q) = %v\nwant it to say %q", tc.url, err, tc.want)
			case err != nil && !strings.Contains(err.Error(), Flag):
				t.Fatalf("refusal %v does not name %s", err, Flag)
			}
		})
	}
}

// TestAllowRealResolver: localhost resolves to a loopback address through
// the system's resolver.
func TestAllowRealResolver(t *testing.T) {
	t.Parallel()
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Allow(context.Background(), "http://localhost:8080/acme/shop.git")
	if err == nil || !strings.Contains(err.Error(), "localhost resolves to") || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("Allow(localhost) = %v, want a loopback refusal", err)
	}
}

func TestAllowCredentialsNeverShown(t *testing.T) {
	t.Parallel()
	p, err := New(Config{Resolver: dns})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Allow(context.Background(), "http://user:hunter2@127.0.0.1/x.git")
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "user") {
		t.Fatalf("Allow = %v", err)
	}
}

func TestAllowEndsWithTheContext(t *testing.T) {
	t.Parallel()
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Allow(ctx, "https://example.com/a/b"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Allow with an ended context = %v", err)
	}
}

func TestNewRefusesBadPatterns(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"", "relative/path/*", "ftp://host/*", "https://github.com", "https://x-access-token:t@github.com/*",
		"https://user@github.com/*", "ssh://git:pw@host/*", "https:///x/*", "https://github.com/[acme/*", "file://relative",
		"host-without-path:", ":path",
	} {
		if _, err := New(Config{Patterns: []string{bad}}); err == nil || !strings.Contains(err.Error(), Flag) {
			t.Errorf("New(%q) = %v, want an error naming %s", bad, err, Flag)
		}
	}
	if _, err := New(Config{LocalRoots: []string{"relative"}}); err == nil {
		t.Error("a relative local root was accepted")
	}
}

func TestSplitPatterns(t *testing.T) {
	t.Parallel()
	got := SplitPatterns(" https://github.com/acme/* ,, /srv/{git,hg}/*,git@github.com:acme/*")
	if len(got) != 3 || got[0] != "https://github.com/acme/*" || got[1] != "/srv/{git,hg}/*" || got[2] != "git@github.com:acme/*" {
		t.Fatalf("SplitPatterns = %q", got)
	}
	if got := SplitPatterns(""); len(got) != 0 {
		t.Fatalf("SplitPatterns(\"\") = %q", got)
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"https://github.com/acme/*", "/srv/git/**", "git@github.com:acme/*", "file:///x/*", "ssh://git@h/{a,b}"} {
		f.Add(s, "https://github.com/acme/shop.git")
	}
	f.Fuzz(func(t *testing.T, pattern, url string) {
		pat, err := parsePattern(pattern)
		if err != nil {
			return
		}
		// A pattern New accepts is a valid glob, so matching it cannot fail.
		if _, err := doublestar.Match(pat.glob, url); err != nil {
			t.Errorf("parsePattern(%q) = %q, which does not match: %v", pattern, pat.glob, err)
		}
	})
}
