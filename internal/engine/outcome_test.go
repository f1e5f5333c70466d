package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// TestOutcome: the final status of a deployment and of each of its
// services, and the errors it records, when everything deploys, when
// nothing changed, when a build fails, when the target fails, when a
// dependency fails, when a user cancels it, and when it cannot start.
func TestOutcome(t *testing.T) {
	t.Parallel()
	const buildFails = `{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
  {"id": "api", "name": "API", "type": "web", "buildCommand": "echo compiling; exit 3", "startCommand": "./api"},
  {"id": "site", "name": "Site", "type": "web", "startCommand": "./site"}]}]}`
	const dependsOnAPI = `{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
  {"id": "api", "name": "API", "type": "web", "buildCommand": "exit 3", "startCommand": "./api"},
  {"id": "site", "name": "Site", "type": "web", "startCommand": "./site", "dependsOn": ["api"]}]}]}`
	// The exec form passes "a;b" as one argument: as a shell line, test
	// would get "a", and b would run as a command.
	const execForm = `{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
  {"id": "api", "name": "API", "type": "web", "preDeployCommand": ["test", "a;b", "=", "a;b"], "startCommand": ["./api", "--port", "$PORT"],
   "postDeployCommand": %s}]}]}`
	cases := []struct {
		name string
		cfg  string
		// run queues the deployment looked at and returns it ended; nil
		// deploys the head of main.
		run      func(h *engineHarness) liftoff.Deployment
		status   liftoff.Status
		errors   []liftoff.ErrorEntry // a message ending in … is a prefix
		services map[string]liftoff.Status
		released []string // services the target was asked to release
	}{
		{
			name:     "every service deploys: SUCCESS",
			cfg:      monorepo("hello", ""),
			status:   liftoff.StatusSuccess,
			services: map[string]liftoff.Status{"api": liftoff.StatusSuccess, "site": liftoff.StatusSuccess},
			released: []string{"api", "site"},
		},
		{
			name: "nothing to deploy: NO_CHANGE",
			cfg:  monorepo("hello", ""),
			run: func(h *engineHarness) liftoff.Deployment {
				deployedHead(h)
				return h.deploy(liftoff.Deployment{})
			},
			status:   liftoff.StatusNoChange,
			services: map[string]liftoff.Status{"api": liftoff.StatusNoChange, "site": liftoff.StatusNoChange},
			released: []string{"api", "site"}, // by the first deployment only
		},
		{
			name:     "a buildCommand exits non-zero: BUILD_ERROR",
			cfg:      buildFails,
			status:   liftoff.StatusBuildError,
			errors:   []liftoff.ErrorEntry{{Status: liftoff.StatusBuildError, Message: `api: buildCommand "echo compiling; exit 3" exited with status 3`}},
			services: map[string]liftoff.Status{"api": liftoff.StatusBuildError, "site": liftoff.StatusSuccess},
			released: []string{"site"},
		},
		{
			name:     "exec-form commands: SUCCESS",
			cfg:      fmt.Sprintf(execForm, `["true"]`),
			status:   liftoff.StatusSuccess,
			services: map[string]liftoff.Status{"api": liftoff.StatusSuccess},
			released: []string{"api"},
		},
		{
			name:     "an exec-form postDeployCommand exits non-zero: DEPLOY_ERROR",
			cfg:      fmt.Sprintf(execForm, `["test", "$HOME", "=", "a b"]`),
			status:   liftoff.StatusDeployError,
			errors:   []liftoff.ErrorEntry{{Status: liftoff.StatusDeployError, Message: `api: postDeployCommand "test '$HOME' = 'a b'" exited with status 1`}},
			services: map[string]liftoff.Status{"api": liftoff.StatusDeployError},
			released: []string{"api"},
		},
		{
			name: "the target fails: DEPLOY_ERROR",
			cfg:  monorepo("hello", ""),
			run: func(h *engineHarness) liftoff.Deployment {
				h.tg.failWith("site", "health check failed: GET / answered 502")
				return h.deploy(liftoff.Deployment{})
			},
			status:   liftoff.StatusDeployError,
			errors:   []liftoff.ErrorEntry{{Status: liftoff.StatusDeployError, Message: "site: health check failed: GET / answered 502"}},
			services: map[string]liftoff.Status{"api": liftoff.StatusSuccess, "site": liftoff.StatusDeployError},
			released: []string{"api", "site"},
		},
		{
			name:     "a dependency fails: its dependents are CANCELLED",
			cfg:      dependsOnAPI,
			status:   liftoff.StatusBuildError,
			errors:   []liftoff.ErrorEntry{{Status: liftoff.StatusBuildError, Message: `api: buildCommand "exit 3" exited with status 3`}},
			services: map[string]liftoff.Status{"api": liftoff.StatusBuildError, "site": liftoff.StatusCancelled},
		},
		{
			name: "a user cancels it while it releases: CANCELLED",
			cfg:  monorepo("hello", ""),
			run: func(h *engineHarness) liftoff.Deployment {
				h.tg.holdRelease("api")
				h.tg.holdRelease("site")
				id := h.queue(liftoff.Deployment{})
				h.waitReleases("api", "site")
				if _, err := h.deployments().Cancel(h.ctx, id); err != nil {
					h.t.Fatal(err)
				}
				return h.wait(id)
			},
			status:   liftoff.StatusCancelled,
			errors:   []liftoff.ErrorEntry{{Status: liftoff.StatusCancelled, Message: "cancelled by a user"}},
			services: map[string]liftoff.Status{"api": liftoff.StatusCancelled, "site": liftoff.StatusCancelled},
			released: []string{"api", "site"},
		},
		{
			name: "the branch does not exist: ERROR",
			cfg:  monorepo("hello", ""),
			run: func(h *engineHarness) liftoff.Deployment {
				return h.deploy(liftoff.Deployment{GitBranch: "nope"})
			},
			status: liftoff.StatusError,
			errors: []liftoff.ErrorEntry{{Status: liftoff.StatusError, Message: "branch nope was not found in {repo}"}},
		},
		{
			name: "the config at the commit is not valid: ERROR",
			cfg:  monorepo("hello", ""),
			run: func(h *engineHarness) liftoff.Deployment {
				h.repo.Commit("oops", map[string]string{"liftoff.json": `{"environments": 3}`})
				return h.deploy(liftoff.Deployment{})
			},
			status: liftoff.StatusError,
			errors: []liftoff.ErrorEntry{{Status: liftoff.StatusError, Message: "liftoff.json at {head} is not valid: …"}},
		},
		{
			name:   "no service Liftoff runs: ERROR",
			cfg:    `{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [{"id": "db", "name": "DB", "type": "rds"}]}]}`,
			status: liftoff.StatusError,
			errors: []liftoff.ErrorEntry{{Status: liftoff.StatusError, Message: `environment "production" has no service Liftoff runs at {head}: db is rds (not run by Liftoff)`}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newEngineHarness(t, tc.cfg, monorepoFiles, newFakeTarget())
			var d liftoff.Deployment
			if tc.run != nil {
				d = tc.run(h)
			} else {
				d = h.deploy(liftoff.Deployment{})
			}
			if d.Status != tc.status {
				t.Errorf("deployment ended %s, want %s (errors %+v)", d.Status, tc.status, d.Errors)
			}
			if d.StartedAt.IsZero() || d.FinishedAt.IsZero() {
				t.Errorf("started %v, finished %v: want both", d.StartedAt, d.FinishedAt)
			}
			if len(d.Errors) != len(tc.errors) {
				t.Errorf("errors %+v, want %+v", d.Errors, tc.errors)
			}
			for i, want := range tc.errors {
				if i >= len(d.Errors) {
					break
				}
				want.Message = strings.NewReplacer("{repo}", h.repo.Dir, "{head}", short(h.repo.Head())).Replace(want.Message)
				got := d.Errors[i]
				prefix, cut := strings.CutSuffix(want.Message, "…")
				if got.Status != want.Status || (cut && !strings.HasPrefix(got.Message, prefix)) || (!cut && got.Message != want.Message) {
					t.Errorf("error %d = %+v, want %+v", i, got, want)
				}
			}
			if len(d.Services) != len(tc.services) {
				t.Errorf("%d service deployments, want %d: %+v", len(d.Services), len(tc.services), d.Services)
			}
			for given, want := range tc.services {
				sd := service(t, d, given)
				if sd.Status != want || sd.FinishedAt.IsZero() {
					t.Errorf("%s: %s finished %v, want %s finished", given, sd.Status, sd.FinishedAt, want)
				}
				if want == liftoff.StatusSuccess || want == liftoff.StatusBuildError || want == liftoff.StatusDeployError || want == liftoff.StatusCancelled {
					if (len(sd.Errors) == 0) != (want == liftoff.StatusSuccess) {
						t.Errorf("%s ended %s with errors %+v", given, sd.Status, sd.Errors)
					}
				}
			}
			var released []string
			for _, rel := range h.tg.released() {
				released = append(released, rel.Service.ID)
			}
			slices.Sort(released)
			if !slices.Equal(released, tc.released) {
				t.Errorf("the target was asked to release %v, want %v", released, tc.released)
			}
		})
	}
}

// waitReleases waits until the target is asked to release each of
// services.
func (h *engineHarness) waitReleases(services ...string) {
	h.t.Helper()
	timeout := time.After(30 * time.Second)
	for len(services) > 0 {
		select {
		case got := <-h.tg.started:
			services = slices.DeleteFunc(services, func(s string) bool { return s == got })
		case <-timeout:
			h.t.Fatalf("the target was not asked to release %v within 30s", services)
		}
	}
}

// TestRelease: what the target is asked to release: the service
// deployment's id, the instance, a checkout of the commit with its build
// output, host names, and the environment built from the config.
func TestRelease(t *testing.T) {
	t.Parallel()
	h := newEngineHarness(t, monorepo("hello", ""), monorepoFiles, newFakeTarget())
	d := h.deploy(liftoff.Deployment{})
	if d.Status != liftoff.StatusSuccess {
		t.Fatalf("deployment ended %s: %+v", d.Status, d.Errors)
	}
	rels := h.tg.released()
	if len(rels) != 2 {
		t.Fatalf("released %d services, want api and site", len(rels))
	}
	for _, rel := range rels {
		sd := service(t, d, rel.Service.ID)
		if rel.ID != sd.ID || rel.Instance.EnvironmentID != h.env.ID || rel.Instance.EnvGivenID != "production" || rel.Instance.PRNumber != 0 {
			t.Errorf("%s: release %s of %+v, want service deployment %s of production", rel.Service.ID, rel.ID, rel.Instance, sd.ID)
		}
		if b, err := os.ReadFile(filepath.Join(rel.Dir, "site", "index.html")); err != nil || string(b) != "<h1>v1</h1>" {
			t.Errorf("%s: the release's checkout holds %q, %v", rel.Service.ID, b, err)
		}
		if len(rel.Hosts) == 0 || sd.ServiceDomain != "http://"+rel.Hosts[0] {
			t.Errorf("%s: hosts %v, domain %q", rel.Service.ID, rel.Hosts, sd.ServiceDomain)
		}
		for _, kv := range []string{"LIFTOFF_GIT_COMMIT_SHA=" + d.GitCommit, "LIFTOFF_GIT_BRANCH=main", "LIFTOFF_DEPLOYMENT_ID=" + d.ID,
			"LIFTOFF_ENV_ID=production", "LIFTOFF_SERVICE_ID=" + rel.Service.ID, "LIFTOFF_URL=" + sd.ServiceDomain,
			"FC_URL=" + sd.ServiceDomain, "FC_GIT_COMMIT_SHA=" + d.GitCommit, "CI=true"} {
			if !slices.Contains(rel.Env, kv) {
				t.Errorf("%s: the release's environment lacks %s: %v", rel.Service.ID, kv, rel.Env)
			}
		}
		if got := slices.Contains(rel.Env, "GREETING=hello"); got != (rel.Service.ID == "api") {
			t.Errorf("%s: GREETING=hello in its environment: %v", rel.Service.ID, got)
		}
	}
}

// TestPlan: the service deployments a deployment records, in the config's
// order, services Liftoff does not run included, and the order of
// releases that dependsOn sets.
func TestPlan(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		services string
		rows     []string          // given id, status and reason of each row, in order
		released []string          // in order
		hosts    map[string]string // the first host name of a service's release
		// unordered: the services do not depend on each other, so they
		// release in any order.
		unordered bool
	}{
		{
			name: "services Liftoff does not run are listed, not deployed",
			services: `{"id": "db", "name": "DB", "type": "rds"},
  {"id": "api", "name": "API", "type": "worker", "startCommand": "./api"}`,
			rows: []string{
				"db NO_CHANGE not deployed: type rds does not run on Liftoff",
				"api SUCCESS no watchPaths: every change deploys it",
			},
			released: []string{"api"},
		},
		{
			name: "a Flightcontrol file: fargate types run, a Docker build and a service without its command are reported",
			services: `{"id": "app", "name": "App", "type": "web", "buildType": "docker", "dockerfilePath": "Dockerfile"},
  {"id": "Api-1-Aah3Lq", "name": "API", "type": "fargate", "buildType": "nixpacks", "startCommand": "./api"},
  {"id": "jobs", "name": "Jobs", "type": "fargate-worker", "startCommand": "./jobs"},
  {"id": "auto", "name": "Auto", "type": "fargate"}`,
			rows: []string{
				"app NO_CHANGE " + noContainerCLI,
				"Api-1-Aah3Lq SUCCESS no watchPaths: every change deploys it",
				"jobs SUCCESS no watchPaths: every change deploys it",
				`auto NO_CHANGE not deployed: it has no "startCommand": Liftoff runs a web service's own commands and does not detect ` +
					`them as Flightcontrol's nixpacks builds do; add "startCommand" (and "installCommand" and "buildCommand" if the service needs them)`,
			},
			released:  []string{"Api-1-Aah3Lq", "jobs"},
			hosts:     map[string]string{"Api-1-Aah3Lq": "api-1-aah3lq.production.localhost", "jobs": ""},
			unordered: true,
		},
		{
			name: "dependsOn releases dependencies first, whatever the config's order",
			services: `{"id": "web", "name": "Web", "type": "worker", "startCommand": "./web", "dependsOn": ["api"]},
  {"id": "api", "name": "API", "type": "worker", "startCommand": "./api", "dependsOn": ["jobs"]},
  {"id": "jobs", "name": "Jobs", "type": "worker", "startCommand": "./jobs"}`,
			rows: []string{
				"web SUCCESS no watchPaths: every change deploys it",
				"api SUCCESS no watchPaths: every change deploys it",
				"jobs SUCCESS no watchPaths: every change deploys it",
			},
			released: []string{"jobs", "api", "web"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := `{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [` + tc.services + `]}]}`
			h := newEngineHarness(t, cfg, nil, newFakeTarget())
			d := h.deploy(liftoff.Deployment{})
			var rows []string
			sorted := slices.SortedFunc(slices.Values(d.Services), func(a, b liftoff.ServiceDeployment) int { return a.Position - b.Position })
			for _, sd := range sorted {
				rows = append(rows, sd.ServiceGivenID+" "+string(sd.Status)+" "+sd.Reason)
			}
			if !slices.Equal(rows, tc.rows) {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(tc.rows, "\n"))
			}
			var released []string
			for _, rel := range h.tg.released() {
				released = append(released, rel.Service.ID)
			}
			if tc.unordered {
				slices.Sort(released)
			}
			if !slices.Equal(released, tc.released) {
				t.Errorf("released %v, want %v", released, tc.released)
			}
			for _, rel := range h.tg.released() {
				want, ok := tc.hosts[rel.Service.ID]
				got := ""
				if len(rel.Hosts) > 0 {
					got = rel.Hosts[0]
				}
				if ok && got != want {
					t.Errorf("%s answers at %q, want %q", rel.Service.ID, got, want)
				}
			}
		})
	}
}
