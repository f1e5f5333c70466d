package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

// TestConfigValidateCLI: `liftoff config validate` prints every problem with
// its JSON path and exits 1 on errors, 0 on a valid file.
func TestConfigValidateCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "liftoff.json")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(e2eConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"environments":[{"id":"p","name":"P","source":{"branch":"main"},"services":[
		{"id":"a","name":"A","type":"banana"},{"id":"b","name":"B","type":"web","port":70000,"startCommand":"x"},{"id":"c","name":"C","type":"web","startCommand":"x","dependsOn":["zz"]}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := liftoffCLI(t, "config", "validate", good); !strings.Contains(out, "is valid") {
		t.Fatalf("valid file: %s", out)
	}
	cmd := exec.Command(binary, "config", "validate", bad)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1\n%s", err, out)
	}
	for _, want := range []string{"/environments/0/services/0/type", "/environments/0/services/1/port", "/environments/0/services/2/dependsOn/0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	cmd = exec.Command(binary, "config", "validate", "--json", bad)
	out, _ = cmd.Output()
	var report struct {
		Valid    bool
		Problems []struct{ Path, Message, Severity string }
	}
	if err := json.Unmarshal(out, &report); err != nil || report.Valid || len(report.Problems) < 3 {
		t.Fatalf("--json report = %s (%v)", out, err)
	}
}

// TestHooksCLI drives hook management through the CLI against the real server.
func TestHooksCLI(t *testing.T) {
	t.Parallel()
	flags := storeFlags(t, "sqlite", t.TempDir())
	key := bootstrapKey(t, flags)
	srv := start(t, append(flags, "--workers", "-1"), &logLines{})
	repo := gittest.New(t)
	repo.Commit("init", map[string]string{"liftoff.json": e2eConfig})
	cli := func(args ...string) string {
		return liftoffCLI(t, append([]string{"--server", srv.url(), "--api-key", key}, args...)...)
	}
	var p client.Project
	if err := json.Unmarshal([]byte(cli("projects", "create", "--name", "shop", "--repo", repo.Dir, "--json")), &p); err != nil {
		t.Fatal(err)
	}
	env := "1"
	if out := cli("projects", "get", p.ProjectID); !strings.Contains(out, "production") || !strings.Contains(out, "pull requests") {
		t.Fatalf("projects get:\n%s", out)
	}
	var h client.CreatedHook
	if err := json.Unmarshal([]byte(cli("hooks", "create", "--env", env, "--name", "CI", "--json")), &h); err != nil || h.Secret == "" {
		t.Fatalf("hooks create: %+v %v", h, err)
	}
	if out := cli("hooks", "list", "--env", env); !strings.Contains(out, h.ID) || strings.Contains(out, h.Secret) {
		t.Fatalf("hooks list shows no hook or a secret:\n%s", out)
	}
	cli("hooks", "pause", h.ID)
	if out := cli("hooks", "list", "--env", env); !strings.Contains(out, "paused") {
		t.Fatalf("after pause:\n%s", out)
	}
	cli("hooks", "resume", h.ID)
	id := callHook(t, h.URL)
	if out := cli("deployments", "get", id); !strings.Contains(out, "PENDING") || !strings.Contains(out, "production") {
		t.Fatalf("deployments get:\n%s", out)
	}
	if out := cli("deployments", "list", "--env", env); !strings.Contains(out, id) {
		t.Fatalf("deployments list:\n%s", out)
	}
	out := cli("hooks", "rotate", h.ID, "--grace", "1h")
	if !strings.Contains(out, "keeps working until") || strings.Contains(out, h.Secret) {
		t.Fatalf("hooks rotate:\n%s", out)
	}
	cli("hooks", "delete", h.ID)
	if out := cli("hooks", "list", "--env", env); strings.Contains(out, h.ID) {
		t.Fatalf("deleted hook still listed:\n%s", out)
	}
	// Without a key the CLI says how to get one.
	cmd := exec.Command(binary, "--server", srv.url(), "projects", "list")
	cmd.Env = append(os.Environ(), "LIFTOFF_API_KEY=")
	msg, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "liftoff apikeys create") {
		t.Fatalf("no key: %v %s", err, msg)
	}
	// LIFTOFF_SERVER and LIFTOFF_API_KEY work like the flags.
	cmd = exec.Command(binary, "apikeys", "list")
	cmd.Env = append(os.Environ(), "LIFTOFF_SERVER="+srv.url(), "LIFTOFF_API_KEY="+key)
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "e2e") {
		t.Fatalf("apikeys list from the environment: %v %s", err, out)
	}
}
