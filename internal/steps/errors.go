package steps

import (
	"errors"
	"fmt"
	"os/exec"
	"time"
	"unicode/utf8"
)

// StepError is the failure of one step. Exactly one of these describes it:
// TimedOut (Spec.Timeout passed), Canceled (the context ended), an exit
// with a non-zero ExitCode, death by a signal nobody in Liftoff sent (Err is
// an *exec.ExitError and ExitCode is -1), or a failure to start (any other
// Err, ExitCode -1).
type StepError struct {
	Step    string // the step's Name ("buildCommand")
	Command string // the command line, in full
	// ExitCode is the shell's exit status, or -1 if it did not start or
	// was killed by a signal.
	ExitCode int
	TimedOut bool
	Timeout  time.Duration // Spec.Timeout, when TimedOut
	Canceled bool
	// Err is the cause: context.DeadlineExceeded when TimedOut, the
	// context's error when Canceled (so errors.Is(err, context.Canceled)
	// holds), an *exec.ExitError when the command failed, or the error
	// that kept it from starting.
	Err error
}

// maxCommandInError is how many characters of a command an error message
// quotes.
const maxCommandInError = 80

// Error says what happened in one sentence:
//
//	buildCommand "npm run build" exited with status 1
func (e *StepError) Error() string {
	what := fmt.Sprintf("%s %q", e.Step, shorten(e.Command, maxCommandInError))
	var exitErr *exec.ExitError
	switch {
	case e.TimedOut:
		return fmt.Sprintf("%s timed out after %v", what, e.Timeout)
	case e.Canceled:
		return what + " was cancelled"
	case e.ExitCode == 126:
		return what + " exited with status 126 (a command could not be executed: check its permissions)"
	case e.ExitCode == 127:
		return what + " exited with status 127 (a command was not found: check PATH and the install step)"
	case e.ExitCode >= 0:
		return fmt.Sprintf("%s exited with status %d", what, e.ExitCode)
	case errors.As(e.Err, &exitErr):
		// Killed by a signal from outside, such as the kernel's
		// out-of-memory killer; ProcessState says which ("signal: killed").
		return fmt.Sprintf("%s was stopped by %v", what, exitErr.ProcessState)
	case e.Err != nil:
		return fmt.Sprintf("%s could not be started: %v", what, e.Err)
	}
	return what + " failed"
}

func (e *StepError) Unwrap() error { return e.Err }

// shorten cuts s to at most limit characters, marking the cut with "...".
func shorten(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	runes := []rune(s)
	return string(runes[:limit-3]) + "..."
}

// dirError is an unusable Spec.Dir. It unwraps to the error of os.Stat, so
// errors.Is(err, fs.ErrNotExist) tells a missing directory.
type dirError struct {
	dir     string
	problem string // "does not exist"
	err     error
}

func (e *dirError) Error() string {
	return fmt.Sprintf("working directory %q %s", e.dir, e.problem)
}

func (e *dirError) Unwrap() error { return e.err }
