package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

// sandboxConfig: peek, a static site whose build looks for Liftoff's
// secrets where a build found them (its parent's and pid 1's environment)
// and at the data dir, and leaves a setsid daemon behind; api, a web
// service whose start command leaves a daemon behind too.
func sandboxConfig(dataDir string) string {
	return `{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
  {"id": "peek", "name": "Peek", "type": "static", "outputDirectory": "public",
   "buildCommand": "echo \"parent: $(tr '\\0' ' ' < /proc/$PPID/environ)\"; echo \"init: $(tr '\\0' ' ' < /proc/1/environ)\"; ls -a ` + dataDir + `; d=daemon; setsid sh -c \"sleep 300; : liftoff-build-$d:$PWD\" >/dev/null 2>&1 </dev/null & mkdir -p public && echo ok > public/index.html"},
  {"id": "api", "name": "API", "type": "web", "healthCheckPath": "/health", "healthCheckTimeoutSecs": 30,
   "startCommand": "d=daemon; setsid sh -c \"sleep 300; : liftoff-release-$d:$PWD\" >/dev/null 2>&1 </dev/null & exec ` + webserver + `"}
]}]}`
}

// TestSandbox: a build printed LIFTOFF_GITHUB_WEBHOOK_SECRET from
// /proc/$PPID/environ into its deployment log, and read the database;
// daemons that builds and releases started with setsid outlived them. Run
// by the real binary with the secret in its environment, in bubblewrap:
// the log holds neither the secret nor the data dir, and no daemon
// outlives its build, its replaced release, or a graceful shutdown.
func TestSandbox(t *testing.T) {
	t.Parallel()
	if !haveBwrap() {
		t.Skip("bubblewrap is not installed: apt-get install bubblewrap to run this test")
	}
	const secret = "e2e-github-webhook-secret-3b9f0c"
	f := &fixture{t: t, logs: &logLines{}}
	dataDir := t.TempDir()
	f.flags = storeFlags(t, "sqlite", dataDir)
	f.key = bootstrapKey(t, f.flags)
	f.srv = startWith(t, append([]string{"--workers", "2"}, f.flags...), []string{"LIFTOFF_GITHUB_WEBHOOK_SECRET=" + secret}, f.logs)
	f.c = client.New(f.srv.url(), f.key)
	f.repo = gittest.New(t)
	f.repo.Commit("init", map[string]string{"liftoff.json": sandboxConfig(dataDir)})
	ctx := ctxT(t)
	var err error
	if f.project, err = f.c.CreateProject(ctx, "sandboxed", f.repo.Dir, ""); err != nil {
		t.Fatal(err)
	}
	if f.hook, err = f.c.CreateHook(ctx, f.project.Environments[0].EnvironmentID, "CI"); err != nil {
		t.Fatal(err)
	}

	first := f.deploy("")
	logs, err := f.c.Logs(ctx, first.DeploymentID, "")
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != "SUCCESS" {
		t.Fatalf("deployment ended %s %+v\n%s", first.Status, first.Error, logs)
	}
	if strings.Contains(logs, secret) || strings.Contains(logs, "LIFTOFF_GITHUB_WEBHOOK_SECRET") {
		t.Errorf("the deployment log holds Liftoff's secret:\n%s", logs)
	}
	for _, want := range []string{"parent: \n", "init: \n"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q: the build's parent is not an empty bwrap\n%s", want, logs)
		}
	}
	for _, leak := range []string{"\nliftoff.db\n", "\nmirrors\n", "\nruntime\n"} {
		if strings.Contains(logs, leak) {
			t.Errorf("the build saw %q in the data dir:\n%s", strings.TrimSpace(leak), logs)
		}
	}
	noProcessRuns(t, "liftoff-build-daemon:"+dataDir, "the build's daemon")
	if n := len(processesRunning("liftoff-release-daemon:" + dataDir)); n != 1 {
		t.Fatalf("%d release daemons run, want the release's one", n)
	}

	// A new release replaces the first: the first's daemon goes with it.
	second := f.deploy("force=true")
	if second.Status != "SUCCESS" {
		t.Fatalf("second deployment ended %s %+v", second.Status, second.Error)
	}
	noProcessesOf(t, first.DeploymentID)

	// A graceful shutdown stops the release, and its daemon.
	if err := f.srv.stop(); err != nil {
		t.Fatal(err)
	}
	noProcessesOf(t, second.DeploymentID)
	noProcessRuns(t, "liftoff-release-daemon:"+dataDir, "a release's daemon")
}

// processesRunning lists the live processes whose command line holds s
// (with a test's data dir in it, unique among test processes).
func processesRunning(s string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), s) {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && !strings.Contains(string(stat), ") Z ") {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// noProcessRuns fails unless no process runs s within 10s.
func noProcessRuns(t *testing.T, s, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := processesRunning(s)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s outlived it: %v", what, pids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSandboxModesAtStart: where bubblewrap cannot run, --sandbox bwrap
// refuses to start and says how to fix it, and the default (auto) starts
// and warns that builds are not isolated. No bwrap in PATH plays the host
// without it.
func TestSandboxModesAtStart(t *testing.T) {
	t.Parallel()
	noBwrap := "PATH=" + t.TempDir()

	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--sandbox", "bwrap")
	cmd.Env = append(os.Environ(), noBwrap)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("serve --sandbox bwrap without bwrap started:\n%s", out)
	}
	for _, want := range []string{"--sandbox bwrap: bubblewrap not found", "apt-get install bubblewrap", "--sandbox none"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("serve --sandbox bwrap said %q, want it to say %q", out, want)
		}
	}

	logs := &logLines{}
	srv := startWith(t, []string{"--data-dir", t.TempDir(), "--sandbox", "auto"}, []string{noBwrap}, logs)
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	warned := false
	for _, l := range logs.all() {
		if strings.Contains(l, `"level":"WARN"`) && strings.Contains(l, "bubblewrap cannot run here") && strings.Contains(l, "without isolation") && strings.Contains(l, "apt-get install bubblewrap") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning that builds are not isolated:\n%s", strings.Join(logs.all(), "\n"))
	}
}
