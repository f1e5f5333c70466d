package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Mirror is the bare mirror of one project's repository, obtained from
// Manager.Mirror. Its methods are safe for concurrent use; fetches are
// serialised with every other Mirror value of the same project.
type Mirror struct {
	dir    string
	url    string     // as ParseRemote returns it: without credentials
	cred   Credential // handed to git in its environment only (remoteEnv)
	policy Policy     // nil allows everything
	state  *mirrorState
	logger *slog.Logger
}

// allow asks the policy whether git may read from the remote now.
func (m *Mirror) allow(ctx context.Context) error {
	if m.policy == nil {
		return nil
	}
	if err := m.policy.Allow(ctx, m.url); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %w", ErrNotAllowed, err)
	}
	return nil
}

// runRemote runs a git command that reads from the remote, once the policy
// allowed it, with the credential in its environment.
func (m *Mirror) runRemote(ctx context.Context, gitDir, workDir string, stdout io.Writer, args ...string) error {
	if err := m.allow(ctx); err != nil {
		return err
	}
	cmd, stderr := command(ctx, gitDir, workDir, args...)
	cmd.Env = append(cmd.Env, remoteEnv(m.url, m.cred)...)
	cmd.Stdout = stdout
	if err := cmd.Run(); err != nil {
		return newGitError(ctx, args, stderr.String(), err)
	}
	return nil
}

// Dir is the mirror's directory (a bare repository).
func (m *Mirror) Dir() string { return m.dir }

// Fetch brings the mirror up to date with its remote: every ref (branches,
// tags, and refs/pull/* where the remote has them), with refs deleted on the
// remote pruned. HEAD is left alone: RefreshHead follows the remote's
// default branch, which costs a second connection to the remote and is only
// needed when the default branch is (project creation and sync).
func (m *Mirror) Fetch(ctx context.Context) error {
	if err := m.state.acquire(ctx); err != nil {
		return err
	}
	defer m.state.release()

	start := time.Now()
	// The mirror's refspec, +refs/*:refs/*, makes this fetch (and prune)
	// every ref the remote has.
	if err := m.runRemote(ctx, m.dir, "", nil, "fetch", "--prune", "--quiet", "--no-write-fetch-head", "origin"); err != nil {
		return fmt.Errorf("fetching %s: %w", RedactURL(m.url), err)
	}
	m.logger.Debug("gitsource: fetched", "url", RedactURL(m.url), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// RefreshHead points the mirror's HEAD where the remote's HEAD points, since
// git fetch leaves HEAD alone. A failure only makes DefaultBranch stale, so
// it is logged, not returned.
func (m *Mirror) RefreshHead(ctx context.Context) {
	if err := m.state.acquire(ctx); err != nil {
		return
	}
	defer m.state.release()
	m.refreshHead(ctx)
}

func (m *Mirror) refreshHead(ctx context.Context) {
	var buf bytes.Buffer
	err := m.runRemote(ctx, m.dir, "", &buf, "ls-remote", "--symref", "origin", "HEAD")
	out := strings.TrimSpace(buf.String())
	if err != nil {
		m.logger.Warn("gitsource: reading the remote's HEAD", "url", RedactURL(m.url), "err", err)
		return
	}
	for line := range strings.SplitSeq(out, "\n") {
		// "ref: refs/heads/main\tHEAD". A remote whose HEAD dangles
		// advertises no symref; the mirror's HEAD then stays as it was.
		rest, ok := strings.CutPrefix(line, "ref: ")
		if !ok {
			continue
		}
		target, name, _ := strings.Cut(rest, "\t")
		if name != "HEAD" || !strings.HasPrefix(target, "refs/heads/") {
			continue
		}
		if err := run(ctx, m.dir, "", nil, nil, "symbolic-ref", "HEAD", target); err != nil {
			m.logger.Warn("gitsource: updating HEAD", "target", target, "err", err)
		}
		return
	}
}

// DefaultBranch is the remote's default branch as of the clone or the last
// RefreshHead: the branch its HEAD points to. When that branch does not exist (the
// remote's HEAD dangles) it falls back to main, then master; with neither
// the error wraps ErrRevisionNotFound.
func (m *Mirror) DefaultBranch(ctx context.Context) (string, error) {
	head, err := output(ctx, m.dir, "symbolic-ref", "--quiet", "HEAD")
	if err != nil && exitCode(err) != 1 { // 1: HEAD is detached
		return "", fmt.Errorf("reading HEAD of mirror %s: %w", m.dir, err)
	}
	var candidates []string
	if b, ok := strings.CutPrefix(head, "refs/heads/"); ok {
		candidates = append(candidates, b)
	}
	candidates = append(candidates, "main", "master")
	patterns := make([]string, 0, len(candidates))
	for _, c := range candidates {
		patterns = append(patterns, "refs/heads/"+c)
	}
	refs, err := output(ctx, m.dir, append([]string{"for-each-ref", "--format=%(refname)", "--end-of-options"}, patterns...)...)
	if err != nil {
		return "", fmt.Errorf("listing branches of mirror %s: %w", m.dir, err)
	}
	exists := make(map[string]bool)
	for ref := range strings.SplitSeq(refs, "\n") {
		exists[ref] = true
	}
	for i, c := range candidates {
		if exists["refs/heads/"+c] {
			if i > 0 || head == "" {
				m.logger.Warn("gitsource: remote HEAD does not name an existing branch; using fallback",
					"url", RedactURL(m.url), "head", head, "branch", c)
			}
			return c, nil
		}
	}
	if head == "" {
		head = "a detached commit"
	}
	return "", fmt.Errorf("%w: no default branch in %s: HEAD points to %s, which is not a branch, and there is no main or master branch",
		ErrRevisionNotFound, RedactURL(m.url), head)
}

// FetchCommit makes sure the mirror has commit sha (a full SHA, or a prefix
// when prNumber names the pull request it belongs to). When it is missing, it
// fetches the commit by SHA from the remote (servers that allow it, such as
// GitHub, serve any reachable commit that way), then, for prNumber > 0, the
// remote's refs/pull/<prNumber>/head. When the commit is still missing the
// error wraps ErrRevisionNotFound and names the SHA and the repository.
func (m *Mirror) FetchCommit(ctx context.Context, sha string, prNumber int) error {
	if err := validateSHA(sha); err != nil {
		return err
	}
	if prNumber < 0 {
		return fmt.Errorf("gitsource: invalid pull request number %d", prNumber)
	}
	if ok, err := m.HasCommit(ctx, sha); err != nil || ok {
		return err
	}
	if err := m.state.acquire(ctx); err != nil {
		return err
	}
	defer m.state.release()

	var tried []string
	if isFullSHA(sha) {
		// Without a destination the commit lands in the object store only,
		// which is all a deployment needs; a ref would be pruned by the next
		// Fetch anyway.
		if err := m.fetchMissing(ctx, sha); err != nil {
			return err
		}
		tried = append(tried, "by SHA")
		if ok, err := m.HasCommit(ctx, sha); err != nil || ok {
			return err
		}
	}
	if prNumber > 0 {
		ref := "refs/pull/" + strconv.Itoa(prNumber) + "/head"
		if err := m.fetchMissing(ctx, "+"+ref+":"+ref); err != nil {
			return err
		}
		tried = append(tried, ref)
		if ok, err := m.HasCommit(ctx, sha); err != nil || ok {
			return err
		}
	}
	how := ""
	if len(tried) > 0 {
		how = " (tried " + strings.Join(tried, " and ") + ")"
	}
	return fmt.Errorf("%w: commit %s is not in %s%s", ErrRevisionNotFound, sha, RedactURL(m.url), how)
}

// fetchMissing fetches one refspec from origin. It returns nil when the
// remote lacks what was asked for (the caller checks the result), and an
// error for other failures (network, authentication), which are not news
// about the commit.
func (m *Mirror) fetchMissing(ctx context.Context, refspec string) error {
	err := m.runRemote(ctx, m.dir, "", nil, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "origin", refspec)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotAllowed) {
		return err
	}
	stderr := stderrOf(err)
	for _, s := range []string{
		"not our ref",              // upload-pack refusing an unadvertised SHA
		"unadvertised object",      // a protocol v0 client refusing to ask
		"couldn't find remote ref", // no such ref
	} {
		if strings.Contains(stderr, s) && ctx.Err() == nil {
			m.logger.Debug("gitsource: remote does not have it", "refspec", refspec, "err", err)
			return nil
		}
	}
	return fmt.Errorf("fetching %s from %s: %w", refspec, RedactURL(m.url), err)
}
