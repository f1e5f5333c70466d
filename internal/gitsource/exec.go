package gitsource

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// waitDelay bounds how long Wait waits for git's pipes to close after git
// exited or was killed, in case a grandchild keeps them open.
const waitDelay = 5 * time.Second

// maxStderr is how much of git's stderr is kept (the end of it).
const maxStderr = 16 << 10

// command prepares one git invocation. gitDir is the repository (passed as
// --git-dir, so git never searches the directories above it for another
// repository), or "" for commands that take no repository (clone), which
// then run in workDir.
func command(ctx context.Context, gitDir, workDir string, args ...string) (*exec.Cmd, *tailBuffer) {
	argv := args
	if gitDir != "" {
		argv = append([]string{"--git-dir=" + gitDir}, args...)
		workDir = gitDir
	}
	cmd := exec.CommandContext(ctx, "git", argv...)
	cmd.Dir = workDir
	cmd.Env = gitEnv(os.Environ())
	stderr := &tailBuffer{max: maxStderr}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	isolateProcess(cmd)
	return cmd, stderr
}

// run runs git to completion, writing its stdout to stdout (nil discards it).
func run(ctx context.Context, gitDir, workDir string, stdin io.Reader, stdout io.Writer, args ...string) error {
	cmd, stderr := command(ctx, gitDir, workDir, args...)
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	if err := cmd.Run(); err != nil {
		return newGitError(ctx, args, stderr.String(), err)
	}
	return nil
}

// output runs git and returns its stdout with surrounding white space
// trimmed. Only for commands whose output is small.
func output(ctx context.Context, gitDir string, args ...string) (string, error) {
	var out bytes.Buffer
	if err := run(ctx, gitDir, "", nil, &out, args...); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

// gitEnv is the environment git runs with: the caller's, so HOME, SSH_AUTH_SOCK,
// proxies and credential helpers keep working, minus the variables that
// would point git at another repository, plus settings that keep git from
// prompting and its messages parseable.
func gitEnv(environ []string) []string {
	env := make([]string, 0, len(environ)+3)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if isRepoLocalEnv(name) || name == "GIT_TERMINAL_PROMPT" || name == "LC_ALL" || name == "GIT_ALLOW_PROTOCOL" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
		// Transports Liftoff accepts; url.insteadOf rewrites cannot reach
		// others (ext::, fd::, git://).
		"GIT_ALLOW_PROTOCOL=file:http:https:ssh",
	)
}

// isRepoLocalEnv reports whether git reads the variable as a description of
// the repository to work on (the list of `git rev-parse --local-env-vars`).
// Liftoff may itself run under git (a hook, a test), and those variables
// must not redirect commands meant for a mirror.
func isRepoLocalEnv(name string) bool {
	switch name {
	case "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS",
		"GIT_CONFIG_COUNT", "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE",
		"GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE", "GIT_INDEX_FILE",
		"GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_PREFIX",
		"GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE", "GIT_COMMON_DIR",
		"GIT_NAMESPACE", "GIT_QUARANTINE_PATH":
		return true
	}
	// GIT_CONFIG_KEY_<n> and GIT_CONFIG_VALUE_<n> go with GIT_CONFIG_COUNT.
	return strings.HasPrefix(name, "GIT_CONFIG_KEY_") || strings.HasPrefix(name, "GIT_CONFIG_VALUE_")
}

// tailBuffer keeps the last max bytes written to it (git writes its fatal
// message last).
type tailBuffer struct {
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	if len(b.buf) > b.max {
		return string(b.buf[len(b.buf)-b.max:])
	}
	return string(b.buf)
}
