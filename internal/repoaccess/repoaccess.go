// Package repoaccess decides which git repositories Liftoff may read: the
// patterns of `liftoff serve --allowed-repos`, or by default every remote
// on a public address and, on the server's own disk, only its data dir's
// repos/ directory. Whoever holds an admin API key can create a project;
// without this, such a key would make the server read any path it can (its
// own data and source included) or fetch any address it can reach (a cloud
// metadata service, an admin port on localhost, a host on the private
// network).
//
// # Matching
//
// A pattern is a glob (* within one path segment, ** across segments, ?,
// [...], {a,b}) over the repository's location as Liftoff stores it:
// without credentials, the scheme and host in lower case. Three forms:
//
//   - an absolute path, /srv/git/*, which also covers file:///srv/git/...
//     URLs; what is judged is the repository's path with symbolic links
//     resolved (against the pattern as written, and with its fixed leading
//     directories' links resolved), so a link cannot lead outside what is
//     allowed
//   - a URL, https://github.com/acme/* or ssh://git@git.example.com/**;
//     the host part is matched like the rest, so https://*.example.com/**
//     covers every host under example.com and nothing else
//   - scp-like ssh, git@github.com:acme/*
//
// Without patterns, every https, http, ssh and scp-like URL matches. Paths
// under the configured local roots (the data dir's repos/) always match.
//
// # Addresses
//
// A remote host that is, or resolves to, a loopback, link-local (cloud
// metadata: 169.254.169.254, fe80::/10), private (RFC 1918, fc00::/7),
// shared (100.64.0.0/10), unspecified or multicast address is refused,
// unless a pattern whose host is written out without wildcards matches the
// URL: naming a host is how an operator says an internal one is meant. A
// numeric host git would read as an address but Go would not (2130706433,
// 127.1, 0x7f.1) is refused. Names are resolved just before each git
// command; git resolves them again itself, so a name whose DNS answer
// changes in between (DNS rebinding) is narrowed, not excluded. A name the
// resolver does not know is left to git (an ssh alias or an HTTP proxy may
// know it).
package repoaccess

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/liftoffhq/liftoff/internal/gitsource"
)

// Flag is the option that sets the patterns, named in every refusal.
const Flag = "--allowed-repos"

// Resolver looks host names up (net.Resolver is one).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config is what a Policy is made from.
type Config struct {
	// Patterns are the --allowed-repos patterns. Empty: every remote URL
	// (on a public address), and no local path outside LocalRoots.
	Patterns []string
	// LocalRoots are absolute directories whose repositories are always
	// allowed (the data dir's repos/, the demo's repository).
	LocalRoots []string
	// Resolver looks host names up. Default net.DefaultResolver.
	Resolver Resolver
}

// Policy implements gitsource.Policy.
type Policy struct {
	patterns []pattern
	roots    []string
	resolver Resolver
}

var _ gitsource.Policy = (*Policy)(nil)

// pattern is one parsed --allowed-repos entry.
type pattern struct {
	raw         string
	glob        string // normalized like the locations it matches
	local       bool
	literalHost bool // the host is written out: internal addresses allowed
}

// New checks the patterns and returns the policy. An error names every
// pattern that is wrong and why.
func New(cfg Config) (*Policy, error) {
	p := &Policy{resolver: cfg.Resolver}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	var errs []error
	for _, raw := range cfg.Patterns {
		pat, err := parsePattern(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", Flag, raw, err))
			continue
		}
		p.patterns = append(p.patterns, pat)
	}
	for _, root := range cfg.LocalRoots {
		if !filepath.IsAbs(root) {
			errs = append(errs, fmt.Errorf("local root %q is not an absolute path", root))
			continue
		}
		p.roots = append(p.roots, filepath.Clean(root))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// SplitPatterns splits a comma-separated list of patterns (the flag's and
// the environment variable's syntax), dropping empty entries. A comma
// inside braces belongs to its pattern: /srv/{git,hg}/* stays whole.
func SplitPatterns(s string) []string {
	var out []string
	depth, start := 0, 0
	add := func(f string) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // an escaped character is never a separator
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				add(s[start:i])
				start = i + 1
			}
		}
	}
	add(s[start:])
	return out
}

const globMeta = `*?[{\`

func parsePattern(raw string) (pattern, error) {
	s := strings.TrimSpace(raw)
	pat := pattern{raw: raw}
	switch {
	case s == "":
		return pat, errors.New("empty pattern")
	case strings.HasPrefix(strings.ToLower(s), "file://"):
		rest := s[len("file://"):]
		rest = strings.TrimPrefix(rest, "localhost")
		if !strings.HasPrefix(rest, "/") {
			return pat, errors.New("a file:// pattern names an absolute path: file:///srv/git/*")
		}
		s = rest
		fallthrough
	case strings.HasPrefix(s, "/"):
		pat.local, pat.glob = true, filepath.Clean(s)
	case strings.Contains(s, "://"):
		scheme, rest, _ := strings.Cut(s, "://")
		scheme = strings.ToLower(scheme)
		if scheme != "https" && scheme != "http" && scheme != "ssh" {
			return pat, fmt.Errorf("scheme %q: patterns match https://, http://, ssh://, file:// URLs, user@host:path or absolute paths", scheme)
		}
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			return pat, errors.New("no path after the host: add /* or /** for every repository of the host")
		}
		authority, tail := rest[:end], rest[end:]
		user, host, hasUser := strings.Cut(authority, "@")
		if !hasUser {
			host, user = user, ""
		}
		if strings.Contains(user, ":") || hasUser && scheme != "ssh" {
			return pat, errors.New("patterns carry no credentials: match the URL without them")
		}
		if host == "" {
			return pat, errors.New("no host")
		}
		pat.literalHost = !strings.ContainsAny(host, globMeta)
		if hasUser {
			user += "@"
		}
		pat.glob = scheme + "://" + user + strings.ToLower(host) + tail
	default:
		colon, slash := strings.IndexByte(s, ':'), strings.IndexByte(s, '/')
		if colon <= 0 || (slash >= 0 && slash < colon) {
			return pat, errors.New("use an absolute path (/srv/git/*), a URL (https://github.com/acme/*) or user@host:path (git@github.com:acme/*)")
		}
		userHost, p := s[:colon], s[colon+1:]
		user, host, hasUser := strings.Cut(userHost, "@")
		if !hasUser {
			host, user = user, ""
		} else {
			user += "@"
		}
		if host == "" || p == "" {
			return pat, errors.New("user@host:path needs a host and a path")
		}
		pat.literalHost = !strings.ContainsAny(host, globMeta)
		pat.glob = user + strings.ToLower(host) + ":" + p
	}
	if !doublestar.ValidatePattern(pat.glob) {
		return pat, errors.New("not a valid glob (check its brackets and braces)")
	}
	return pat, nil
}

// Allow implements gitsource.Policy. repoURL carries no credentials.
func (p *Policy) Allow(ctx context.Context, repoURL string) error {
	remote, err := gitsource.ParseRemote(repoURL)
	if err != nil {
		return err
	}
	u := remote.URL
	ep, err := gitsource.EndpointOf(u)
	if err != nil {
		return err
	}
	if ep.Local {
		return p.allowLocal(u, ep.Path)
	}
	explicit := false
	if len(p.patterns) > 0 {
		matched := false
		for _, pat := range p.patterns {
			if pat.local || !doublestar.MatchUnvalidated(pat.glob, u) {
				continue
			}
			matched = true
			explicit = explicit || pat.literalHost
		}
		if !matched {
			return fmt.Errorf("%s: it matches none of the patterns of %s (%s); add one that matches it (e.g. %s)",
				u, Flag, p.list(false), example(u))
		}
	}
	if explicit {
		return nil
	}
	return p.checkHost(ctx, u, ep)
}

func (p *Policy) allowLocal(u, path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		// Nothing there: git will say so; the path itself is judged.
		real = path
	}
	// Where the repository really is decides, whatever links lead there.
	if p.localAllowed(real) {
		return nil
	}
	where := "nowhere on this host"
	if len(p.roots) > 0 {
		where = "only under " + strings.Join(p.roots, ", ")
	}
	if real != path {
		u += " (" + real + ")"
	}
	return fmt.Errorf("%s: Liftoff reads repositories on its own disk %s, unless %s allows them (e.g. %s '%s')",
		u, where, Flag, Flag, filepath.Join(filepath.Dir(path), "*"))
}

// localAllowed reports whether a local path is under a root or matches a
// local pattern (as written, or with its leading directories' symbolic
// links resolved).
func (p *Policy) localAllowed(path string) bool {
	for _, root := range p.roots {
		if under(path, root) {
			return true
		}
		if real, err := filepath.EvalSymlinks(root); err == nil && under(path, real) {
			return true
		}
	}
	for _, pat := range p.patterns {
		if !pat.local {
			continue
		}
		if doublestar.MatchUnvalidated(pat.glob, path) || doublestar.MatchUnvalidated(resolvePrefix(pat.glob), path) {
			return true
		}
	}
	return false
}

func under(path, root string) bool {
	return path == root || strings.HasPrefix(path, strings.TrimSuffix(root, "/")+"/")
}

// resolvePrefix resolves the symbolic links of a local glob's leading
// directories, the ones before any wildcard.
func resolvePrefix(glob string) string {
	fixed := glob
	if i := strings.IndexAny(glob, globMeta); i >= 0 {
		fixed = glob[:i]
	}
	dir := fixed
	if !strings.HasSuffix(dir, "/") {
		dir = filepath.Dir(dir)
	}
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return glob
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil || real == dir {
		return glob
	}
	return real + glob[len(dir):]
}

// checkHost refuses a host that is, or resolves to, an address Liftoff
// must not fetch from without being told.
func (p *Policy) checkHost(ctx context.Context, u string, ep gitsource.Endpoint) error {
	if addr, err := netip.ParseAddr(ep.Host); err == nil {
		if kind := internal(addr); kind != "" {
			return p.internalError(u, ep, ep.Host+" is "+kind+" address")
		}
		return nil
	}
	// RFC 6761: every name under localhost is the loopback address, and
	// git's libcurl answers them so itself, without asking the resolver
	// (which knows localhost, but may know nothing of x.localhost).
	if strings.HasSuffix(strings.TrimSuffix(ep.Host, "."), ".localhost") {
		return p.internalError(u, ep, ep.Host+" is a loopback name")
	}
	if numericLooking(ep.Host) {
		return fmt.Errorf("%s: host %q reads as an IP address in a form Liftoff does not check; write the address as a.b.c.d, or name the host in %s (e.g. %s)",
			u, ep.Host, Flag, example(u))
	}
	addrs, err := p.resolver.LookupNetIP(ctx, "ip", ep.Host)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil // git will fail on its own, unless ssh or a proxy knows the name
		}
		return fmt.Errorf("%s: could not resolve %s to check its addresses: %v; retry later, or name the host in %s (e.g. %s)",
			u, ep.Host, err, Flag, example(u))
	}
	for _, addr := range addrs {
		if kind := internal(addr); kind != "" {
			return p.internalError(u, ep, fmt.Sprintf("%s resolves to %s, %s address", ep.Host, addr, kind))
		}
	}
	return nil
}

func (p *Policy) internalError(u string, ep gitsource.Endpoint, why string) error {
	return fmt.Errorf("%s: %s; Liftoff fetches from such addresses only when %s names the host (e.g. %s)",
		u, why, Flag, example(u))
}

// example is a pattern that allows every repository of u's host.
func example(u string) string {
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		authority, _, _ := strings.Cut(rest, "/")
		return "'" + scheme + "://" + authority + "/*'"
	}
	userHost, _, _ := strings.Cut(u, ":")
	return "'" + userHost + ":*'"
}

// list names the patterns, local or remote ones.
func (p *Policy) list(local bool) string {
	var out []string
	for _, pat := range p.patterns {
		if pat.local == local {
			out = append(out, pat.raw)
		}
	}
	if len(out) == 0 {
		return "none for remote URLs"
	}
	return strings.Join(out, ", ")
}

// Address blocks that are not on the internet but are not covered by
// netip's predicates.
var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	sharedNAT   = netip.MustParsePrefix("100.64.0.0/10")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
)

// internal says what kind of non-public address addr is ("a loopback"),
// or "" for a public one.
func internal(addr netip.Addr) string {
	addr = addr.WithZone("").Unmap()
	if nat64.Contains(addr) {
		// A NAT64 address reaches the IPv4 address in its last 32 bits.
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case addr.IsUnspecified() || thisNetwork.Contains(addr):
		return "an unspecified"
	case addr.IsLoopback():
		return "a loopback"
	case addr.IsLinkLocalUnicast():
		return "a link-local (cloud metadata)"
	case addr.IsPrivate():
		return "a private"
	case sharedNAT.Contains(addr):
		return "a shared (carrier-grade NAT)"
	case addr.IsMulticast() || addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "a multicast or broadcast"
	}
	return ""
}

// numericLooking reports whether a host that is not a canonical IP address
// would still be read as one by the C library git uses (inet_aton accepts
// 2130706433, 127.1 and 0x7f.0.0.1): its last label starts with a digit,
// which no DNS top-level domain does.
func numericLooking(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	return last != "" && last[0] >= '0' && last[0] <= '9'
}
