package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSandboxEnvironment: a build read Liftoff's secrets in its parent's
// environment (/proc/$PPID/environ: Liftoff itself). In the sandbox its
// parent is bwrap, the sandbox's pid 1, whose environment is empty; the
// command's is exactly what it is given.
func TestSandboxEnvironment(t *testing.T) {
	t.Parallel()
	s := newBwrap(t, Config{})
	dir := t.TempDir()
	home, err := s.Home("cenvtest", "production")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/usr/bin:/bin", "HOME=/root", "TMPDIR=/var/tmp", "SERVICE_VAR=from the config", "LIFTOFF_DEPLOYMENT_ID=cdep"}
	out, state, err := run(t, s, Command{Dir: dir, Home: home, Env: env, Args: sh(
		`echo "ppid: $(tr '\0' ' ' < /proc/$PPID/environ)"; echo "pid1: $(tr '\0' ' ' < /proc/1/environ)"; env`)})
	if err != nil || !state.Success() {
		t.Fatalf("Wait = %v, %v; output:\n%s", state, err, out)
	}
	for _, want := range []string{"ppid: \n", "pid1: \n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q (bwrap's environment is empty):\n%s", want, out)
		}
	}
	var got []string
	for line := range strings.Lines(out) {
		if k, _, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") && !strings.Contains(k, ":") {
			got = append(got, strings.TrimSuffix(line, "\n"))
		}
	}
	want := []string{"PATH=/usr/bin:/bin", "SERVICE_VAR=from the config", "LIFTOFF_DEPLOYMENT_ID=cdep", "HOME=" + home, "PWD=" + dir}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the command's environment is %q, want %q", got, want)
	}
}

// TestSandboxFilesystem checks what a command sees of the host: the
// system, its own tree and home read-write, nothing of the data dir, of
// other projects, of /root, /home, /run, /var.
func TestSandboxFilesystem(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	// Only system directories in PATH: Liftoff's own PATH may name
	// directories in /root, which would then be shown.
	s := newBwrap(t, Config{DataDir: dataDir, Path: "/usr/local/bin:/usr/bin:/bin"})
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dataDir, "liftoff.db")
	write(db, "the database")
	other := filepath.Join(dataDir, "builds", "cother", "secret.txt")
	write(other, "another project's build")
	checkout := filepath.Join(dataDir, "builds", "cmine")
	write(filepath.Join(checkout, "api", "main.go"), "package main")
	write(filepath.Join(checkout, "shared", "lib.go"), "package shared")
	hostTmp, err := os.CreateTemp("", "liftoff-host-tmp-")
	if err != nil {
		t.Fatal(err)
	}
	hostTmp.Close()
	defer os.Remove(hostTmp.Name())
	home, err := s.Home("cproject1", "production")
	if err != nil {
		t.Fatal(err)
	}
	otherHome, err := s.Home("cproject2", "production")
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(otherHome, ".cache", "other"), "another project's cache")

	script := strings.Join([]string{
		`try() { if eval "$2" >/dev/null 2>&1; then echo "$1: yes"; else echo "$1: no"; fi; }`,
		`try "read the database" "cat ` + db + `"`,
		`try "list the data dir" "ls ` + dataDir + ` | grep -q liftoff.db"`,
		`try "read another build" "cat ` + other + `"`,
		`try "read another home" "cat ` + filepath.Join(otherHome, ".cache", "other") + `"`,
		`try "read /etc/shadow" "cat /etc/shadow"`,
		`try "see /root" "test -e /root"`,
		`try "see /home" "test -e /home"`,
		`try "see /run" "test -e /run"`,
		`try "see /var" "test -e /var"`,
		`try "see the host's /tmp" "test -e ` + hostTmp.Name() + `"`,
		`try "write /usr" "touch /usr/liftoff-test"`,
		`try "read /etc/passwd" "grep -q root /etc/passwd"`,
		`try "run git" "git --version"`,
		`try "read the checkout's root" "cat ../shared/lib.go"`,
		`try "write the checkout" "echo built > ../shared/out.txt"`,
		`try "write home" "mkdir -p $HOME/.cache && echo cached > $HOME/.cache/mine"`,
		`try "write /tmp" "echo x > /tmp/x"`,
		`echo "pwd: $(pwd)"`,
	}, "\n")
	out, state, err := run(t, s, Command{Dir: filepath.Join(checkout, "api"), Root: checkout, Home: home,
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}, Args: sh(script)})
	if err != nil || !state.Success() {
		t.Fatalf("Wait = %v, %v; output:\n%s", state, err, out)
	}
	for _, want := range []string{
		"read the database: no", "list the data dir: no", "read another build: no", "read another home: no",
		"read /etc/shadow: no", "see /root: no", "see /home: no", "see /run: no", "see /var: no", "see the host's /tmp: no",
		"write /usr: no",
		"read /etc/passwd: yes", "run git: yes", "read the checkout's root: yes", "write the checkout: yes",
		"write home: yes", "write /tmp: yes",
		"pwd: " + filepath.Join(checkout, "api"),
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(checkout, "shared", "out.txt")); err != nil || string(b) != "built\n" {
		t.Errorf("the checkout on the host: %q, %v", b, err)
	}

	// The home is the project's, from one command to the next.
	out, _, err = run(t, s, Command{Dir: checkout, Home: home, Env: []string{"PATH=/usr/bin:/bin"}, Args: sh("cat $HOME/.cache/mine")})
	if err != nil || out != "cached\n" {
		t.Errorf("the next command of the project found %q in its home (%v), want cached", out, err)
	}
}

func TestSandboxExitStatus(t *testing.T) {
	t.Parallel()
	s := newBwrap(t, Config{})
	tests := []struct {
		name, cmd string
		wantOut   string
		wantCode  int
	}{
		{name: "success", cmd: "echo out; echo err >&2; echo out2", wantOut: "out\nerr\nout2\n", wantCode: 0},
		{name: "exit status", cmd: "echo failing; exit 3", wantOut: "failing\n", wantCode: 3},
		{name: "not found", cmd: "exec liftoff-no-such-command 2>/dev/null", wantCode: 127},
		// A shell reports a child killed by signal N as 128+N, and so does
		// bwrap for the command's first process.
		{name: "killed by a signal", cmd: "kill -KILL $$", wantCode: 137},
		{name: "stdin is empty", cmd: "cat; echo end", wantOut: "end\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, state, err := run(t, s, Command{Dir: t.TempDir(), Env: []string{"PATH=/usr/bin:/bin"}, Args: sh(tt.cmd)})
			if out != tt.wantOut || state.ExitCode() != tt.wantCode {
				t.Errorf("output %q, status %d; want %q, %d", out, state.ExitCode(), tt.wantOut, tt.wantCode)
			}
			var exitErr *exec.ExitError
			if (tt.wantCode == 0) != (err == nil) || (err != nil && !errors.As(err, &exitErr)) {
				t.Errorf("Wait error = %v (%T), want an *exec.ExitError for a non-zero status", err, err)
			}
		})
	}
}

// TestSandboxSetupFailure: a failure of bwrap is an *Error with bwrap's
// words, never the command's exit status.
func TestSandboxSetupFailure(t *testing.T) {
	t.Parallel()
	s := newBwrap(t, Config{})
	missing := filepath.Join(t.TempDir(), "removed")
	out, state, err := run(t, s, Command{Dir: missing, Env: []string{"PATH=/usr/bin:/bin"}, Args: sh("echo ran")})
	var sbErr *Error
	if !errors.As(err, &sbErr) {
		t.Fatalf("Wait = %v, %v (%T), want a *sandbox.Error; output %q", state, err, err, out)
	}
	if !strings.Contains(err.Error(), "the sandbox (bubblewrap) failed before the command started: bwrap: ") || !strings.Contains(err.Error(), missing) {
		t.Errorf("Error() = %q, want bwrap's message naming %s", err, missing)
	}
	if out != "" {
		t.Errorf("output %q: bwrap's message belongs to the error", out)
	}
}

// TestSandboxLoaderVariables: variables that change how a program is
// loaded (LD_PRELOAD ...) reach the command, never bwrap, which runs on
// the host as Liftoff's user: bwrap's environment is empty.
func TestSandboxLoaderVariables(t *testing.T) {
	t.Parallel()
	s := newBwrap(t, Config{})
	dir := t.TempDir()
	out := newOutput(t)
	p, err := s.Start(Command{Dir: dir, Output: out.w, Args: sh("echo started; while [ ! -e go ]; do sleep 0.02; done"),
		Env: []string{"PATH=/usr/bin:/bin", "LD_PRELOAD=/nonexistent/liftoff-preload.so"}})
	if err != nil {
		t.Fatal(err)
	}
	out.started()
	out.waitFor(t, "started\n")
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/environ")
	if err != nil || len(environ) != 0 {
		t.Errorf("bwrap's environment on the host is %q (%v), want it empty", environ, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	state, err := p.Wait()
	if err != nil || !state.Success() {
		t.Fatalf("Wait = %v, %v", state, err)
	}
	if got := out.all(t); !strings.Contains(got, "liftoff-preload.so") {
		t.Errorf("output %q: the command did not get LD_PRELOAD", got)
	}
}

func TestSandboxRefusesNULInEnvironment(t *testing.T) {
	t.Parallel()
	s := newBwrap(t, Config{})
	out := newOutput(t)
	_, err := s.Start(Command{Dir: t.TempDir(), Output: out.w, Args: sh("true"),
		Env: []string{"X=a\x00--bind\x00/\x00/"}})
	if err == nil || !strings.Contains(err.Error(), `environment variable "X" holds a NUL byte`) {
		t.Fatalf("Start = %v, want a refusal", err)
	}
}

// daemonScript starts a daemon that leaves the command's process group
// and session, as `setsid` does, and tells the test. The daemon's command
// line holds "liftoff-daemon:<dir>"; the command's does not.
func daemonScript(dir string) string {
	return `d=daemon; setsid sh -c "sleep 300; : liftoff-$d:` + dir + `" >/dev/null 2>&1 < /dev/null &
echo started
`
}

// TestSandboxKillsDaemons: whatever a command leaves behind, setsid
// daemons included, is gone when Wait returns: after a success, after a
// SIGTERM the command handles, and after SIGKILL. Unsandboxed, the daemon
// outlives all three.
func TestSandboxKillsDaemons(t *testing.T) {
	t.Parallel()
	s := newBwrap(t, Config{})
	tests := []struct {
		name     string
		script   string
		end      func(t *testing.T, p *Process, dir string)
		wantCode int
		wantOut  string
	}{
		{
			name:   "success",
			script: `wait_here() { while [ ! -e go ]; do sleep 0.02; done; exit 0; }`,
			end: func(t *testing.T, p *Process, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:   "terminated",
			script: `trap 'echo cleaning up; exit 0' TERM; wait_here() { while :; do sleep 0.02; done; }`,
			end: func(t *testing.T, p *Process, dir string) {
				p.Terminate()
			},
			wantOut: "cleaning up\n",
		},
		{
			name:   "killed",
			script: `trap '' TERM; wait_here() { while :; do sleep 0.02; done; }`,
			end: func(t *testing.T, p *Process, dir string) {
				p.Kill()
			},
			wantCode: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			marker := "liftoff-daemon:" + dir // unique, also among test processes
			out := newOutput(t)
			p, err := s.Start(Command{Dir: dir, Env: []string{"PATH=/usr/bin:/bin"}, Output: out.w, Args: sh(tt.script + "\n" + daemonScript(dir) + "wait_here")})
			if err != nil {
				t.Fatal(err)
			}
			out.started()
			out.waitFor(t, "started\n")
			daemon := hostPid(t, marker)
			if p.Gone() {
				t.Error("Gone while the command runs")
			}
			tt.end(t, p, dir)
			state, _ := p.Wait()
			if alive(daemon) {
				t.Errorf("the daemon %d outlived its sandbox", daemon)
			}
			// Killed: bwrap is killed itself (-1), or the command is killed
			// first and bwrap reports it as 128+SIGKILL: either way, killed.
			if code := state.ExitCode(); code != tt.wantCode && (tt.wantCode != -1 || code != 128+int(syscall.SIGKILL)) {
				t.Errorf("exit status %d (%v), want %d", state.ExitCode(), state, tt.wantCode)
			}
			if got := strings.TrimPrefix(out.all(t), "started\n"); !strings.Contains(got, tt.wantOut) {
				t.Errorf("output after started: %q, want %q", got, tt.wantOut)
			}
			if !p.Gone() {
				t.Error("not Gone after Wait")
			}
		})
	}
}

// TestSandboxDiesWithLiftoff kills the process that started a sandbox with
// SIGKILL: the sandbox and its daemon die with it.
func TestSandboxDiesWithLiftoff(t *testing.T) {
	t.Parallel()
	if os.Getenv("LIFTOFF_SANDBOX_HELPER") != "" {
		t.Skip("helper process")
	}
	needBwrap(t)
	dir := t.TempDir()
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperStartSandbox$")
	helper.Env = append(os.Environ(), "LIFTOFF_SANDBOX_HELPER="+dir)
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("started\n"))
	if _, err := stdout.Read(buf); err != nil || string(buf) != "started\n" {
		_ = helper.Process.Kill()
		t.Fatalf("the helper said %q, %v", buf, err)
	}
	daemon := hostPid(t, "liftoff-daemon:"+dir)
	_ = helper.Process.Signal(syscall.SIGKILL)
	_ = helper.Wait()
	waitGone(t, daemon)
}

// TestHelperStartSandbox is the process TestSandboxDiesWithLiftoff kills.
func TestHelperStartSandbox(t *testing.T) {
	dir := os.Getenv("LIFTOFF_SANDBOX_HELPER")
	if dir == "" {
		t.Skip("run by TestSandboxDiesWithLiftoff")
	}
	s := newBwrap(t, Config{})
	p, err := s.Start(Command{Dir: dir, Env: []string{"PATH=/usr/bin:/bin"}, Output: os.Stdout, Args: sh(daemonScript(dir) + "sleep 300")})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = p.Wait()
}
