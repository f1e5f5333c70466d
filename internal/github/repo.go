package github

import (
	"net/url"
	"strings"
)

// Repo is the repository an event happened in.
type Repo struct {
	// FullName is "owner/name", as GitHub spells it.
	FullName string
	// HTMLURL is the repository's page, e.g. https://github.com/octo-org/shop;
	// its host tells github.com from a GitHub Enterprise Server.
	HTMLURL string
	// CloneURL is the https URL git clones, ending in ".git".
	CloneURL string
	// SSHURL is the scp-like ssh URL, e.g. git@github.com:octo-org/shop.git.
	SSHURL        string
	DefaultBranch string
	Private       bool
}

// Matches reports whether repo, the repository of a Liftoff project, is
// this GitHub repository. repo is a git URL in any form git accepts for a
// GitHub repository, or a bare "owner/name":
//
//	https://github.com/octo-org/shop[.git][/]   (also http://, with user:token@, with a port)
//	ssh://git@github.com[:22]/octo-org/shop.git
//	git@github.com:octo-org/shop.git            (scp-like)
//	git://github.com/octo-org/shop.git
//	github.com/octo-org/shop
//	octo-org/shop                               (any host)
//
// Owner and name compare case-insensitively, as GitHub resolves them. The
// host must be one of the hosts of the repository's own URLs (html_url,
// clone_url, ssh_url; github.com when the event has none), so a GitHub
// Enterprise Server repository does not match the same owner/name on
// github.com; for github.com, ssh.github.com (ssh over port 443) and
// www.github.com count too. Local paths, file:// URLs and ssh host aliases
// from ~/.ssh/config ("git@github-work:o/r.git") do not match.
func (r Repo) Matches(repo string) bool {
	if r.FullName == "" || strings.Count(r.FullName, "/") != 1 {
		return false
	}
	host, path, ok := splitRepoURL(strings.TrimSpace(repo))
	if !ok || !strings.EqualFold(path, r.FullName) {
		return false
	}
	if host == "" {
		return true
	}
	for _, h := range r.hosts() {
		if h == host {
			return true
		}
	}
	return false
}

// hosts returns the lowercased host names the repository is reached at.
func (r Repo) hosts() []string {
	var hosts []string
	for _, u := range []string{r.HTMLURL, r.CloneURL, r.SSHURL} {
		if h, _, ok := splitRepoURL(u); ok && h != "" {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		hosts = append(hosts, "github.com")
	}
	for _, h := range hosts {
		if h == "github.com" {
			return append(hosts, "www.github.com", "ssh.github.com")
		}
	}
	return hosts
}

// splitRepoURL splits a repository location into its lowercased host
// (without user or port; empty for a bare "owner/name") and its path,
// without the slashes around it or a ".git" suffix. ok is false for what
// cannot name a hosted repository: local paths, file:// and other schemes.
func splitRepoURL(s string) (host, path string, ok bool) {
	if s == "" {
		return "", "", false
	}
	if scheme, _, found := strings.Cut(s, "://"); found {
		switch strings.ToLower(scheme) {
		case "https", "http", "ssh", "git", "git+ssh", "ssh+git":
		default:
			return "", "", false
		}
		u, err := url.Parse(s)
		if err != nil || u.Hostname() == "" {
			return "", "", false
		}
		return strings.ToLower(u.Hostname()), cleanRepoPath(u.Path), true
	}
	// git reads "host:path" with the colon before any slash as scp-like ssh.
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	if colon >= 0 && (slash < 0 || colon < slash) {
		userHost := s[:colon]
		if at := strings.LastIndexByte(userHost, '@'); at >= 0 {
			userHost = userHost[at+1:]
		}
		if userHost == "" {
			return "", "", false
		}
		return strings.ToLower(userHost), cleanRepoPath(s[colon+1:]), true
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.Contains(s, `\`) {
		return "", "", false // a local path
	}
	// "owner/name", or "host/owner/name" when the first part looks like a
	// host name.
	parts := strings.Split(cleanRepoPath(s), "/")
	switch {
	case len(parts) == 2:
		return "", parts[0] + "/" + parts[1], true
	case len(parts) == 3 && strings.Contains(parts[0], "."):
		return strings.ToLower(parts[0]), parts[1] + "/" + parts[2], true
	}
	return "", "", false
}

func cleanRepoPath(p string) string {
	p = strings.Trim(p, "/")
	if n := len(p) - len(".git"); n > 0 && strings.EqualFold(p[n:], ".git") {
		p = strings.TrimSuffix(p[:n], "/")
	}
	return p
}

// FullName returns the "owner/name" that repo, a repository location in
// any form Matches accepts, names on one of hosts (lowercase host names,
// e.g. "github.com"). A bare "owner/name" names a repository on any host.
// ok is false for a local path, another host, or a path that is not
// owner/name.
func FullName(repo string, hosts ...string) (fullName string, ok bool) {
	host, path, ok := splitRepoURL(strings.TrimSpace(repo))
	if !ok || strings.Count(path, "/") != 1 || strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
		return "", false
	}
	if host == "" {
		return path, true
	}
	if host == "www.github.com" || host == "ssh.github.com" {
		host = "github.com"
	}
	for _, h := range hosts {
		if strings.EqualFold(h, host) {
			return path, true
		}
	}
	return "", false
}
