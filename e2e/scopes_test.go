package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

// TestScopedKeysCLI: a deploy key made with `liftoff apikeys create --scope
// deploy --env ID` (on the store, while the server runs) lists its
// environment's deployments through the CLI and is refused everything
// beyond it: creating projects, another environment's deployments, API keys.
func TestScopedKeysCLI(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			flags := storeFlags(t, dialect, t.TempDir())
			admin := bootstrapKey(t, flags)
			srv := start(t, append(flags, "--workers", "-1"), &logLines{})
			repo := gittest.New(t)
			repo.Commit("init", map[string]string{"liftoff.json": e2eConfig})
			cli := func(key string, args ...string) string {
				return liftoffCLI(t, append([]string{"--server", srv.url(), "--api-key", key}, args...)...)
			}
			refused := func(key string, args ...string) string {
				t.Helper()
				cmd := exec.Command(binary, append([]string{"--server", srv.url(), "--api-key", key}, args...)...)
				out, err := cmd.CombinedOutput()
				if err == nil {
					t.Fatalf("liftoff %s succeeded with a deploy key:\n%s", strings.Join(args, " "), out)
				}
				return string(out)
			}

			var p client.Project
			if err := json.Unmarshal([]byte(cli(admin, "projects", "create", "--name", "shop", "--repo", repo.Dir, "--json")), &p); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{}
			for _, e := range p.Environments {
				env[e.GivenID] = strconv.FormatInt(e.EnvironmentID, 10)
			}
			var prodHook, stagingHook client.CreatedHook
			if err := json.Unmarshal([]byte(cli(admin, "hooks", "create", "--env", env["production"], "--name", "CI", "--json")), &prodHook); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(cli(admin, "hooks", "create", "--env", env["staging"], "--name", "CI", "--json")), &stagingHook); err != nil {
				t.Fatal(err)
			}
			prod, staging := callHook(t, prodHook.URL), callHook(t, stagingHook.URL)

			var k client.APIKey
			out := liftoffCLI(t, append([]string{"apikeys", "create", "--name", "CI", "--scope", "deploy", "--env", env["production"], "--json"}, flags...)...)
			if err := json.Unmarshal([]byte(out), &k); err != nil || k.Scope != "deploy" || fmt.Sprint(k.EnvironmentIDs) != "["+env["production"]+"]" ||
				!strings.HasPrefix(k.Key, "lfk_") || k.ID == "" || k.CreatedAt == "" {
				t.Fatalf("apikeys create --scope deploy printed %s (%v)", out, err)
			}

			if out := cli(k.Key, "deployments", "list", "--env", env["production"]); !strings.Contains(out, prod) {
				t.Fatalf("deployments list --env %s with the deploy key:\n%s", env["production"], out)
			}
			if out := cli(k.Key, "deployments", "list"); !strings.Contains(out, prod) || strings.Contains(out, staging) {
				t.Fatalf("deployments list with the deploy key shows another environment's deployment:\n%s", out)
			}
			if out := cli(k.Key, "deployments", "get", prod); !strings.Contains(out, "PENDING") {
				t.Fatalf("deployments get with the deploy key:\n%s", out)
			}

			if msg := refused(k.Key, "projects", "create", "--name", "mine", "--repo", repo.Dir); !strings.Contains(msg, "This API key (scope deploy) cannot create projects") {
				t.Fatalf("projects create with a deploy key:\n%s", msg)
			}
			if msg := refused(k.Key, "deployments", "get", staging); !strings.Contains(msg, "Deployment not found") {
				t.Fatalf("another environment's deployment with a deploy key:\n%s", msg)
			}
			if msg := refused(k.Key, "apikeys", "list"); !strings.Contains(msg, "cannot list API keys") {
				t.Fatalf("apikeys list with a deploy key:\n%s", msg)
			}

			list := cli(admin, "apikeys", "list")
			for _, want := range []string{"SCOPE", "ENVIRONMENTS", k.ID, "deploy", "admin"} {
				if !strings.Contains(list, want) {
					t.Fatalf("apikeys list lacks %q:\n%s", want, list)
				}
			}
			var keys []client.APIKey
			if err := json.Unmarshal([]byte(cli(admin, "apikeys", "list", "--json")), &keys); err != nil || len(keys) != 2 ||
				keys[0].Scope != "admin" || keys[1].Scope != "deploy" || len(keys[1].EnvironmentIDs) != 1 || keys[1].Key != "" {
				t.Fatalf("apikeys list --json = %+v (%v)", keys, err)
			}

			// Mistakes say what to do.
			cmd := exec.Command(binary, append([]string{"apikeys", "create", "--name", "x", "--scope", "deploy"}, flags...)...)
			if msg, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(msg), "--env ID") {
				t.Fatalf("a deploy key without --env: %v\n%s", err, msg)
			}
			cmd = exec.Command(binary, append([]string{"apikeys", "create", "--name", "x", "--scope", "owner"}, flags...)...)
			if msg, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(msg), "scope must be admin, deploy or read") {
				t.Fatalf("an unknown scope: %v\n%s", err, msg)
			}
		})
	}
}
