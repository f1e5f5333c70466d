package gitsource

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// NormalizeRepoURL checks that raw is a repository location Liftoff
// accepts and returns the form to hand to git:
//
//   - a local path, absolute or relative (made absolute); it must exist
//   - file:///abs/path (it must exist)
//   - https://host/path and http://host/path, optionally with user:token@
//   - ssh://[user@]host[:port]/path
//   - scp-like [user@]host:path, e.g. git@github.com:owner/repo.git
//
// Anything else (git://, transport::address helpers such as ext::, other
// schemes, a value starting with "-" that git or ssh would read as an option)
// is rejected with an error wrapping ErrInvalidRepoURL.
func NormalizeRepoURL(raw string) (string, error) {
	invalid := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidRepoURL, RedactURL(raw), fmt.Sprintf(format, args...))
	}
	switch {
	case raw == "":
		return "", fmt.Errorf("%w: empty", ErrInvalidRepoURL)
	case strings.TrimSpace(raw) != raw:
		return invalid("leading or trailing white space")
	case hasControl(raw):
		return invalid("control characters")
	case strings.HasPrefix(raw, "-"):
		return invalid("must not start with %q", "-")
	}

	if scheme, _, ok := strings.Cut(raw, "://"); ok && isScheme(scheme) {
		u, err := url.Parse(raw)
		if err != nil {
			return invalid("%v", stripURLFromParseError(err))
		}
		// git looks transports up by the scheme's exact spelling.
		lower := strings.ToLower(u.Scheme)
		raw = lower + raw[len(u.Scheme):]
		switch lower {
		case "https", "http", "ssh":
			host := u.Hostname()
			if host == "" {
				return invalid("no host")
			}
			if strings.HasPrefix(host, "-") || strings.HasPrefix(u.User.Username(), "-") {
				return invalid("host and user must not start with %q", "-")
			}
			if u.Path == "" || u.Path == "/" {
				return invalid("no repository path")
			}
			return raw, nil
		case "file":
			if u.Host != "" && u.Host != "localhost" {
				return invalid("file:// URLs must name a local path (file:///path)")
			}
			if u.Path == "" {
				return invalid("no path")
			}
			if _, err := os.Stat(u.Path); err != nil {
				return invalid("local repository %s does not exist", u.Path)
			}
			// One spelling per repository: no host, no "." or "..", no
			// trailing slash (the path is absolute: it follows "//").
			return "file://" + path.Clean(u.EscapedPath()), nil
		default:
			return invalid("unsupported scheme %q (use https://, http://, ssh://, file://, git@host:owner/repo.git or a local path)", u.Scheme)
		}
	}

	if strings.Contains(raw, "::") {
		return invalid("transport::address URLs are not supported")
	}

	// git reads "host:path" (a colon before any slash) as scp-like ssh.
	colon := strings.IndexByte(raw, ':')
	slash := strings.IndexByte(raw, '/')
	if colon >= 0 && (slash < 0 || colon < slash) {
		userHost, repoPath := raw[:colon], raw[colon+1:]
		user, host, hasUser := strings.Cut(userHost, "@")
		if !hasUser {
			host, user = user, ""
		}
		switch {
		case hasUser && !isSSHName(user):
			return invalid("bad user %q in scp-like URL", user)
		case !isSSHName(host):
			return invalid("bad host %q in scp-like URL", host)
		case repoPath == "":
			return invalid("no repository path")
		}
		return raw, nil
	}

	// Relative to the working directory now, not to that of a later start.
	abs, err := filepath.Abs(raw)
	if err != nil {
		return invalid("%v", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return invalid("local repository %s does not exist (remote URLs need a scheme such as https://)", abs)
	}
	return abs, nil
}

// isScheme reports whether s is an RFC 3986 scheme name.
func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// isSSHName reports whether s is a plausible ssh user or host name, and
// cannot be read by ssh as an option.
func isSSHName(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '-' || c == '_' || c == '~':
		default:
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// stripURLFromParseError drops the URL that *url.Error repeats (it may
// carry credentials).
func stripURLFromParseError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// RedactURL replaces the user information (user name, password, token) of
// every URL in s with "***", so "https://user:token@host/repo" becomes
// "https://***@host/repo". Use it on anything that may contain a repository
// URL before it reaches a log or a user.
func RedactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		start := i + len("://")
		end := start
		for end < len(s) && !endsAuthority(s[end]) {
			end++
		}
		b.WriteString(s[:start])
		if at := strings.LastIndexByte(s[start:end], '@'); at >= 0 {
			b.WriteString("***")
			b.WriteString(s[start+at : end])
		} else {
			b.WriteString(s[start:end])
		}
		s = s[end:]
	}
}

// endsAuthority reports whether c ends the authority (user@host:port) part
// of a URL, or the URL itself when it is quoted in a message.
func endsAuthority(c byte) bool {
	switch c {
	case '/', '?', '#', ' ', '\t', '\n', '\r', '\'', '"', '`', '<', '>':
		return true
	}
	return false
}
