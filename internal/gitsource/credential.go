package gitsource

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// Credential is what authenticates Liftoff to an http(s) remote: a user
// name and a password or token (GitHub takes x-access-token:<token>, or the
// token as the user name alone). It is never part of a URL Liftoff keeps,
// shows or hands to git: git gets it in an HTTP header set through its
// environment (see remoteEnv), so it is neither in a process's argv nor in
// the mirror's config file. Its String, GoString and LogValue are redacted.
type Credential struct {
	Username string
	Password string
}

// IsZero reports whether there is no credential.
func (c Credential) IsZero() bool { return c.Username == "" && c.Password == "" }

// String hides the credential from fmt's %v and %s.
func (c Credential) String() string {
	if c.IsZero() {
		return "none"
	}
	return "[REDACTED]"
}

// GoString hides the credential from fmt's %#v.
func (c Credential) GoString() string { return "gitsource.Credential{" + c.String() + "}" }

// LogValue hides the credential from slog.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Userinfo is the credential in a URL's user information syntax,
// percent-encoded ("user:pass"), the form it is stored in. Empty when zero.
func (c Credential) Userinfo() string {
	switch {
	case c.IsZero():
		return ""
	case c.Password == "":
		return url.User(c.Username).String()
	}
	return url.UserPassword(c.Username, c.Password).String()
}

// ParseUserinfo reads a credential stored by Userinfo (or taken as is from
// a URL's user information).
func ParseUserinfo(s string) (Credential, error) {
	if s == "" {
		return Credential{}, nil
	}
	user, pass, _ := strings.Cut(s, ":")
	u, err := url.PathUnescape(user)
	if err != nil {
		return Credential{}, fmt.Errorf("repository credential: bad escape in the user name")
	}
	p, err := url.PathUnescape(pass)
	if err != nil {
		return Credential{}, fmt.Errorf("repository credential: bad escape in the password")
	}
	return Credential{Username: u, Password: p}, nil
}

// remoteEnv is the environment a git command that talks to url runs with,
// on top of gitEnv: configuration passed as GIT_CONFIG_COUNT/KEY/VALUE
// variables, which git reads like -c options but which, unlike argv, other
// users cannot read (/proc/<pid>/environ is private to the process's
// owner), and which no file on disk keeps.
//
//   - http.followRedirects=false: a redirect could send git, and the
//     credential with it, to a host the access policy would refuse.
//   - http.extraHeader carries the credential as HTTP basic authentication
//     on http(s) remotes; git never stores it (no credential helper runs,
//     since the server never asks).
func remoteEnv(repoURL string, cred Credential) []string {
	config := [][2]string{{"http.followRedirects", "false"}}
	if !cred.IsZero() && isHTTPURL(repoURL) {
		token := base64.StdEncoding.EncodeToString([]byte(cred.Username + ":" + cred.Password))
		config = append(config, [2]string{"http.extraHeader", "Authorization: Basic " + token})
	}
	env := make([]string, 0, 1+2*len(config))
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(config)))
	for i, kv := range config {
		n := strconv.Itoa(i)
		env = append(env, "GIT_CONFIG_KEY_"+n+"="+kv[0], "GIT_CONFIG_VALUE_"+n+"="+kv[1])
	}
	return env
}

func isHTTPURL(u string) bool {
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}
