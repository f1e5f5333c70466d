package gitsource

import (
	"context"
	"errors"
	"os/exec"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap them, with a message
// that names the revision, path or repository concerned.
var (
	// ErrInvalidRepoURL: the repository URL is not one Liftoff accepts.
	ErrInvalidRepoURL = errors.New("invalid repository URL")
	// ErrInvalidRevision: the revision (or SHA, or branch name) is malformed,
	// for example empty or starting with "-".
	ErrInvalidRevision = errors.New("invalid revision")
	// ErrInvalidPath: a path inside the repository is malformed or escapes it.
	ErrInvalidPath = errors.New("invalid path")
	// ErrRevisionNotFound: the revision or commit does not exist in the mirror
	// (or, for FetchCommit, on the remote either).
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrAmbiguous: a short SHA matches several objects.
	ErrAmbiguous = errors.New("ambiguous revision")
	// ErrFileNotFound: the path does not name a file at the revision.
	ErrFileNotFound = errors.New("file not found")
	// ErrFileTooLarge: the file is larger than MaxFileSize.
	ErrFileTooLarge = errors.New("file too large")
	// ErrNotAllowed: the Manager's Policy refused the repository.
	ErrNotAllowed = errors.New("repository not allowed")
)

// gitError is a failed git invocation: what ran, how it ended and what git
// said. Its text is redacted; it unwraps to the context's error when the
// context ended, otherwise to the *exec.ExitError (or start error).
type gitError struct {
	op     string // "git fetch ...", redacted
	stderr string // trimmed, one line, redacted
	err    error
}

func (e *gitError) Error() string {
	msg := e.op + ": " + e.err.Error()
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.err }

// maxStderrInError bounds how much of git's stderr goes into an error message.
const maxStderrInError = 2000

// newGitError builds the error for a git run that failed with err.
func newGitError(ctx context.Context, args []string, stderr string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The exit status of a killed process says nothing useful.
		err = ctxErr
	}
	return &gitError{
		op:     RedactURL("git " + summarizeArgs(args)),
		stderr: RedactURL(oneLine(stderr)),
		err:    err,
	}
}

// summarizeArgs keeps error messages readable when git was given many
// arguments.
func summarizeArgs(args []string) string {
	const max = 8
	if len(args) > max {
		return strings.Join(args[:max], " ") + " ..."
	}
	return strings.Join(args, " ")
}

// oneLine joins git's stderr lines with "; " and keeps the end, where git
// puts the fatal message, when it is long.
func oneLine(s string) string {
	var parts []string
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	out := strings.Join(parts, "; ")
	if len(out) > maxStderrInError {
		out = "..." + strings.ToValidUTF8(out[len(out)-maxStderrInError:], "")
	}
	return out
}

// exitCode is git's exit status, or -1 when err is not an exit status.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// stderrOf is the (redacted, one-line) stderr of a failed git run, or "".
func stderrOf(err error) string {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.stderr
	}
	return ""
}
