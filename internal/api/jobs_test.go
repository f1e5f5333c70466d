package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// schedulerRelease gives environment env a scheduler service "cron" with a
// successful release whose jobs are "nightly" (on a schedule) and
// "byhand" (manual), as a deployment would leave it, and returns the
// service's id. No engine runs in these tests: runs stay INITIALIZING.
func (h *harness) schedulerRelease(env string) string {
	h.t.Helper()
	ctx := context.Background()
	svc := config.Service{ID: "cron", Name: "Cron", Type: config.TypeScheduler, Target: config.Target{Type: config.TargetLocal},
		Jobs: map[string]config.Job{
			"nightly": {StartCommand: config.Shell("node report.js"), Schedule: "0 3 * * *"},
			"byhand":  {StartCommand: config.Exec("node", "backfill.js"), Schedule: "manual"},
		}}
	svcs, err := h.store.EnsureServices(ctx, store.EnsureServicesParams{EnvironmentID: h.env[env], At: time.Now(), NewServiceID: cuid.New,
		Services: []store.ServiceSpec{{GivenID: "cron", Name: "Cron", Type: config.TypeScheduler, Config: svc}}})
	if err != nil {
		h.t.Fatal(err)
	}
	var id string
	for _, s := range svcs {
		if s.GivenID == "cron" {
			id = s.ID
		}
	}
	now := time.Now()
	d := liftoff.Deployment{ID: cuid.New(), ProjectID: h.project.ProjectID, EnvironmentID: h.env[env], RepoURL: "x", GitBranch: "main",
		TriggerType: liftoff.TriggerAPI, Status: liftoff.StatusSuccess, CreatedAt: now, StartedAt: now, FinishedAt: now}
	if err := h.store.InsertDeployment(ctx, d); err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.InsertServiceDeployment(ctx, liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: id,
		ServiceGivenID: "cron", ServiceName: "Cron", ServiceType: config.TypeScheduler, Status: liftoff.StatusSuccess, StartedAt: now,
		FinishedAt: now, EnvironmentID: h.env[env], Config: svc, BuildDir: h.t.TempDir(), CreatedAt: now}); err != nil {
		h.t.Fatal(err)
	}
	return id
}

func TestJobExecutionsAPI(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			cron := h.schedulerRelease("production")

			// The job's own command.
			created, err := h.c.RunJob(ctx, cron, "nightly", 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			x, err := h.c.JobExecution(ctx, created.JobExecutionID)
			if err != nil {
				t.Fatal(err)
			}
			if x.ID != created.JobExecutionID || x.Status != "INITIALIZING" || x.Trigger != "manual" || x.Job.GivenID != "nightly" ||
				x.Job.ID != cron+"/nightly" || x.StartCommand != "node report.js" || x.FinishedAt != nil || x.ExitCode != nil ||
				x.Error != nil || x.ScheduledAt != nil || x.EnvironmentID != h.env["production"] || x.PRNumber != nil {
				t.Fatalf("execution %+v", x)
			}
			// Another command, in either form.
			for _, cmd := range []any{"echo one", []string{"echo", "two"}} {
				created, err := h.c.RunJob(ctx, cron, "byhand", 0, cmd)
				if err != nil {
					t.Fatal(err)
				}
				x, err := h.c.JobExecution(ctx, created.JobExecutionID)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := json.Marshal(x.StartCommand)
				want, _ := json.Marshal(cmd)
				if string(got) != string(want) {
					t.Errorf("startCommand %s, want %s", got, want)
				}
			}
			list, err := h.c.JobExecutions(ctx, cron, "byhand", 0, 0)
			if err != nil || len(list) != 2 {
				t.Fatalf("listed %d: %v", len(list), err)
			}
			if out, err := h.c.JobExecutionLogs(ctx, created.JobExecutionID); err != nil || out != "" {
				t.Fatalf("logs of a run not started: %q %v", out, err)
			}

			// Refusals.
			bearer := http.Header{"Authorization": {"Bearer " + h.key}}
			for _, c := range []struct {
				name, path, body string
				status           int
				msg              string
			}{
				{"unknown service", "/v1/services/cnope/job/nightly/execution", "", 404, "Service not found"},
				{"unknown job", "/v1/services/" + cron + "/job/weekly/execution", "", 404, `has no job \"weekly\" in its current release`},
				{"a blank command", "/v1/services/" + cron + "/job/nightly/execution", `{"startCommand": "  "}`, 400, "startCommand must be"},
				{"an empty argv", "/v1/services/" + cron + "/job/nightly/execution", `{"startCommand": []}`, 400, "startCommand must be"},
				{"a number", "/v1/services/" + cron + "/job/nightly/execution", `{"startCommand": 3}`, 400, "startCommand must be"},
				{"an unknown field", "/v1/services/" + cron + "/job/nightly/execution", `{"command": "x"}`, 400, "unknown field"},
				{"a PR in a normal environment", "/v1/services/" + cron + "/job/nightly/execution?prNumber=3", "", 400, "leave prNumber out"},
				{"unknown execution", "/v1/job-executions/cnope", "", 404, "Job execution not found"},
			} {
				method := http.MethodPost
				if strings.HasPrefix(c.path, "/v1/job-executions/") {
					method = http.MethodGet
				}
				status, body := h.send(method, c.path, c.body, bearer)
				if status != c.status || !strings.Contains(body, c.msg) {
					t.Errorf("%s: %d %s, want %d %q", c.name, status, body, c.status, c.msg)
				}
			}
			// A web service has no jobs.
			env, err := h.c.Environment(ctx, h.env["production"])
			if err != nil {
				t.Fatal(err)
			}
			var api2 string
			for _, s := range env.Services {
				if s.ServiceGivenID == "api" {
					api2 = s.ServiceID
				}
			}
			if status, body := h.send(http.MethodPost, "/v1/services/"+api2+"/job/nightly/execution", "", bearer); status != 400 || !strings.Contains(body, "only scheduler services have jobs") {
				t.Errorf("a web service: %d %s", status, body)
			}
		})
	}
}
