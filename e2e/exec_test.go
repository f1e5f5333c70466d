package e2e

import (
	"encoding/json"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestExecFormCommands deploys a service whose preDeployCommand and
// startCommand are argv arrays, as flightcontrol.json files write them.
// The preDeployCommand copies a file whose name a shell would split and
// expand ("v;1 $HOME.txt") to version.txt, which the webserver answers
// with: the answer shows that both ran, with their arguments as written.
func TestExecFormCommands(t *testing.T) {
	t.Parallel()
	const source = "v;1 $HOME.txt"
	pre, _ := json.Marshal([]string{"cp", source, "version.txt"})
	start, _ := json.Marshal([]string{webserver})
	config := `{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
  {"id": "api", "name": "API", "type": "web", "basePath": "api", "preDeployCommand": ` + string(pre) + `,
   "startCommand": ` + string(start) + `, "healthCheckPath": "/health", "healthCheckTimeoutSecs": 10}]}]}`
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := &fixture{t: t, logs: &logLines{}}
			f.flags = storeFlags(t, dialect, t.TempDir())
			f.key = bootstrapKey(t, f.flags)
			f.start()
			f.repo = gittest.New(t)
			f.repo.Commit("exec form", map[string]string{"liftoff.json": config, "api/" + source: "exec-form-v1"})
			ctx := ctxT(t)
			var err error
			if f.project, err = f.c.CreateProjectWith(ctx, client.NewProject{Name: "exec", RepoURL: f.repo.Dir}); err != nil {
				t.Fatal(err)
			}
			if f.hook, err = f.c.CreateHook(ctx, f.project.Environments[0].EnvironmentID, "CI"); err != nil {
				t.Fatal(err)
			}
			d := f.wait(f.call(""))
			if d.Status != "SUCCESS" {
				logs, _ := f.c.Logs(ctx, d.DeploymentID, "")
				t.Fatalf("deployment ended %s\n%s", d.Status, logs)
			}
			f.expectAnswer("api", "exec-form-v1")
		})
	}
}
