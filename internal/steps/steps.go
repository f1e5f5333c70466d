package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/sandbox"
)

// shell runs every command, as "sh -c COMMAND".
const shell = "/bin/sh"

// DefaultKillGrace is how long a step's processes have between SIGTERM and
// SIGKILL when Spec.KillGrace is zero.
const DefaultKillGrace = 5 * time.Second

// outputGrace bounds how long a finished step waits for its output pipe to
// close. Only an unsandboxed process that left the step's process group
// (setsid, a daemon) can hold it open that long; whatever it writes later
// is dropped. In a sandbox such a process dies with the step.
const outputGrace = 2 * time.Second

// Step is one command of a service.
type Step struct {
	// Name is the liftoff.json field the command comes from
	// ("buildCommand"); it names the step in output headers and errors.
	Name string
	// Command is a shell command line, run with /bin/sh -c, so it may use
	// &&, pipes, redirections and quoting ("npm ci && npm run build").
	// An empty or blank command without Args is skipped. Nothing it starts
	// outlives it: when the shell (or the program of Args) exits, what is
	// left of its process group is killed and, in a sandbox, everything
	// else in the sandbox (unsandboxed, a process that leaves the group,
	// with setsid for example, is on its own, and its output is dropped
	// once the step is over).
	Command string
	// Args, when set, is the exec form of the command: Args[0] runs
	// directly with the rest as its arguments, no shell reading them
	// (["node", "server.js"]); Args[0] without a slash is looked up in
	// the PATH of Spec.Env. Command then only shows the step in headers
	// and errors.
	Args []string
}

// argv is the command line that runs the step.
func (s Step) argv() []string {
	if len(s.Args) > 0 {
		return s.Args
	}
	return []string{shell, "-c", s.Command}
}

// Spec describes how to run a list of steps.
type Spec struct {
	// Dir is the working directory of every step. Required; it must exist.
	Dir string
	// Root is the tree Dir is part of: the build's checkout, when Dir is a
	// service's basePath in it. In a sandbox, Root and Dir are the only
	// host directories a step may write (besides Home). Empty: Dir.
	Root string
	// Sandbox runs the steps. Nil runs them unsandboxed, as Liftoff's
	// user, as sandbox mode none does.
	Sandbox *sandbox.Sandbox
	// Home is HOME in a sandbox: its environment's home (Sandbox.Home), so
	// caches last from one build to the next. Empty: a HOME that lasts as
	// long as the step. Unsandboxed, HOME is Env's.
	Home string
	// Writable are more host directories the steps may write in a
	// sandbox, each at its path: the build's cache (package buildcache),
	// which Env points the tools at. Each must be absolute and exist.
	Writable []string
	// Env is the complete environment of every step, as KEY=VALUE. Nothing
	// is inherited from Liftoff's own environment: pass at least PATH and
	// HOME, for example by starting from BaseEnv(). The shell exports PWD,
	// which Run sets to Dir whatever Env says; in a sandbox HOME is Home
	// and TMPDIR is unset. Nil means an empty environment.
	Env []string
	// Steps run in order; the first one that fails stops the run.
	Steps []Step
	// Timeout limits all steps together. Zero means no limit (the context
	// may still end the run).
	Timeout time.Duration
	// KillGrace is how long a stopped step's processes have to exit after
	// SIGTERM before they get SIGKILL. Zero means DefaultKillGrace.
	KillGrace time.Duration
	// Output receives a header line per step ("==> buildCommand: npm run
	// build") followed by the step's stdout and stderr, interleaved as they
	// were written. Within a Run, writes come from one goroutine at a time,
	// and none after Run returns. A slow Output slows the step down (its
	// writes block); it must not block forever. After a write fails, the
	// rest of the output is dropped and the steps keep running. Nil discards
	// the output.
	//
	// Output is the steps' raw output: redacting secrets is the caller's job.
	Output io.Writer
}

// Run runs the non-empty steps of spec in order and returns nil if all of
// them exit with status 0. Otherwise it returns a *StepError for the step
// that failed, timed out, was cancelled or could not start, and runs no
// further step. A missing or unusable Dir is reported before any step runs,
// with an error that is not a *StepError.
//
// When ctx ends or spec.Timeout passes, the running step's process group is
// stopped (SIGTERM, then SIGKILL after spec.KillGrace) and Run returns once
// it has exited and its output has been written.
//
// A failure of the sandbox itself (bwrap could not start the step) is a
// *StepError whose Err is a *sandbox.Error, reported as a step that could
// not be started, never as the command's exit status.
func Run(ctx context.Context, spec Spec) error {
	if err := checkDir(spec.Dir); err != nil {
		return err
	}
	r := &runner{
		spec:      spec,
		env:       stepEnv(spec.Env, spec.Dir),
		out:       &outputWriter{w: spec.Output},
		killGrace: spec.KillGrace,
	}
	if r.out.w == nil {
		r.out.w = io.Discard
	}
	if r.killGrace <= 0 {
		r.killGrace = DefaultKillGrace
	}
	if spec.Timeout > 0 {
		// A cause of our own tells the time limit apart from a deadline
		// of the caller's context.
		r.timeoutCause = fmt.Errorf("time limit of %v reached: %w", spec.Timeout, context.DeadlineExceeded)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, spec.Timeout, r.timeoutCause)
		defer cancel()
	}
	for _, step := range spec.Steps {
		if len(step.Args) == 0 && strings.TrimSpace(step.Command) == "" {
			continue
		}
		if err := r.runStep(ctx, step); err != nil {
			return err
		}
	}
	return nil
}

// checkDir makes sure dir names an existing directory, so that a missing
// checkout is reported as such rather than as a failure to start /bin/sh
// (which is how exec reports a failed chdir).
func checkDir(dir string) error {
	if dir == "" {
		return errors.New("steps.Run: Spec.Dir is empty")
	}
	info, err := os.Stat(dir)
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &dirError{dir: dir, problem: "does not exist", err: err}
	case errors.As(err, &pathErr):
		return &dirError{dir: dir, problem: "cannot be used: " + pathErr.Err.Error(), err: err}
	case err != nil:
		return &dirError{dir: dir, problem: "cannot be used: " + err.Error(), err: err}
	case !info.IsDir():
		return &dirError{dir: dir, problem: "is not a directory"}
	}
	return nil
}

// stepEnv is env with PWD set to dir. An empty, non-nil slice matters:
// exec.Cmd takes a nil Env to mean Liftoff's own environment.
func stepEnv(env []string, dir string) []string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PWD=") {
			out = append(out, kv)
		}
	}
	return append(out, "PWD="+dir)
}

// runner holds what the steps of one Run share.
type runner struct {
	spec         Spec
	env          []string
	out          *outputWriter
	killGrace    time.Duration
	timeoutCause error // nil without a Timeout
}

// runStep runs one step to completion and returns its *StepError, if any.
func (r *runner) runStep(ctx context.Context, step Step) error {
	if ctx.Err() != nil {
		return r.stopError(ctx, step, -1)
	}
	fmt.Fprintf(r.out, "==> %s: %s\n", step.Name, headerCommand(step.Command))

	// One pipe for stdout and stderr keeps their order as written. os.Pipe
	// sets close-on-exec, so steps started concurrently by other Runs do
	// not inherit this one's write end.
	pr, pw, err := os.Pipe()
	if err != nil {
		return r.startError(step, err)
	}
	defer pr.Close()

	p, err := r.spec.Sandbox.Start(sandbox.Command{
		Args:     step.argv(),
		Dir:      r.spec.Dir,
		Root:     r.spec.Root,
		Home:     r.spec.Home,
		Writable: r.spec.Writable,
		Env:      r.env,
		Output:   pw,
	})
	// The step has its copy; ours must go, or the pipe never reports EOF.
	pw.Close()
	if err != nil {
		return r.startError(step, err)
	}

	copied := make(chan struct{})
	go func() {
		defer close(copied)
		copyOutput(r.out, pr)
	}()
	exited := p.Exited()

	stopped := false
	select {
	case <-exited:
	case <-ctx.Done():
		select {
		case <-exited: // it finished first: the step succeeded or failed on its own
		default:
			stopped = true
			r.stop(p, copied)
		}
	}
	// Kill whatever is left: after a stop, processes that ignored SIGTERM;
	// after a normal exit, background processes ("cmd &") that would
	// otherwise outlive the step and keep the output open.
	p.Kill()
	<-exited

	waitOutput(pr, copied)
	state, waitErr := p.Wait() // reaps the leader

	var sandboxErr *sandbox.Error
	switch {
	case stopped:
		return r.stopError(ctx, step, state.ExitCode())
	case errors.As(waitErr, &sandboxErr):
		return &StepError{Step: step.Name, Command: step.Command, ExitCode: -1, Err: waitErr}
	case waitErr != nil:
		return &StepError{
			Step:     step.Name,
			Command:  step.Command,
			ExitCode: state.ExitCode(),
			Err:      waitErr,
		}
	}
	return nil
}

// stop sends SIGTERM to the step's processes and waits until the leader
// has exited and the output is closed (everything of the step is gone,
// unless it closed its output), or until the kill grace is over.
func (r *runner) stop(p *sandbox.Process, copied <-chan struct{}) {
	p.Terminate()
	grace := time.NewTimer(r.killGrace)
	defer grace.Stop()
	exited := p.Exited()
	for exited != nil || copied != nil {
		select {
		case <-exited:
			exited = nil
		case <-copied:
			copied = nil
		case <-grace.C:
			return
		}
	}
}

// waitOutput waits until copyOutput has written the output of a step whose
// process group is dead. If something outside the group still holds the
// pipe after outputGrace, the copy is told to finish with what is already
// in the pipe.
func waitOutput(pr *os.File, copied <-chan struct{}) {
	t := time.NewTimer(outputGrace)
	defer t.Stop()
	select {
	case <-copied:
	case <-t.C:
		_ = pr.SetReadDeadline(time.Now())
		<-copied
	}
}

// stopError is the error of a step stopped because ctx ended.
func (r *runner) stopError(ctx context.Context, step Step, exitCode int) *StepError {
	e := &StepError{
		Step:     step.Name,
		Command:  step.Command,
		ExitCode: exitCode,
		Err:      ctx.Err(),
	}
	if r.timeoutCause != nil && context.Cause(ctx) == r.timeoutCause {
		e.TimedOut = true
		e.Timeout = r.spec.Timeout
	} else {
		e.Canceled = true
	}
	return e
}

// startError is the error of a step whose shell could not be started.
// exec reports a failed chdir as a failure to run the shell, so the likely
// causes are checked to say which it was.
func (r *runner) startError(step Step, err error) *StepError {
	if dirErr := checkDir(r.spec.Dir); dirErr != nil {
		err = dirErr // removed by an earlier step, or by someone else
	} else if _, statErr := os.Stat(shell); len(step.Args) == 0 && errors.Is(statErr, fs.ErrNotExist) {
		err = fmt.Errorf("%s not found: %w", shell, err)
	}
	return &StepError{Step: step.Name, Command: step.Command, ExitCode: -1, Err: err}
}
