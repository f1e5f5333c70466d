package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
)

// TestDemo: `liftoff serve --demo` on an empty data dir prints an API key,
// a hook URL, a dashboard login that signs in, and how to make a deploy
// key for CI; one call to the hook
// deploys the example monorepo (a Go web service and a static site) with
// nothing but Go and git, and both answer through the proxy.
func TestDemo(t *testing.T) {
	t.Parallel()
	f := &fixture{t: t, logs: &logLines{}}
	// The default repository policy: the demo's repository is in the data
	// dir, which it always allows.
	f.flags = []string{"--data-dir", t.TempDir(), "--demo", "--allowed-repos", ""}
	f.srv = start(t, f.flags, f.logs)
	// The demo prints its key, its hook and, last, how to make a deploy key
	// for CI: wait for all of it (stdout arrives in pieces).
	var key, hook, email, password string
	var ciKey []string
	waitUntil(t, "the demo prints its key, its hook, its login and how to make a CI key", func() bool {
		for _, l := range f.srv.stdout.all() {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Email:"); ok {
				email = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Password:"); ok {
				password = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "API key:"); ok {
				key = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Deploy hook:"); ok {
				hook = strings.TrimSpace(v)
			}
			if strings.HasPrefix(strings.TrimSpace(l), "liftoff apikeys create --name CI --scope deploy") {
				ciKey = strings.Fields(l)
			}
		}
		return key != "" && hook != "" && email != "" && password != "" && ciKey != nil
	})
	// The dashboard login it prints works.
	if err := signIn(f.srv.url(), email, password); err != nil {
		t.Fatalf("the demo's login %s: %v", email, err)
	}
	f.key = key
	f.c = clientFor(f.srv.url(), key)
	// The command it prints for a CI key works.
	if out := liftoffCLI(t, ciKey[1:]...); !strings.Contains(out, "scope deploy on environments") {
		t.Fatalf("%s printed %s", strings.Join(ciKey, " "), out)
	}
	// In the sandbox the project's Go build cache starts empty, so its
	// first build compiles the standard library: minutes on a loaded
	// machine, seconds where Liftoff's own cache is used (unsandboxed).
	id := callHook(t, hook)
	d := f.waitUpTo(id, 10*time.Minute, func(d client.Deployment) bool { return isFinal(d.Status) })
	if d.Status != "SUCCESS" || len(d.ServiceDeployments) != 2 {
		logs, _ := f.c.Logs(t.Context(), d.DeploymentID, "")
		t.Fatalf("demo deployment ended %s %+v\n%s", d.Status, d.Error, logs)
	}
	if status, body := f.get("api", "/"); status != 200 || !strings.Contains(body, `"greeting":"Hello from Liftoff"`) || !strings.Contains(body, d.GitCommit) {
		t.Fatalf("demo api answers %d %s", status, body)
	}
	if status, body := f.get("site", "/"); status != 200 || !strings.Contains(body, "Deployed by Liftoff") {
		t.Fatalf("demo site answers %d %.80s", status, body)
	}
	if strings.Contains(strings.Join(f.logs.all(), "\n"), key) {
		t.Fatal("the demo's API key reached the log")
	}
}
