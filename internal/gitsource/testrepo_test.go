package gitsource

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testRepo is a non-bare repository built with the git binary, standing in
// for a project's remote.
type testRepo struct {
	t   testing.TB
	dir string
}

// newTestRepo creates an empty repository whose first branch is branch.
func newTestRepo(t testing.TB, branch string) *testRepo {
	t.Helper()
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", branch)
	r.git("config", "user.name", "Liftoff Test")
	r.git("config", "user.email", "test@liftoff.invalid")
	r.git("config", "commit.gpgsign", "false")
	r.git("config", "tag.gpgsign", "false")
	return r
}

// testGitEnv is the environment of the helpers' git commands: neither the
// system's nor the user's configuration, so tests do not depend on them.
func testGitEnv() []string {
	return append(gitEnv(os.Environ()), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
}

// runTestGit runs git in dir with stdin, failing the test on error, and
// returns its trimmed stdout.
func runTestGit(t testing.TB, dir string, stdin io.Reader, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = testGitEnv()
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	return runTestGit(r.t, r.dir, nil, args...)
}

func (r *testRepo) writeMode(name, content string, mode os.FileMode) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile keeps an existing file's mode
		r.t.Fatal(err)
	}
}

// write creates or replaces a file, making its directories.
func (r *testRepo) write(name, content string) { r.t.Helper(); r.writeMode(name, content, 0o644) }

// writeExec creates or replaces an executable file.
func (r *testRepo) writeExec(name, content string) { r.t.Helper(); r.writeMode(name, content, 0o755) }

// symlink creates the symbolic link name pointing to target.
func (r *testRepo) symlink(target, name string) {
	r.t.Helper()
	if err := os.Symlink(target, filepath.Join(r.dir, name)); err != nil {
		r.t.Fatal(err)
	}
}

// remove deletes a file from the work tree and the index.
func (r *testRepo) remove(name string) { r.t.Helper(); r.git("rm", "-q", "--", name) }

// rename moves a file, as git mv does.
func (r *testRepo) rename(from, to string) {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(r.dir, to)), 0o755); err != nil {
		r.t.Fatal(err)
	}
	r.git("mv", "--", from, to)
}

// commit records every change in the work tree and returns the new commit.
func (r *testRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// prOnlyCommit creates a commit on top of HEAD that is reachable only from
// refs/pull/<n>/head, as GitHub keeps a pull request from a fork.
func (r *testRepo) prOnlyCommit(n, file string) string {
	r.t.Helper()
	head := r.git("symbolic-ref", "--short", "HEAD")
	r.git("checkout", "-q", "-b", "pr-"+n)
	r.write(file, "pull request "+n+"\n")
	sha := r.commit("pull request " + n)
	r.git("update-ref", "refs/pull/"+n+"/head", sha)
	r.git("checkout", "-q", head)
	r.git("branch", "-q", "-D", "pr-"+n)
	return sha
}

// testLogger writes to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestMirror clones r into a new Manager and returns the mirror.
func newTestMirror(t testing.TB, r *testRepo) (*Manager, *Mirror) {
	t.Helper()
	mgr := NewManager(t.TempDir(), testLogger(t), nil)
	mir, err := mgr.Mirror(t.Context(), "proj", Remote{URL: r.dir})
	if err != nil {
		t.Fatal(err)
	}
	return mgr, mir
}
