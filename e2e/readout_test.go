package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// readoutConfig: production runs api beside a database Liftoff does not
// run; data has only a cache; ports has a web service that listens on
// nothing while something else answers on its configured port.
func readoutConfig(port int) string {
	return fmt.Sprintf(`{"environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
    {"id": "api", "name": "API", "type": "web", "basePath": "api", "buildCommand": "echo built api",
     "startCommand": "%s", "healthCheckPath": "/health", "healthCheckTimeoutSecs": 30},
    {"id": "db", "name": "DB", "type": "rds"}
  ]},
  {"id": "data", "name": "Data", "source": {"branch": "main"}, "services": [
    {"id": "cache", "name": "Cache", "type": "elasticache"}
  ]},
  {"id": "ports", "name": "Ports", "source": {"branch": "main"}, "services": [
    {"id": "web", "name": "Web", "type": "web", "port": %d, "startCommand": "exec sleep 600", "healthCheckTimeoutSecs": 2}
  ]}
]}`, webserver, port)
}

// TestReadoutEndToEnd runs what a newcomer runs right after a hook call,
// on a server whose hook answers use a boolean (set in its environment):
// the CLI following the output and one service's output, the services
// Liftoff does not run in `envs get` and `deployments get`, the answer of a
// hook with nothing to run, and an app listening on its configured port.
func TestReadoutEndToEnd(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			flags := storeFlags(t, dialect, t.TempDir())
			key := bootstrapKey(t, flags)
			srv := startWith(t, append([]string{"--workers", "2"}, flags...), []string{"LIFTOFF_HOOK_SUCCESS_TYPE=boolean"}, &logLines{})
			c := client.New(srv.url(), key)
			// Something answers on the ports environment's configured port.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ln.Close() })
			configured := ln.Addr().(*net.TCPAddr).Port
			repo := gittest.New(t)
			repo.Commit("init", map[string]string{"liftoff.json": readoutConfig(configured), "api/version.txt": "v1"})
			p, err := c.CreateProject(ctx, "readout", repo.Dir, "")
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]int64{}
			for _, e := range p.Environments {
				env[e.GivenID] = e.EnvironmentID
			}
			hooks := map[string]client.CreatedHook{}
			for name, id := range env {
				if hooks[name], err = c.CreateHook(ctx, id, "CI"); err != nil {
					t.Fatal(err)
				}
			}
			call := func(name string) (int, string) {
				t.Helper()
				u := srv.url() + hooks[name].URL[strings.Index(hooks[name].URL, "/api/"):]
				resp, err := http.Get(u)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = resp.Body.Close() }()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			cli := func(args ...string) *exec.Cmd {
				return exec.Command(binary, append([]string{"--server", srv.url(), "--api-key", key}, args...)...)
			}

			status, body := call("production")
			m := regexp.MustCompile(`^\{"success": true, "deploymentId": "(c[a-z0-9]{24})"\}$`).FindStringSubmatch(body)
			if status != 200 || m == nil {
				t.Fatalf("hook call with LIFTOFF_HOOK_SUCCESS_TYPE=boolean: %d %s", status, body)
			}
			id := m[1]
			// Right after the hook call, as a newcomer does.
			var wg sync.WaitGroup
			outs := map[string]*bytes.Buffer{}
			var errs sync.Map
			for name, args := range map[string][]string{
				"logs -f --service api": {"deployments", "logs", "-f", "--service", "api", id},
				"watch --logs":          {"deployments", "watch", "--logs", id},
			} {
				cmd := cli(args...)
				var out, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &stderr
				outs[name] = &out
				wg.Go(func() {
					if err := cmd.Run(); err != nil {
						errs.Store(name, fmt.Sprintf("%v: %s", err, stderr.String()))
					}
				})
			}
			wg.Wait()
			errs.Range(func(name, err any) bool {
				t.Errorf("liftoff %s: %s", name, err)
				return true
			})
			if out := outs["logs -f --service api"].String(); !strings.Contains(out, "[api] built api\n") || strings.Contains(out, "[deploy]") {
				t.Errorf("logs -f --service api:\n%s", out)
			}
			watched := outs["watch --logs"].String()
			for _, want := range []string{"  | [api] built api\n", "db: NO_CHANGE (not deployed: type rds does not run on Liftoff)", "SUCCESS"} {
				if !strings.Contains(watched, want) {
					t.Errorf("watch --logs does not show %q:\n%s", want, watched)
				}
			}
			if strings.Contains(watched, "[deploy] built api") {
				t.Errorf("watch --logs labels the api's lines [deploy]:\n%s", watched)
			}

			out, err := cli("deployments", "get", id).Output()
			if err != nil || !regexp.MustCompile(`db\s+NO_CHANGE\s+not deployed: type rds does not run on Liftoff`).Match(out) {
				t.Errorf("deployments get: %v\n%s", err, out)
			}
			out, err = cli("envs", "get", fmt.Sprint(env["production"])).Output()
			if err != nil || !regexp.MustCompile(`db\s+DB\s+rds\s+-\s+no: type rds does not run on Liftoff`).Match(out) ||
				!regexp.MustCompile(`api\s+API\s+web\s+c[a-z0-9]{24}\s+yes`).Match(out) {
				t.Errorf("envs get: %v\n%s", err, out)
			}

			status, body = call("data")
			if want := fmt.Sprintf(`{"success": false, "error": "Environment %d (data) has no services Liftoff runs: cache is elasticache (not run by Liftoff)"}`,
				env["data"]); status != 409 || body != want {
				t.Errorf("hook of an environment with nothing to run: %d %s, want 409 %s", status, body, want)
			}

			status, body = call("ports")
			if m = regexp.MustCompile(`"deploymentId": "(c[a-z0-9]{24})"`).FindStringSubmatch(body); status != 200 || m == nil {
				t.Fatalf("hook of ports: %d %s", status, body)
			}
			if end, err := c.FollowLogs(ctx, m[1], "", func(string) {}); err != nil || end != "DEPLOY_ERROR" {
				t.Fatalf("the deployment of an app on its configured port ended %s, %v", end, err)
			}
			d, err := c.Deployment(ctx, m[1])
			if err != nil {
				t.Fatal(err)
			}
			want := regexp.MustCompile(`^web: health check GET / did not answer 200-399 within 2s \(last: [^)]+\): ` +
				fmt.Sprintf(`something answers on port %d: the service must listen on \$PORT \(given \d+\), not on its configured port$`, configured))
			if len(d.Error) != 1 || !want.MatchString(d.Error[0]["DEPLOY_ERROR"]) {
				t.Errorf("the error of an app on its configured port: %v, want %s", d.Error, want)
			}
		})
	}
}

// TestPreviewBranch: a preview deployment's gitBranch is its pull
// request's head branch once Liftoff knows it: from the pull_request
// event, and for a later call of the preview hook, which names no branch.
func TestPreviewBranch(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dialect)
			head := f.branch("feature/checkout", map[string]string{"api/version.txt": "checkout"})
			status, res, body := f.sendWebhook("pull_request", "pull_request.opened.json", webhookSecret, map[string]string{fixtureHeadSHA: head})
			if status != 202 || len(res.Queued) != 1 {
				t.Fatalf("opened: %d %s", status, body)
			}
			if d := f.wait(res.Queued[0].DeploymentID); d.Status != "SUCCESS" || d.GitBranch != "feature/checkout" {
				t.Fatalf("deployment of the pull_request event: %s, gitBranch %q", d.Status, d.GitBranch)
			}
			id := callHook(t, f.previewURL(42, head)+"?force=true")
			if d := f.wait(id); d.Status != "SUCCESS" || d.GitBranch != "feature/checkout" || d.GitCommit != head {
				t.Fatalf("deployment of the preview hook: %s, gitBranch %q, gitCommit %q", d.Status, d.GitBranch, d.GitCommit)
			}
		})
	}
}
