package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/sandbox/sandboxtest"
)

// sandboxSpec is a Spec whose steps run in a bwrap sandbox over a data dir
// of the test's, in the checkout builds/<name> of it.
func sandboxSpec(t *testing.T, steps ...Step) (Spec, string) {
	t.Helper()
	dataDir := t.TempDir()
	sb := sandboxtest.New(t, dataDir)
	dir := filepath.Join(dataDir, "builds", "cmine")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	home, err := sb.Home("cproject", "production")
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Dir: dir, Env: BaseEnv(), Steps: steps, Sandbox: sb, Home: home}, dataDir
}

// TestRunSandboxHidesLiftoffsSecrets: a build read Liftoff's secrets from
// its parent's environment (/proc/$PPID/environ: Liftoff itself). In the
// sandbox its parent is bwrap, whose environment is empty. The steps run
// in a helper process that plays Liftoff, with a secret in the environment
// it was started with (what /proc shows).
func TestRunSandboxHidesLiftoffsSecrets(t *testing.T) {
	t.Parallel()
	if os.Getenv("LIFTOFF_BUILD_SANDBOX_HELPER") != "" {
		t.Skip("helper process")
	}
	sandboxtest.Skip(t)
	const secret = "liftoff-build-test-secret-5f2a"
	helper := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperRunSandboxed$")
	helper.Env = append(os.Environ(), "LIFTOFF_BUILD_SANDBOX_HELPER=1", "LIFTOFF_GITHUB_WEBHOOK_SECRET="+secret)
	out, err := helper.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	got := string(out)
	if !strings.Contains(got, "/proc/1/environ:") || !strings.Contains(got, "PATH=") {
		t.Fatalf("the step did not run:\n%s", got)
	}
	if strings.Contains(got, secret) || strings.Contains(got, "LIFTOFF_GITHUB_WEBHOOK_SECRET") {
		t.Errorf("the step saw Liftoff's environment:\n%s", got)
	}
}

// TestHelperRunSandboxed is the Liftoff of TestRunSandboxHidesLiftoffsSecrets.
func TestHelperRunSandboxed(t *testing.T) {
	if os.Getenv("LIFTOFF_BUILD_SANDBOX_HELPER") == "" {
		t.Skip("run by TestRunSandboxHidesLiftoffsSecrets")
	}
	spec, _ := sandboxSpec(t, build(`for f in /proc/$PPID/environ /proc/1/environ; do echo "$f:"; tr '\0' '\n' < $f; done; env`))
	spec.Output = os.Stdout
	if err := Run(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
}

// TestRunSandboxHidesTheDataDir: a build read the database in the data
// dir; it must see neither that nor another project's build.
func TestRunSandboxHidesTheDataDir(t *testing.T) {
	t.Parallel()
	out := newLiveOutput()
	spec, dataDir := sandboxSpec(t)
	for path, content := range map[string]string{"liftoff.db": "the database", "builds/cother/secret.txt": "another project's build"} {
		p := filepath.Join(dataDir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec.Steps = []Step{build(fmt.Sprintf(`cat %[1]s/liftoff.db %[1]s/builds/cother/secret.txt; ls -a %[1]s %[1]s/builds; echo built > out.txt`, dataDir))}
	spec.Output = out
	if err := Run(t.Context(), spec); err != nil {
		t.Fatalf("Run = %v\n%s", err, out.String())
	}
	got := out.String()
	for _, leak := range []string{"the database", "another project's build", "\nliftoff.db\n", "\ncother\n"} {
		if strings.Contains(got, leak) {
			t.Errorf("the step saw %q:\n%s", leak, got)
		}
	}
	if b, err := os.ReadFile(filepath.Join(spec.Dir, "out.txt")); err != nil || string(b) != "built\n" {
		t.Errorf("the step's checkout on the host: %q, %v", b, err)
	}
}

// TestRunSandboxWritableCache: a build's cache (Spec.Writable) is
// writable at its path; another project's cache, in the same data dir, is
// not there, and what the step writes at its path stays in the sandbox.
func TestRunSandboxWritableCache(t *testing.T) {
	t.Parallel()
	out := newLiveOutput()
	spec, dataDir := sandboxSpec(t)
	mine := filepath.Join(dataDir, "buildcache", "cproject", "production", "web", "work")
	theirs := filepath.Join(dataDir, "buildcache", "cother", "production", "web", "work")
	for _, d := range []string{mine, theirs} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(theirs, "secret"), []byte("the other project's cache"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec.Writable = []string{mine}
	spec.Env = append(spec.Env, "GOCACHE="+mine)
	spec.Steps = []Step{build(fmt.Sprintf(`echo cached > "$GOCACHE/entry"; cat %[1]s/secret; ls %[2]s;
mkdir -p %[1]s && echo poisoned > %[1]s/secret; echo done`, theirs, filepath.Dir(filepath.Dir(mine))))}
	spec.Output = out
	if err := Run(t.Context(), spec); err != nil {
		t.Fatalf("Run = %v\n%s", err, out.String())
	}
	if b, err := os.ReadFile(filepath.Join(mine, "entry")); err != nil || string(b) != "cached\n" {
		t.Errorf("the cache on the host: %q, %v\n%s", b, err, out.String())
	}
	if strings.Contains(out.String(), "the other project's cache") {
		t.Errorf("the step read another project's cache:\n%s", out.String())
	}
	if b, err := os.ReadFile(filepath.Join(theirs, "secret")); err != nil || string(b) != "the other project's cache" {
		t.Errorf("the other project's cache on the host: %q, %v", b, err)
	}
}

// TestRunSandboxKillsDaemons: a daemon started with setsid left the step's
// process group and outlived the step, on success and on cancel. In the
// sandbox it dies with the step, before Run returns.
func TestRunSandboxKillsDaemons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		wait    string // the rest of the step, once the daemon runs
		end     func(cancel context.CancelFunc, dir string)
		wantErr *StepError
	}{
		{
			name: "success",
			wait: `while [ ! -e go ]; do sleep 0.02; done`,
			end: func(_ context.CancelFunc, dir string) {
				_ = os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
			},
		},
		{
			name:    "cancel",
			wait:    `sleep 60`,
			end:     func(cancel context.CancelFunc, _ string) { cancel() },
			wantErr: &StepError{Step: "buildCommand", ExitCode: 143, Canceled: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			out := newLiveOutput()
			spec, _ := sandboxSpec(t)
			// Unique among test processes, and only in the daemon's command
			// line: the step's holds "$d", not "daemon".
			spec.Steps = []Step{build(sandboxtest.Daemon + "\necho started; " + tt.wait)}
			spec.Output = out
			done := runAsync(ctx, spec, out)
			out.waitFor(t, "started\n")
			daemon := sandboxtest.ShellPid(t, sandboxtest.DaemonMarker(spec.Dir))
			tt.end(cancel, spec.Dir)
			err := waitRun(t, done)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Run = %v", err)
			}
			if tt.wantErr != nil {
				var se *StepError
				if !errors.As(err, &se) || !se.Canceled {
					t.Fatalf("Run = %v, want a cancelled step", err)
				}
			}
			if sandboxtest.Alive(daemon) {
				t.Errorf("the daemon %d outlived the step", daemon)
			}
		})
	}
}

// TestRunSandboxStepResults: exit statuses, output, time limits and
// cancellation are what they are unsandboxed.
func TestRunSandboxStepResults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		steps     []Step
		timeout   time.Duration
		cancelOn  string // cancel once the output holds it
		wantOut   string // the output holds it
		wantErr   *StepError
		wantMsg   string
		killGrace time.Duration
	}{
		{
			name:    "steps run in order, output as written",
			steps:   []Step{{Name: "installCommand", Command: "echo one; echo err >&2"}, build("echo two")},
			wantOut: "==> installCommand: echo one; echo err >&2\none\nerr\n==> buildCommand: echo two\ntwo\n",
		},
		{
			name:    "exit status",
			steps:   []Step{build("echo failing; exit 3"), {Name: "postBuildCommand", Command: "echo never"}},
			wantOut: "failing\n",
			wantErr: &StepError{Step: "buildCommand", ExitCode: 3},
			wantMsg: `buildCommand "echo failing; exit 3" exited with status 3`,
		},
		{
			name:    "command not found",
			steps:   []Step{build("liftoff-no-such-command 2>/dev/null")},
			wantErr: &StepError{Step: "buildCommand", ExitCode: 127},
			wantMsg: `buildCommand "liftoff-no-such-command 2>/dev/null" exited with status 127 (a command was not found: check PATH and the install step)`,
		},
		{
			name:    "time limit",
			steps:   []Step{build("echo waiting; sleep 60")},
			timeout: 500 * time.Millisecond,
			wantOut: "waiting\n",
			wantErr: &StepError{Step: "buildCommand", ExitCode: 143, TimedOut: true},
			wantMsg: `buildCommand "echo waiting; sleep 60" timed out after 500ms`,
		},
		{
			name:      "cancel: SIGTERM first",
			steps:     []Step{build("trap 'echo cleaning up; exit 0' TERM; echo ready; while :; do sleep 0.05; done")},
			cancelOn:  "ready\n",
			killGrace: time.Minute,
			wantOut:   "cleaning up\n", // the shell may first say its sleep was "Terminated"
			wantErr:   &StepError{Step: "buildCommand", ExitCode: 0, Canceled: true},
		},
		{
			name:      "cancel: SIGKILL after the grace",
			steps:     []Step{build("trap '' TERM; echo ready; sleep 60")},
			cancelOn:  "ready\n",
			killGrace: 100 * time.Millisecond,
			wantErr:   &StepError{Step: "buildCommand", ExitCode: -1, Canceled: true},
			wantMsg:   `buildCommand "trap '' TERM; echo ready; sleep 60" was cancelled`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			out := newLiveOutput()
			spec, _ := sandboxSpec(t, tt.steps...)
			spec.Output, spec.Timeout, spec.KillGrace = out, tt.timeout, tt.killGrace
			done := runAsync(ctx, spec, out)
			if tt.cancelOn != "" {
				out.waitFor(t, tt.cancelOn)
				cancel()
			}
			err := waitRun(t, done)
			checkStepError(t, err, tt.wantErr)
			if tt.wantMsg != "" && (err == nil || err.Error() != tt.wantMsg) {
				t.Errorf("Error() = %v, want %q", err, tt.wantMsg)
			}
			if got := out.String(); !strings.Contains(got, tt.wantOut) || strings.Contains(got, "never") {
				t.Errorf("output = %q, want it to hold %q", got, tt.wantOut)
			}
		})
	}
}

// TestRunSandboxFailure: when bwrap cannot start a step, the step could
// not be started; it did not fail with bwrap's exit status.
func TestRunSandboxFailure(t *testing.T) {
	t.Parallel()
	spec, dataDir := sandboxSpec(t, build("echo ran"))
	spec.Root = filepath.Join(dataDir, "builds", "removed") // bwrap cannot show it
	out := newLiveOutput()
	spec.Output = out
	err := Run(t.Context(), spec)
	checkStepError(t, err, &StepError{Step: "buildCommand", ExitCode: -1})
	var sbErr *sandbox.Error
	if !errors.As(err, &sbErr) {
		t.Fatalf("Run = %v, want a *sandbox.Error inside", err)
	}
	want := `buildCommand "echo ran" could not be started: the sandbox (bubblewrap) failed before the command started: bwrap: `
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), spec.Root) {
		t.Errorf("Error() = %q, want %q and bwrap's words about %s", err, want, spec.Root)
	}
	if want := "==> buildCommand: echo ran\n"; out.String() != want {
		t.Errorf("output = %q, want only the header %q", out.String(), want)
	}
}
