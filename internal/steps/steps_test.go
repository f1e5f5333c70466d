package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func testSpec(t *testing.T, steps ...Step) Spec {
	t.Helper()
	return Spec{Dir: t.TempDir(), Env: BaseEnv(), Steps: steps}
}

func build(cmd string) Step { return Step{Name: "buildCommand", Command: cmd} }

// checkStepError compares the fields of err that a test cares about.
func checkStepError(t *testing.T, err error, want *StepError) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		return
	}
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("Run = %v (%T), want a *StepError", err, err)
	}
	if se.Step != want.Step || se.ExitCode != want.ExitCode || se.TimedOut != want.TimedOut || se.Canceled != want.Canceled {
		t.Errorf("StepError = {Step:%q ExitCode:%d TimedOut:%v Canceled:%v}, want {Step:%q ExitCode:%d TimedOut:%v Canceled:%v}",
			se.Step, se.ExitCode, se.TimedOut, se.Canceled, want.Step, want.ExitCode, want.TimedOut, want.Canceled)
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		steps   []Step
		wantOut string
		wantErr *StepError
		wantMsg string // the whole Error() text, if set
	}{
		{
			name: "steps run in order",
			steps: []Step{
				{Name: "installCommand", Command: "echo one"},
				{Name: "buildCommand", Command: "echo two"},
				{Name: "postBuildCommand", Command: "echo three"},
			},
			wantOut: "==> installCommand: echo one\none\n" +
				"==> buildCommand: echo two\ntwo\n" +
				"==> postBuildCommand: echo three\nthree\n",
		},
		{
			name: "first failure stops the run",
			steps: []Step{
				{Name: "installCommand", Command: "echo one"},
				{Name: "buildCommand", Command: "echo two; exit 3"},
				{Name: "postBuildCommand", Command: "echo three"},
			},
			wantOut: "==> installCommand: echo one\none\n" +
				"==> buildCommand: echo two; exit 3\ntwo\n",
			wantErr: &StepError{Step: "buildCommand", ExitCode: 3},
			wantMsg: `buildCommand "echo two; exit 3" exited with status 3`,
		},
		{
			name: "empty commands are skipped",
			steps: []Step{
				{Name: "installCommand", Command: ""},
				{Name: "buildCommand", Command: " \n\t"},
				{Name: "postBuildCommand", Command: "echo three"},
			},
			wantOut: "==> postBuildCommand: echo three\nthree\n",
		},
		{
			name:    "no steps",
			wantOut: "",
		},
		{
			name:    "stdout and stderr interleave as written",
			steps:   []Step{build("echo out1; echo err1 >&2; echo out2; echo err2 >&2")},
			wantOut: "==> buildCommand: echo out1; echo err1 >&2; echo out2; echo err2 >&2\nout1\nerr1\nout2\nerr2\n",
		},
		{
			name:    "stdin is /dev/null",
			steps:   []Step{build("cat; readlink /proc/self/fd/0")},
			wantOut: "==> buildCommand: cat; readlink /proc/self/fd/0\n/dev/null\n",
		},
		{
			name:    "multi-line command has a one-line header",
			steps:   []Step{build("echo a\necho b")},
			wantOut: "==> buildCommand: \"echo a\\necho b\"\na\nb\n",
		},
		{
			name:    "command not found",
			steps:   []Step{build("exec liftoff-no-such-command 2>/dev/null")},
			wantOut: "==> buildCommand: exec liftoff-no-such-command 2>/dev/null\n",
			wantErr: &StepError{Step: "buildCommand", ExitCode: 127},
			wantMsg: `buildCommand "exec liftoff-no-such-command 2>/dev/null" exited with status 127 (a command was not found: check PATH and the install step)`,
		},
		{
			name:    "killed by a signal",
			steps:   []Step{build("kill -KILL $$")},
			wantOut: "==> buildCommand: kill -KILL $$\n",
			wantErr: &StepError{Step: "buildCommand", ExitCode: -1},
			wantMsg: `buildCommand "kill -KILL $$" was stopped by signal: killed`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := newLiveOutput()
			spec := testSpec(t, tt.steps...)
			spec.Output = out
			err := Run(t.Context(), spec)
			checkStepError(t, err, tt.wantErr)
			if tt.wantMsg != "" && err != nil && err.Error() != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.wantMsg)
			}
			if got := out.String(); got != tt.wantOut {
				t.Errorf("output = %q, want %q", got, tt.wantOut)
			}
		})
	}
}

func TestRunEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want []string // besides PWD=<Dir>, which every step gets
	}{
		{
			name: "exactly the given variables",
			env:  []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "FOO=bar baz", "EMPTY="},
			want: []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "FOO=bar baz", "EMPTY="},
		},
		{
			name: "nil is empty, not inherited",
			env:  nil,
			want: nil,
		},
		{
			name: "PWD follows Dir",
			env:  []string{"PWD=/somewhere/else", "A=1"},
			want: []string{"A=1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := newLiveOutput()
			spec := Spec{Dir: t.TempDir(), Env: tt.env, Output: out,
				Steps: []Step{build("exec /usr/bin/env")}}
			if err := Run(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")[1:] // after the header
			want := append(slices.Clone(tt.want), "PWD="+spec.Dir)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("environment = %q, want %q", got, want)
			}
		})
	}
}

func TestRunDir(t *testing.T) {
	t.Parallel()
	out := newLiveOutput()
	spec := testSpec(t, build("pwd -P"))
	spec.Output = out
	if err := Run(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(spec.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := "==> buildCommand: pwd -P\n" + dir + "\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

func TestRunBadDir(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		dir      string
		wantMsg  string
		notExist bool
	}{
		{name: "missing", dir: "/nonexistent/liftoff/checkout", wantMsg: `working directory "/nonexistent/liftoff/checkout" does not exist`, notExist: true},
		{name: "a file", dir: file, wantMsg: fmt.Sprintf("working directory %q is not a directory", file)},
		{name: "empty", dir: "", wantMsg: "steps.Run: Spec.Dir is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := newLiveOutput()
			err := Run(t.Context(), Spec{Dir: tt.dir, Env: BaseEnv(), Output: out, Steps: []Step{build("echo ran")}})
			if err == nil || err.Error() != tt.wantMsg {
				t.Fatalf("Run = %v, want %q", err, tt.wantMsg)
			}
			if errors.Is(err, fs.ErrNotExist) != tt.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", !tt.notExist, tt.notExist)
			}
			var se *StepError
			if errors.As(err, &se) {
				t.Errorf("got a *StepError for a spec problem: %v", se)
			}
			if out.String() != "" {
				t.Errorf("a step ran: %q", out.String())
			}
		})
	}
}

func TestRunDirRemoved(t *testing.T) {
	t.Parallel()
	spec := testSpec(t, build("rmdir \"$PWD\""), Step{Name: "postBuildCommand", Command: "echo never"})
	err := Run(t.Context(), spec)
	checkStepError(t, err, &StepError{Step: "postBuildCommand", ExitCode: -1})
	want := fmt.Sprintf(`postBuildCommand "echo never" could not be started: working directory %q does not exist`, spec.Dir)
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}

func TestRunTimeout(t *testing.T) {
	t.Parallel()
	out := newLiveOutput()
	spec := testSpec(t, build("echo $$; sleep 60"), Step{Name: "postBuildCommand", Command: "echo never"})
	spec.Output = out
	spec.Timeout = 500 * time.Millisecond
	err := waitRun(t, runAsync(t.Context(), spec, out))

	checkStepError(t, err, &StepError{Step: "buildCommand", ExitCode: -1, TimedOut: true})
	if want := `buildCommand "echo $$; sleep 60" timed out after 500ms`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false", err)
	}
	if strings.Contains(out.String(), "never") {
		t.Errorf("the step after the timeout ran: %q", out.String())
	}
	assertGroupGone(t, out.pidLine(t))
}

func TestRunCancelKillsGroup(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := newLiveOutput()
	spec := testSpec(t, build("echo $$; sh -c 'sleep 60 & sleep 60'"))
	spec.Output = out
	done := runAsync(ctx, spec, out)

	pgid := out.pidLine(t)
	waitGroupMembers(t, pgid, "sleep", 2)
	cancel()
	err := waitRun(t, done)

	checkStepError(t, err, &StepError{Step: "buildCommand", ExitCode: -1, Canceled: true})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, context.Canceled) = false", err)
	}
	if want := `buildCommand "echo $$; sh -c 'sleep 60 & sleep 60'" was cancelled`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	assertGroupGone(t, pgid)
}

func TestRunCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	out := newLiveOutput()
	spec := testSpec(t, Step{Name: "installCommand"}, build("echo ran"))
	spec.Output = out
	err := Run(ctx, spec)
	checkStepError(t, err, &StepError{Step: "buildCommand", ExitCode: -1, Canceled: true})
	if out.String() != "" {
		t.Errorf("a step ran: %q", out.String())
	}
}

func TestRunKillGrace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		command   string
		killGrace time.Duration
		wantOut   string // in the output after "ready"
	}{
		{
			// The step handles SIGTERM and gets to clean up: Run does not
			// wait out the (long) grace once the group is gone.
			name:      "SIGTERM first",
			command:   "trap 'echo cleaning up; exit 0' TERM; echo $$; echo ready; while :; do sleep 0.1; done",
			killGrace: time.Minute,
			wantOut:   "cleaning up\n",
		},
		{
			// SIGTERM is ignored by the shell and, inherited, by sleep.
			name:      "SIGKILL after the grace",
			command:   "trap '' TERM; echo $$; echo ready; sleep 60",
			killGrace: 100 * time.Millisecond,
			wantOut:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			out := newLiveOutput()
			spec := testSpec(t, build(tt.command))
			spec.Output = out
			spec.KillGrace = tt.killGrace
			done := runAsync(ctx, spec, out)
			out.waitFor(t, "ready\n")
			cancel()
			err := waitRun(t, done)

			// However the step ended, it was cancelled.
			var se *StepError
			if !errors.As(err, &se) || !se.Canceled {
				t.Fatalf("Run = %v, want a cancelled *StepError", err)
			}
			// The shell may also report "Terminated" for its sleep.
			if _, after, _ := strings.Cut(out.String(), "ready\n"); !strings.Contains(after, tt.wantOut) {
				t.Errorf("output after ready = %q, want it to contain %q", after, tt.wantOut)
			}
			assertGroupGone(t, out.pidLine(t))
		})
	}
}

func TestRunBackgroundProcesses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		command string
	}{
		{name: "late writer", command: "echo $$; (sleep 2; echo late) & echo done"},
		{name: "endless writer", command: "echo $$; (while :; do echo tick; sleep 0.05; done) & sleep 0.2; echo done"},
		{name: "silent", command: "echo $$; sleep 60 & echo done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := newLiveOutput()
			spec := testSpec(t, build(tt.command), Step{Name: "postBuildCommand", Command: "echo next"})
			spec.Output = out
			if err := waitRun(t, runAsync(t.Context(), spec, out)); err != nil {
				t.Fatal(err)
			}
			// The step's output may end with what the background process
			// wrote before it was killed, but nothing of it follows.
			got := out.String()
			if !strings.Contains(got, "\ndone\n") || !strings.HasSuffix(got, "\n==> postBuildCommand: echo next\nnext\n") {
				t.Errorf("output = %q, want the step's output then the next step's", got)
			}
			if strings.Contains(got, "\nlate\n") {
				t.Errorf("output = %q: the background process outlived the step", got)
			}
			assertGroupGone(t, out.pidLine(t))
			if late := out.lateWrites(); late != "" {
				t.Errorf("output written after Run returned: %q", late)
			}
		})
	}
}

// failingWriter accepts ok bytes, then fails every write; it counts the
// writes it refused.
type failingWriter struct {
	ok      int
	short   bool // fail with a short write instead of an error
	written int
	refused int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.written+len(p) <= w.ok {
		w.written += len(p)
		return len(p), nil
	}
	w.refused++
	if w.short {
		return 0, nil
	}
	return 0, errors.New("disk full")
}

func TestRunOutputFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		w    *failingWriter
	}{
		{name: "fails at once", w: &failingWriter{}},
		{name: "fails after the header", w: &failingWriter{ok: 100}},
		{name: "short write", w: &failingWriter{ok: 100, short: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A megabyte would block the step on a full pipe if the
			// output stopped being read.
			spec := testSpec(t, build("head -c 1000000 /dev/zero"), Step{Name: "postBuildCommand", Command: "touch marker"})
			spec.Output = tt.w
			if err := Run(t.Context(), spec); err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			if _, err := os.Stat(filepath.Join(spec.Dir, "marker")); err != nil {
				t.Errorf("the step after the failing output did not run: %v", err)
			}
			if tt.w.refused != 1 {
				t.Errorf("Output was called %d times after failing, want 0", tt.w.refused-1)
			}
		})
	}
}

// slowWriter takes its time over every write.
type slowWriter struct {
	delay time.Duration
	data  []byte
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.delay)
	w.data = append(w.data, p...)
	return len(p), nil
}

func TestRunSlowOutputGetsEverything(t *testing.T) {
	t.Parallel()
	spec := testSpec(t, build("seq 1 100000"))
	w := &slowWriter{delay: 5 * time.Millisecond}
	spec.Output = w
	if err := Run(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	want, err := exec.Command("seq", "1", "100000").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(w.data); got != "==> buildCommand: seq 1 100000\n"+string(want) {
		t.Errorf("output has %d bytes, want %d", len(got), len("==> buildCommand: seq 1 100000\n")+len(want))
	}
}

// TestCopyOutputFinishes covers output held open by a process outside the
// step's group: once told to finish, the copy takes what is in the pipe and
// stops although the pipe never reports EOF.
func TestCopyOutputFinishes(t *testing.T) {
	t.Parallel()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close() // held open by "the escaped process" until the end
	if _, err := io.WriteString(pw, "written before the end\n"); err != nil {
		t.Fatal(err)
	}
	if err := pr.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyOutput(&got, pr)
	}()
	select {
	case <-done:
	case <-time.After(testWait):
		t.Fatal("copyOutput did not finish")
	}
	if got.String() != "written before the end\n" {
		t.Errorf("copied %q", got.String())
	}
}

func TestStepErrorMessages(t *testing.T) {
	t.Parallel()
	long := "npm ci && npm run build -- --mode=production && " + strings.Repeat("x", 100)
	tests := []struct {
		name string
		err  *StepError
		want string
	}{
		{
			name: "exit status",
			err:  &StepError{Step: "buildCommand", Command: "npm run build", ExitCode: 1},
			want: `buildCommand "npm run build" exited with status 1`,
		},
		{
			name: "timed out",
			err:  &StepError{Step: "buildCommand", Command: "npm run build", ExitCode: -1, TimedOut: true, Timeout: 30 * time.Minute, Err: context.DeadlineExceeded},
			want: `buildCommand "npm run build" timed out after 30m0s`,
		},
		{
			name: "cancelled",
			err:  &StepError{Step: "deployCommand", Command: "helm upgrade app ./chart", ExitCode: -1, Canceled: true, Err: context.Canceled},
			want: `deployCommand "helm upgrade app ./chart" was cancelled`,
		},
		{
			name: "not started",
			err:  &StepError{Step: "installCommand", Command: "npm ci", ExitCode: -1, Err: errors.New("/bin/sh not found")},
			want: `installCommand "npm ci" could not be started: /bin/sh not found`,
		},
		{
			name: "not executable",
			err:  &StepError{Step: "buildCommand", Command: "./build.sh", ExitCode: 126},
			want: `buildCommand "./build.sh" exited with status 126 (a command could not be executed: check its permissions)`,
		},
		{
			name: "long command is cut",
			err:  &StepError{Step: "buildCommand", Command: long, ExitCode: 2},
			want: fmt.Sprintf("buildCommand %q exited with status 2", long[:77]+"..."),
		},
		{
			name: "multi-byte characters are cut whole",
			err:  &StepError{Step: "buildCommand", Command: strings.Repeat("é", 81), ExitCode: 2},
			want: fmt.Sprintf("buildCommand %q exited with status 2", strings.Repeat("é", 77)+"..."),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBaseEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ map[string]string
		want    []string
	}{
		{
			name:    "keeps what builds need, drops the rest",
			environ: map[string]string{"PATH": "/opt/bin:/usr/bin", "HOME": "/home/liftoff", "LANG": "C.UTF-8", "HTTPS_PROXY": "http://proxy:3128", "LIFTOFF_DATABASE_URL": "postgres://secret", "AWS_SECRET_ACCESS_KEY": "secret"},
			want:    []string{"PATH=/opt/bin:/usr/bin", "HOME=/home/liftoff", "LANG=C.UTF-8", "HTTPS_PROXY=http://proxy:3128"},
		},
		{
			name:    "a standard PATH when there is none",
			environ: map[string]string{"HOME": "/root"},
			want:    []string{"PATH=" + defaultPath, "HOME=/root"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := baseEnv(func(name string) (string, bool) {
				v, ok := tt.environ[name]
				return v, ok
			})
			if !slices.Equal(got, tt.want) {
				t.Errorf("baseEnv = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPdeathsig kills a process running Run with SIGKILL and checks that
// the step's shell dies with it.
func TestPdeathsig(t *testing.T) {
	t.Parallel()
	if os.Getenv("LIFTOFF_BUILD_HELPER") != "" {
		t.Skip("helper process")
	}
	helper := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperRunStep$")
	helper.Env = append(os.Environ(), "LIFTOFF_BUILD_HELPER=1")
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	out := newLiveOutput()
	go func() { _, _ = io.Copy(out, stdout) }()
	pid := out.pidLine(t) // the step: "exec sleep 60" made the shell a sleep

	_ = helper.Process.Signal(syscall.SIGKILL)
	_ = helper.Wait()

	deadline := time.Now().Add(testWait)
	for {
		p, ok := readProc(pid)
		if !ok || !p.alive() || p.comm != "sleep" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("step %d outlived the process that ran it: %+v", pid, p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHelperRunStep is the process TestPdeathsig kills.
func TestHelperRunStep(t *testing.T) {
	if os.Getenv("LIFTOFF_BUILD_HELPER") == "" {
		t.Skip("run by TestPdeathsig")
	}
	spec := Spec{Dir: t.TempDir(), Env: BaseEnv(), Output: os.Stdout, Steps: []Step{build("echo $$; exec sleep 60")}}
	_ = Run(t.Context(), spec)
}
