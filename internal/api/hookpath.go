package api

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/hook"
)

// HookPathPrefix is where deploy hooks live.
const HookPathPrefix = "/api/deploy-hook/"

// MaxHookPathLength bounds the escaped path of a hook call. The longest valid
// path (a 20-digit id, a secret, a 10-digit PR number and a 64-character
// SHA) is far shorter.
const MaxHookPathLength = 512

// badParam is a 400 answer naming the parameter that was wrong.
func badParam(format string, args ...any) error { return fail.Invalidf(format, args...) }

// errHookNotFound is a path with no hook in it at all.
var errHookNotFound = hook.ErrNotFound

// ParseHookCall turns the escaped path and raw query of a hook call into a
// request. It checks syntax only; the secret is never part of a message.
// Its errors are Invalid, or hook.ErrNotFound for a path with no hook in it.
func ParseHookCall(escapedPath, rawQuery string) (hook.Request, error) {
	var req hook.Request
	if len(escapedPath) > MaxHookPathLength {
		return req, badParam("The deploy hook path is %d characters long; the most accepted is %d", len(escapedPath), MaxHookPathLength)
	}
	rest, ok := strings.CutPrefix(escapedPath, HookPathPrefix)
	if !ok {
		return req, errHookNotFound
	}
	if strings.Contains(strings.ToLower(rest), "%2f") {
		return req, badParam("The deploy hook path contains a percent-encoded slash (%%2F); send each part of the path as it is")
	}
	rest = strings.TrimSuffix(rest, "/")
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return req, badParam("The deploy hook path has a malformed percent-encoding in part %d", i+1)
		}
		parts[i] = u
	}
	for i, p := range parts {
		if p == "." || p == ".." || p == "" && i >= 2 {
			return req, badParam("%s", msgUncleanPath)
		}
	}
	switch len(parts) {
	case 2, 4:
	case 3:
		if parts[1] == "" {
			return req, errHookNotFound
		}
		return req, badParam("The preview deploy hook path needs a commit SHA after the PR number: /api/deploy-hook/{previewEnvId}/{secret}/{prNumber}/{commitSHA}")
	default:
		return req, errHookNotFound
	}
	id, err := positive(parts[0], 63)
	if err != nil {
		return req, badParam("envId must be a positive integer, got %s", quoteShort(parts[0]))
	}
	req.EnvironmentID = id
	if parts[1] == "" {
		return req, errHookNotFound
	}
	req.Secret = parts[1]
	if len(parts) == 4 {
		req.Preview = true
		pr, err := positive(parts[2], 31)
		if err != nil {
			return req, badParam("prNumber must be a positive integer, got %s", quoteShort(parts[2]))
		}
		req.PRNumber = int(pr)
		if err := checkSHA("commitSHA", parts[3]); err != nil {
			return req, err
		}
		req.CommitSHA = strings.ToLower(parts[3])
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return req, badParam("The query string is malformed: %s", strings.TrimPrefix(err.Error(), "invalid "))
	}
	for name, values := range query {
		if len(values) > 1 && (name == "force" || name == "clearCache" || name == "commit" || name == "branch") {
			return req, badParam("%s was given %d times; give it once", name, len(values))
		}
	}
	for _, p := range []struct {
		name string
		to   *bool
	}{{"force", &req.Force}, {"clearCache", &req.ClearCache}} {
		v, ok := query[p.name]
		if !ok {
			continue
		}
		switch strings.ToLower(v[0]) {
		case "true", "1":
			*p.to = true
		case "false", "0":
		default:
			return req, badParam("%s must be true, false, 1 or 0, got %s", p.name, quoteShort(v[0]))
		}
	}
	if req.ClearCache && !req.Force {
		return req, badParam("%s", msgClearCacheNeedsForce)
	}
	for _, name := range []string{"commit", "branch"} {
		if _, ok := query[name]; ok && req.Preview {
			return req, badParam("%s is not accepted by a preview deploy hook: the commit is the last part of its path", name)
		}
	}
	if v, ok := query["commit"]; ok {
		if err := checkSHA("commit", v[0]); err != nil {
			return req, err
		}
		req.Commit = strings.ToLower(v[0])
	}
	if v, ok := query["branch"]; ok {
		if err := checkBranch(v[0]); err != nil {
			return req, err
		}
		req.Branch = v[0]
	}
	return req, nil
}

// msgClearCacheNeedsForce answers clearCache without force: a clean
// build of the services the watch paths pick would leave the others'
// caches as they are.
const msgClearCacheNeedsForce = "clearCache=true rebuilds every service from an empty build cache and needs force=true: add force=true"

// positive parses a positive decimal integer of at most bits bits.
func positive(s string, bits int) (int64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(s, 10, bits+1)
	if err != nil || n <= 0 {
		return 0, strconv.ErrRange
	}
	return n, nil
}

func checkSHA(name, s string) error {
	n := len(s)
	if (n < 7 || n > 40) && n != 64 {
		return badParam("%s must be 7 to 40 hexadecimal characters (64 for SHA-256 repositories), got %d characters", name, n)
	}
	for i := 0; i < n; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return badParam("%s must be hexadecimal, got %s", name, quoteShort(s))
		}
	}
	return nil
}

// checkBranch applies git's rules for branch names (git check-ref-format).
func checkBranch(b string) error {
	bad := func(why string) error {
		return badParam("branch %s is not a valid branch name: %s", quoteShort(b), why)
	}
	switch {
	case b == "":
		return bad("it is empty")
	case len(b) > 255:
		return bad("it is longer than 255 characters")
	case strings.HasPrefix(b, "-"), strings.HasPrefix(b, "/"), strings.HasSuffix(b, "/"), strings.HasSuffix(b, "."):
		return bad("it cannot start with - or /, or end with / or .")
	case strings.Contains(b, ".."), strings.Contains(b, "//"), strings.Contains(b, "@{"), strings.HasSuffix(b, ".lock"), b == "@":
		return bad("it cannot contain .., //, @{ or end with .lock")
	}
	for _, r := range b {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return bad("it cannot contain spaces, control characters or any of ~^:?*[\\")
		}
	}
	for _, part := range strings.Split(b, "/") {
		if strings.HasPrefix(part, ".") {
			return bad("no part of it can start with .")
		}
	}
	return nil
}

// quoteShort quotes user input for a message, cut to a readable length.
func quoteShort(s string) string {
	const most = 48
	if len(s) > most {
		return strconv.Quote(s[:most]) + "…"
	}
	return strconv.Quote(s)
}
