package gitsource

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ResolveCommit resolves rev (a branch, a tag, a full or abbreviated SHA, or
// another revision expression git understands such as main~2) to the full
// SHA of a commit: 40 hex digits, or 64 in a SHA-256 repository. Tags are
// peeled. Errors wrap ErrInvalidRevision, ErrRevisionNotFound or
// ErrAmbiguous (a short SHA matching several commits) and name rev. It uses
// git's name lookup: resolve a branch a user named with ResolveBranch.
func (m *Mirror) ResolveCommit(ctx context.Context, rev string) (string, error) {
	if err := validateRev(rev); err != nil {
		return "", err
	}
	// ^{commit} peels tags, and makes git prefer commits when a short SHA
	// also matches trees or blobs.
	out, err := output(ctx, m.dir, "rev-parse", "--verify", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", m.revisionError(ctx, rev, err)
	}
	if !isFullSHA(out) {
		return "", fmt.Errorf("resolving %q: unexpected output from git rev-parse: %q", rev, out)
	}
	return out, nil
}

// HasCommit reports whether the mirror has the commit sha (full or
// abbreviated). An abbreviation matching several commits is an error
// wrapping ErrAmbiguous.
func (m *Mirror) HasCommit(ctx context.Context, sha string) (bool, error) {
	if err := validateSHA(sha); err != nil {
		return false, err
	}
	_, err := m.ResolveCommit(ctx, sha)
	if errors.Is(err, ErrRevisionNotFound) {
		return false, nil
	}
	return err == nil, err
}

// IsAncestor reports whether ancestor is an ancestor of descendant (a commit
// is its own ancestor).
func (m *Mirror) IsAncestor(ctx context.Context, ancestor, descendant string) (bool, error) {
	if err := validateRev(ancestor); err != nil {
		return false, err
	}
	if err := validateRev(descendant); err != nil {
		return false, err
	}
	err := run(ctx, m.dir, "", nil, nil, "merge-base", "--is-ancestor", "--end-of-options", ancestor, descendant)
	switch {
	case err == nil:
		return true, nil
	case exitCode(err) == 1 && ctx.Err() == nil:
		return false, nil
	case isNotFound(err):
		return false, fmt.Errorf("%w: %q or %q in %s: %s", ErrRevisionNotFound, ancestor, descendant, RedactURL(m.url), stderrOf(err))
	}
	return false, fmt.Errorf("checking whether %q is an ancestor of %q: %w", ancestor, descendant, err)
}

// MergeBase returns the best common ancestor of two commits (what a pull
// request's changes are counted from). Commits without one wrap
// ErrRevisionNotFound.
func (m *Mirror) MergeBase(ctx context.Context, a, b string) (string, error) {
	if err := validateRev(a); err != nil {
		return "", err
	}
	if err := validateRev(b); err != nil {
		return "", err
	}
	out, err := output(ctx, m.dir, "merge-base", "--end-of-options", a, b)
	switch {
	case err == nil:
		return strings.TrimSpace(out), nil
	case exitCode(err) == 1 && ctx.Err() == nil:
		return "", fmt.Errorf("%w: %q and %q have no common ancestor in %s", ErrRevisionNotFound, a, b, RedactURL(m.url))
	case isNotFound(err):
		return "", fmt.Errorf("%w: %q or %q in %s: %s", ErrRevisionNotFound, a, b, RedactURL(m.url), stderrOf(err))
	}
	return "", fmt.Errorf("merge base of %q and %q: %w", a, b, err)
}

// ResolveBranch resolves a branch, and only a branch, to the full SHA of
// its commit: branch names refs/heads/<branch> (a leading "refs/heads/" is
// accepted), looked up by that full name. git's own name lookup
// (ResolveCommit) would also take a tag, another ref such as GitHub's
// refs/pull/7/head, a SHA, or even a tag named "refs/heads/main", none of
// which an environment following a branch may deploy. A missing branch is
// an error wrapping ErrRevisionNotFound that names it.
func (m *Mirror) ResolveBranch(ctx context.Context, branch string) (string, error) {
	name := strings.TrimPrefix(branch, "refs/heads/")
	if err := validateRev(name); err != nil {
		return "", err
	}
	// show-ref --verify takes exactly one full ref name, no lookup.
	tip, err := output(ctx, m.dir, "show-ref", "--verify", "--hash", "--end-of-options", "refs/heads/"+name)
	if err != nil {
		if ctx.Err() == nil && exitCode(err) == 128 && strings.Contains(stderrOf(err), "not a valid ref") {
			return "", fmt.Errorf("%w: branch %q in %s", ErrRevisionNotFound, name, RedactURL(m.url))
		}
		return "", fmt.Errorf("resolving branch %q: %w", name, err)
	}
	if !isFullSHA(tip) {
		return "", fmt.Errorf("resolving branch %q: unexpected output from git show-ref: %q", name, tip)
	}
	// Peels a branch that points at a tag object, and checks it is a commit.
	return m.ResolveCommit(ctx, tip)
}

// BranchContains reports whether commit is reachable from the tip of branch
// (a branch name such as "main", resolved as ResolveBranch does). A missing
// branch is an error wrapping ErrRevisionNotFound that names it.
func (m *Mirror) BranchContains(ctx context.Context, branch, commit string) (bool, error) {
	tip, err := m.ResolveBranch(ctx, branch)
	if err != nil {
		return false, err
	}
	return m.IsAncestor(ctx, commit, tip)
}

// revisionError maps a failed rev-parse of rev to the package's sentinels.
func (m *Mirror) revisionError(ctx context.Context, rev string, err error) error {
	stderr := stderrOf(err)
	switch {
	case ctx.Err() != nil:
	case strings.Contains(stderr, "short object ID") && strings.Contains(stderr, "is ambiguous"):
		msg := fmt.Sprintf("%q matches several objects", rev)
		if c := ambiguousCandidates(stderr); c != "" {
			msg += " (" + c + ")"
		}
		return fmt.Errorf("%w: %s in %s; give more characters of the SHA", ErrAmbiguous, msg, RedactURL(m.url))
	case isNotFound(err):
		return fmt.Errorf("%w: %q in %s", ErrRevisionNotFound, rev, RedactURL(m.url))
	}
	return fmt.Errorf("resolving %q: %w", rev, err)
}

// ambiguousCandidates extracts "0c5b154 commit, 0c5beb4 tree" from git's
// hints about an ambiguous short SHA.
func ambiguousCandidates(stderr string) string {
	var out []string
	for part := range strings.SplitSeq(stderr, "; ") {
		rest, ok := strings.CutPrefix(part, "hint:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) >= 2 && isHex(f[0]) {
			out = append(out, f[0]+" "+f[1])
		}
	}
	return strings.Join(out, ", ")
}

// isNotFound reports whether git failed because a revision or object does
// not exist.
func isNotFound(err error) bool {
	if exitCode(err) != 128 {
		return false
	}
	stderr := stderrOf(err)
	for _, s := range []string{
		"Needed a single revision", "unknown revision", "bad revision",
		// "Not a valid ..." and "not a valid ...".
		"ot a valid object name", "ot a valid commit name",
		"invalid object name", "bad object", "not a tree object",
	} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// validateRev rejects revisions git could read as something other than a
// revision: an option (leading "-"), a path (":"), or anything with white
// space or control characters, none of which a ref name or SHA contains.
func validateRev(rev string) error {
	var why string
	switch {
	case rev == "":
		why = "empty"
	case strings.HasPrefix(rev, "-"):
		why = `must not start with "-"`
	case len(rev) > 1024:
		why = "too long"
	case strings.ContainsAny(rev, ": \\") || hasControl(rev):
		why = "must not contain ':', '\\', spaces or control characters"
	default:
		return nil
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidRevision, rev, why)
}

// validateSHA accepts 4 to 64 hexadecimal digits.
func validateSHA(sha string) error {
	if len(sha) < 4 || len(sha) > 64 || !isHex(sha) {
		return fmt.Errorf("%w %q: a commit SHA is 4 to 64 hexadecimal digits", ErrInvalidRevision, sha)
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// isFullSHA reports whether s is a whole SHA-1 or SHA-256 object name.
func isFullSHA(s string) bool {
	return (len(s) == 40 || len(s) == 64) && isHex(s)
}
