// Package e2e runs the real liftoff binary against real git repositories and
// real databases, over real HTTP.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/kubetest"
	"github.com/liftoffhq/liftoff/internal/store/pgnote"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// binary is the liftoff binary built once for the package; webserver is the
// test web service the engine tests deploy.
var binary, webserver string

// kubeCluster is the control plane of the kubernetes target's tests,
// started by the first that asks.
var kubeCluster kubetest.Shared

// sandboxFlags run every server's builds and releases in bubblewrap, with
// the directory of webserver shown to them, where bwrap is installed (CI
// always has it); elsewhere without a sandbox, so the suite still runs.
var sandboxFlags []string

// haveBwrap reports whether bubblewrap is installed.
func haveBwrap() bool {
	_, err := exec.LookPath("bwrap")
	return err == nil
}

func TestMain(m *testing.M) {
	pgnote.NoteSkipped()
	dir, err := os.MkdirTemp("", "liftoff-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "liftoff")
	webserver = filepath.Join(dir, "webserver")
	for out, pkg := range map[string]string{binary: "../cmd/liftoff", webserver: "./testdata/webserver"} {
		build := exec.Command("go", "build", "-o", out, pkg)
		// Static, as released: a static site's image on a cluster runs
		// the very binary.
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg+":", err)
			os.Exit(1)
		}
	}
	sandboxFlags = []string{"--sandbox", "none"}
	if haveBwrap() {
		sandboxFlags = []string{"--sandbox", "bwrap", "--sandbox-bind", dir}
	} else {
		fmt.Fprintln(os.Stderr, "e2e: bubblewrap is not installed, so builds and releases run unsandboxed (apt-get install bubblewrap to test the sandbox)")
	}
	code := kubeCluster.Run(m)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// instance is one running `liftoff serve`.
type instance struct {
	t        testing.TB
	cmd      *exec.Cmd
	addr     string
	proxy    string
	logs     *logLines
	stdout   *logLines
	exited   chan error
	exitOnce sync.Once
}

// logLines keeps every log line the server wrote.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// storeFlags points a command at the dialect's store for this test.
func storeFlags(t testing.TB, dialect, dataDir string) []string {
	if dialect == "postgres" {
		return []string{"--data-dir", dataDir, "--database-url", storetest.DatabaseURL(t)}
	}
	return []string{"--data-dir", dataDir}
}

// allowTempRepos is the --allowed-repos the tests run with: the
// repositories gittest makes in the temporary directory, which the default
// policy refuses (a local path outside the data dir's repos/).
func allowTempRepos() []string {
	return []string{"--allowed-repos", filepath.Join(os.TempDir(), "**")}
}

// start runs `liftoff serve` with the flags and waits until it listens.
func start(t testing.TB, flags []string, logs *logLines) *instance {
	t.Helper()
	return startWith(t, flags, nil, logs)
}

// startWith runs `liftoff serve` with the flags and more environment
// variables (KEY=VALUE), and waits until it listens. Without an
// --allowed-repos among flags, it allows allowTempRepos.
func startWith(t testing.TB, flags, env []string, logs *logLines) *instance {
	t.Helper()
	in := &instance{t: t, logs: logs, stdout: &logLines{}, exited: make(chan error, 1)}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0", "--log-format", "json",
		"--shutdown-timeout", "5s"}, sandboxFlags...)
	args = append(args, flags...)
	if !slices.Contains(flags, "--allowed-repos") {
		args = append(args, allowTempRepos()...)
	}
	in.cmd = exec.Command(binary, args...)
	in.cmd.Env = append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0"), env...)
	stderr, err := in.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := in.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			in.stdout.add(sc.Text())
		}
	}()
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logs.add(line)
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "listening" {
				listening <- [2]string{rec["addr"].(string), rec["proxy_addr"].(string)}
			}
		}
		in.exited <- in.cmd.Wait()
	}()
	// A graceful stop, so the test leaves no build or release behind.
	t.Cleanup(func() {
		if err := in.stop(); err != nil {
			in.kill()
		}
		if t.Failed() {
			lines := logs.all()
			t.Logf("the last lines liftoff serve logged:\n%s", strings.Join(lines[max(0, len(lines)-60):], "\n"))
		}
	})
	select {
	case addrs := <-listening:
		in.addr, in.proxy = addrs[0], addrs[1]
	case err := <-in.exited:
		t.Fatalf("liftoff serve exited before listening: %v\n%s", err, strings.Join(logs.all(), "\n"))
	case <-time.After(60 * time.Second):
		t.Fatalf("liftoff serve did not listen within 60s\n%s", strings.Join(logs.all(), "\n"))
	}
	return in
}

func (in *instance) url() string { return "http://" + in.addr }

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() error {
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	return in.wait()
}

// processesOf lists the live processes started for a deployment (they carry
// its id in their environment).
func processesOf(deploymentID string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !strings.Contains(string(env), "LIFTOFF_DEPLOYMENT_ID="+deploymentID+"\x00") {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && !strings.Contains(string(stat), ") Z ") {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// waitForSleep waits until a process of the deployment runs sleep: its
// build reached the slow step (build.sh with SLOW). A status such as
// BUILDING is set before the build's processes start, so it is no signal
// that they run.
func waitForSleep(t *testing.T, deploymentID string) {
	t.Helper()
	waitUntil(t, "the build of "+deploymentID+" sleeps", func() bool {
		for _, pid := range processesOf(deploymentID) {
			if comm, err := os.ReadFile("/proc/" + pid + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "sleep" {
				return true
			}
		}
		return false
	})
}

// noProcessesOf fails unless a deployment's processes are gone within 10s.
func noProcessesOf(t *testing.T, deploymentID string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := processesOf(deploymentID)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s left processes: %v", deploymentID, pids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill sends SIGKILL: a crash.
func (in *instance) kill() {
	_ = in.cmd.Process.Signal(syscall.SIGKILL)
	_ = in.wait()
}

func (in *instance) wait() error {
	var err error
	in.exitOnce.Do(func() {
		select {
		case err = <-in.exited:
		case <-time.After(60 * time.Second):
			err = fmt.Errorf("liftoff did not exit within 60s")
		}
	})
	return err
}

// liftoffCLI runs a liftoff CLI command and returns its stdout.
func liftoffCLI(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("liftoff %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

// bootstrapKey creates an API key on the store directly, as a newcomer does.
func bootstrapKey(t testing.TB, flags []string) string {
	t.Helper()
	var k struct{ ID, Name, Key string }
	out := liftoffCLI(t, append([]string{"apikeys", "create", "--name", "e2e", "--json"}, flags...)...)
	if err := json.Unmarshal([]byte(out), &k); err != nil || !strings.HasPrefix(k.Key, "lfk_") {
		t.Fatalf("apikeys create printed %q: %v", out, err)
	}
	return k.Key
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// waitUntil polls cond for up to 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitUntilUpTo(t, what, 30*time.Second, cond)
}

// waitUntilUpTo is waitUntil with a bound of its own, for what a loaded
// machine makes slow (a teardown retried by the janitor).
func waitUntilUpTo(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
