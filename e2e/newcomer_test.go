package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestDeployAndDeleteProjectCLI: liftoff deploy --watch deploys with the
// API key and follows the deployment to its end; liftoff projects delete
// then stops the project's releases (no process, no route left) and
// revokes its hook.
func TestDeployAndDeleteProjectCLI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	cli := func(args ...string) string {
		return liftoffCLI(t, append(args, "--server", f.srv.url(), "--api-key", f.key)...)
	}
	out := cli("deploy", "--project", "mono", "--env", "production", "--watch")
	first := strings.SplitN(out, "\n", 2)[0]
	fields := strings.Fields(first)
	if len(fields) < 4 || fields[0] != "Deployment" || !strings.Contains(first, "of mono/production (environment ") ||
		!strings.Contains(out, ": SUCCESS") {
		t.Fatalf("deploy --watch printed:\n%s", out)
	}
	id := fields[1]
	d, err := f.c.Deployment(ctxT(t), id)
	if err != nil || d.Status != "SUCCESS" || d.Trigger.Type != "api" || d.Trigger.APIKeyName == nil || *d.Trigger.APIKeyName != "e2e" {
		t.Fatalf("the deployment deploy started: %+v %v", d, err)
	}
	if status, _ := f.get("api", "/"); status != http.StatusOK {
		t.Fatalf("api answers %d before the delete", status)
	}
	if len(processesOf(id)) == 0 {
		t.Fatal("the release of the deployment runs no process")
	}

	if out := cli("projects", "delete", "mono"); !strings.Contains(out, "Deleted project mono ("+f.project.ProjectID+")") {
		t.Fatalf("projects delete printed:\n%s", out)
	}
	noProcessesOf(t, id)
	if status, body := f.get("api", "/"); status == http.StatusOK {
		t.Errorf("the route of a deleted project still answers: %d %s", status, body)
	}
	resp, err := http.Get(f.hookURL(""))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the hook of a deleted project answers %d", resp.StatusCode)
	}
	// Its history stays readable.
	if out := cli("deployments", "get", id); !strings.Contains(out, "SUCCESS") {
		t.Errorf("deployments get after the delete:\n%s", out)
	}
}

// TestDemoSecondStart: a second serve --demo on the same data dir cannot
// show the first start's secrets again; it says how to make a new key and
// a new hook, and those commands work as printed.
func TestDemoSecondStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	flags := []string{"--data-dir", dir, "--demo", "--allowed-repos", "", "--workers", "-1"}
	first := start(t, flags, &logLines{})
	waitUntil(t, "the first start prints the demo's key", func() bool {
		return strings.Contains(strings.Join(first.stdout.all(), "\n"), "API key:")
	})
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	second := start(t, flags, &logLines{})
	var keyCmd, hookCmd []string
	waitUntil(t, "the second start says how to make a new key", func() bool {
		for _, l := range second.stdout.all() {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "liftoff apikeys create --name me ") {
				keyCmd = strings.Fields(l)
			}
			if strings.HasPrefix(l, "liftoff hooks create ") {
				hookCmd = strings.Fields(l)
			}
		}
		return keyCmd != nil && hookCmd != nil
	})
	if all := strings.Join(second.stdout.all(), "\n"); strings.Contains(all, "API key:") || strings.Contains(all, "hooks rotate") {
		t.Fatalf("the second start points at lost secrets:\n%s", all)
	}
	var k struct{ Key string }
	if err := json.Unmarshal([]byte(liftoffCLI(t, append(keyCmd[1:], "--json")...)), &k); err != nil || k.Key == "" {
		t.Fatalf("%s: %v", strings.Join(keyCmd, " "), err)
	}
	out := liftoffCLI(t, append(hookCmd[1:], "--server", second.url(), "--api-key", k.Key)...)
	if !strings.Contains(out, "for demo/production (environment ") || !strings.Contains(out, "/api/deploy-hook/") {
		t.Fatalf("%s printed:\n%s", strings.Join(hookCmd, " "), out)
	}
}
