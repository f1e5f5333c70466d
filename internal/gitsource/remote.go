package gitsource

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Remote is a repository location as Liftoff keeps it: the URL to store,
// show and log, and the credential apart from it.
type Remote struct {
	// URL is the repository's location, normalized (see NormalizeRepoURL;
	// the host also in lower case) and without credentials. An ssh login
	// name (git@github.com:...) stays: it is no secret, and ssh needs it.
	URL string
	// Credential is the user information an http(s) URL was given with.
	Credential Credential
}

// ParseRemote normalizes a repository location as a user gave it and takes
// the credential out of it. https://x-access-token:TOKEN@github.com/o/r
// becomes the URL https://github.com/o/r with the credential
// {x-access-token, TOKEN}. An ssh URL with a password is refused: git never
// sends it (ssh authenticates with keys), so it would only be a secret on
// display. Errors wrap ErrInvalidRepoURL and never show the credential.
func ParseRemote(raw string) (Remote, error) {
	norm, err := NormalizeRepoURL(raw)
	if err != nil {
		return Remote{}, err
	}
	scheme, rest, ok := strings.Cut(norm, "://")
	if !ok {
		if isLocalPath(norm) {
			return Remote{URL: norm}, nil
		}
		// scp-like [user@]host:path.
		userHost, p, _ := strings.Cut(norm, ":")
		if err := checkDotSegments(norm, p); err != nil {
			return Remote{}, err
		}
		if user, host, ok := strings.Cut(userHost, "@"); ok {
			return Remote{URL: user + "@" + strings.ToLower(host) + ":" + p}, nil
		}
		return Remote{URL: strings.ToLower(userHost) + ":" + p}, nil
	}
	if scheme == "file" {
		return Remote{URL: norm}, nil
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if err := checkDotSegments(norm, tail); err != nil {
		return Remote{}, err
	}
	at := strings.LastIndexByte(authority, '@')
	hostPort := strings.ToLower(authority[at+1:])
	if at < 0 {
		return Remote{URL: scheme + "://" + hostPort + tail}, nil
	}
	userinfo := authority[:at]
	if scheme == "ssh" {
		user, _, hasPassword := strings.Cut(userinfo, ":")
		if hasPassword {
			return Remote{}, fmt.Errorf("%w %q: ssh URLs cannot carry a password (git does not send it); authenticate with an ssh key",
				ErrInvalidRepoURL, RedactURL(norm))
		}
		return Remote{URL: scheme + "://" + user + "@" + hostPort + tail}, nil
	}
	cred, err := ParseUserinfo(userinfo)
	if err != nil {
		return Remote{}, fmt.Errorf("%w %q: %v", ErrInvalidRepoURL, RedactURL(norm), err)
	}
	return Remote{URL: scheme + "://" + hostPort + tail, Credential: cred}, nil
}

// checkDotSegments refuses "." and ".." segments (also percent-encoded) in
// a remote URL's path. git and its transports remove them before they ask
// the server, so a URL that matches an --allowed-repos pattern only
// through them (https://github.com/acme/../evil/x.git) would fetch a
// repository the pattern does not allow; no real repository URL has them.
func checkDotSegments(norm, p string) error {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	for seg := range strings.SplitSeq(p, "/") {
		for range 3 { // %252e%252e is %2e%2e once decoded, .. twice
			dec, err := url.PathUnescape(seg)
			if err != nil || dec == seg {
				break
			}
			seg = dec
		}
		if seg == "." || seg == ".." {
			return fmt.Errorf("%w %q: its path has a %q segment; write the repository's path without . and .. segments",
				ErrInvalidRepoURL, RedactURL(norm), seg)
		}
	}
	return nil
}

// isLocalPath reports whether a normalized location is a local path.
func isLocalPath(norm string) bool { return filepath.IsAbs(norm) }

// Endpoint is where git goes for a repository URL, for an access policy to
// judge.
type Endpoint struct {
	// Local is set for a path on this host (a local path or a file://
	// URL); Path is then the absolute path.
	Local bool
	Path  string
	// Scheme is "https", "http" or "ssh" (also for scp-like URLs).
	Scheme string
	// Host is the host name or IP address git connects to, in lower case,
	// without the brackets of an IPv6 address.
	Host string
	// Port is the port the URL names, "" for the scheme's default.
	Port string
}

// EndpointOf says where git goes for a URL ParseRemote returned (or any
// location NormalizeRepoURL accepts).
func EndpointOf(repoURL string) (Endpoint, error) {
	norm, err := NormalizeRepoURL(repoURL)
	if err != nil {
		return Endpoint{}, err
	}
	scheme, _, ok := strings.Cut(norm, "://")
	switch {
	case !ok && isLocalPath(norm):
		return Endpoint{Local: true, Path: norm}, nil
	case !ok:
		userHost, _, _ := strings.Cut(norm, ":")
		if _, host, ok := strings.Cut(userHost, "@"); ok {
			userHost = host
		}
		return Endpoint{Scheme: "ssh", Host: strings.ToLower(userHost)}, nil
	}
	u, err := url.Parse(norm)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w %q: %v", ErrInvalidRepoURL, RedactURL(norm), stripURLFromParseError(err))
	}
	if scheme == "file" {
		return Endpoint{Local: true, Path: u.Path}, nil
	}
	return Endpoint{Scheme: scheme, Host: strings.ToLower(u.Hostname()), Port: u.Port()}, nil
}
