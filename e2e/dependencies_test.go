package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/gittest"
)

// dependsConfig: base (fails when FAIL exists), front depends on base, side
// is independent, shipper releases through the command target (which
// writes what it was given to shipped, in its release dir: in a sandbox
// that is all it may write) and keeps 2 builds.
func dependsConfig() string {
	return `{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
  {"id": "base", "name": "Base", "type": "static", "basePath": "base", "outputDirectory": ".",
   "buildCommand": "test ! -f FAIL || { echo base is broken >&2; exit 4; }"},
  {"id": "front", "name": "Front", "type": "static", "basePath": "front", "outputDirectory": ".", "dependsOn": ["base"],
   "buildCommand": "sleep 1"},
  {"id": "side", "name": "Side", "type": "static", "basePath": "side", "outputDirectory": "."},
  {"id": "shipper", "name": "Shipper", "type": "web", "basePath": "side", "versionHistoryCount": 2,
   "target": {"type": "command", "deployCommand": "printf '%s %s' \"$LIFTOFF_GIT_COMMIT_SHA\" \"$LIFTOFF_RELEASE_DIR\" > \"$LIFTOFF_RELEASE_DIR/shipped\""}}
]}]}`
}

// TestEngineDependenciesAndTargets: a failed service cancels its dependents
// only; the command target hands the release to the user's command; builds
// beyond versionHistoryCount are removed; a dependsOn cycle fails the
// deployment before anything builds; `liftoff deployments watch` exits 0 on
// success and 1 on failure.
func TestEngineDependenciesAndTargets(t *testing.T) {
	t.Parallel()
	f := &fixture{t: t, logs: &logLines{}}
	dataDir := t.TempDir()
	f.flags = storeFlags(t, "sqlite", dataDir)
	f.key = bootstrapKey(t, f.flags)
	f.start()
	f.repo = gittest.New(t)
	f.repo.Commit("init", map[string]string{"liftoff.json": dependsConfig(), "base/index.html": "b", "front/index.html": "f", "side/index.html": "s"})
	ctx := context.Background()
	var err error
	if f.project, err = f.c.CreateProject(ctx, "deps", f.repo.Dir, ""); err != nil {
		t.Fatal(err)
	}
	if f.hook, err = f.c.CreateHook(ctx, f.project.Environments[0].EnvironmentID, "CI"); err != nil {
		t.Fatal(err)
	}
	watch := func(id string) int {
		cmd := exec.Command(binary, "--server", f.srv.url(), "--api-key", f.key, "deployments", "watch", id, "--interval", "200ms")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("watch: %v\n%s", err, out)
		}
		return 0
	}

	id := f.call("")
	if code := watch(id); code != 0 {
		t.Fatalf("watch of a successful deployment exited %d", code)
	}
	d := f.wait(id)
	if d.Status != "SUCCESS" {
		t.Fatalf("first deployment ended %s %+v", d.Status, d.Error)
	}
	releaseDir := filepath.Join(dataDir, "builds", f.project.ProjectID, service(t, d, "shipper").ServiceDeploymentID, "side")
	shipped, _ := os.ReadFile(filepath.Join(releaseDir, "shipped"))
	parts := strings.Fields(string(shipped))
	if len(parts) != 2 || parts[0] != f.repo.Head() || parts[1] != releaseDir {
		t.Fatalf("the deploy command saw %q", shipped)
	}
	if s := service(t, d, "shipper"); s.Service.ServiceDomain != nil {
		t.Fatalf("a command target has a domain: %v", *s.Service.ServiceDomain)
	}

	// base fails: front (its dependent) is cancelled, side and shipper deploy.
	f.repo.Commit("break base", map[string]string{"base/FAIL": "x"})
	id = f.call("force=true")
	if code := watch(id); code != 1 {
		t.Fatalf("watch of a failed deployment exited %d, want 1", code)
	}
	d = f.wait(id)
	want := map[string]string{"base": "BUILD_ERROR", "front": "CANCELLED", "side": "SUCCESS", "shipper": "SUCCESS"}
	for svc, status := range want {
		if s := service(t, d, svc); s.Status != status {
			t.Fatalf("%s ended %s, want %s (%+v)", svc, s.Status, status, s.Error)
		}
	}
	if d.Status != "BUILD_ERROR" || len(d.Error) != 1 || !strings.Contains(d.Error[0]["BUILD_ERROR"], "exited with status 4") {
		t.Fatalf("deployment with a failed dependency = %s %+v", d.Status, d.Error)
	}

	// versionHistoryCount 2: after more deployments only two shipper builds stay.
	var shipperBuilds []string
	for range 3 {
		d = f.deploy("force=true")
		shipperBuilds = append(shipperBuilds, service(t, d, "shipper").ServiceDeploymentID)
	}
	kept := 0
	builds := filepath.Join(dataDir, "builds", f.project.ProjectID)
	entries, _ := os.ReadDir(builds)
	for _, e := range entries {
		for _, sd := range shipperBuilds {
			if e.Name() == sd {
				kept++
			}
		}
	}
	if kept != 2 {
		t.Fatalf("%d of the last 3 shipper builds are kept, want 2 (versionHistoryCount)", kept)
	}
	if _, err := os.Stat(filepath.Join(builds, shipperBuilds[0])); err == nil {
		t.Fatal("the oldest shipper build was kept")
	}

	// A dependsOn cycle ends ERROR before anything builds.
	cyclic := strings.Replace(dependsConfig(), `"id": "base", "name": "Base",`, `"id": "base", "name": "Base", "dependsOn": ["front"],`, 1)
	f.repo.Commit("cycle", map[string]string{"liftoff.json": cyclic})
	d = f.deploy("")
	if d.Status != "ERROR" || len(d.ServiceDeployments) != 0 || !strings.Contains(d.Error[0]["ERROR"], "cycle") {
		t.Fatalf("cyclic config: %s %+v (%d services)", d.Status, d.Error, len(d.ServiceDeployments))
	}
}
