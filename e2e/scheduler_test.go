package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

// schedulerFile is a flightcontrol.json with a web service and, beside
// it, a scheduler with two jobs: one every minute, one run by hand.
func schedulerFile() string {
	return `{"$schema": "https://app.flightcontrol.dev/schema.json", "environments": [{
  "id": "production", "name": "Production", "region": "us-east-1", "source": {"branch": "main"},
  "envVariables": {"GREETING": "hello"},
  "services": [
    {"id": "api", "name": "API", "type": "fargate", "basePath": "api", "startCommand": "` + webserver + `", "healthCheckPath": "/health"},
    {"id": "cron", "name": "Cron", "type": "scheduler", "cpu": 0.25, "memory": 0.5, "basePath": "cron",
     "buildCommand": "echo built > built.txt",
     "jobs": {
       "every-minute": {"startCommand": "echo tick $GREETING $(cat built.txt)", "schedule": "* * * * *", "cpu": 0.25},
       "by-hand": {"startCommand": ["sh", "-c", "echo by hand $LIFTOFF_JOB_ID"], "schedule": "manual", "timeout": 5}
     }}
  ]
}]}`
}

// TestSchedulerJobsRun: a scheduler deploys beside a web service without
// running anything; its job runs by hand through the API and by itself on
// its schedule (the next minute: this test waits for a real one), each run
// recorded with its status, exit code and output.
func TestSchedulerJobsRun(t *testing.T) {
	t.Parallel()
	f := &fixture{t: t, logs: &logLines{}}
	f.flags = storeFlags(t, "sqlite", t.TempDir())
	f.key = bootstrapKey(t, f.flags)
	f.start()
	f.repo = gittest.New(t)
	f.repo.Commit("init", map[string]string{
		"flightcontrol.json": schedulerFile(),
		"api/version.txt":    "api",
		"cron/.keep":         "",
	})
	ctx := context.Background()
	var err error
	if f.project, err = f.c.CreateProject(ctx, "sched", f.repo.Dir, ""); err != nil {
		t.Fatal(err)
	}
	if f.hook, err = f.c.CreateHook(ctx, f.project.Environments[0].EnvironmentID, "CI"); err != nil {
		t.Fatal(err)
	}
	d := f.wait(f.call(""))
	if d.Status != "SUCCESS" {
		t.Fatalf("deployment ended %s %+v", d.Status, d.Error)
	}
	cron := service(t, d, "cron")
	if cron.Status != "SUCCESS" || cron.Service.Type != "scheduler" || cron.Service.ServiceID == "" {
		t.Fatalf("scheduler: %+v", cron)
	}
	if status, body := f.getHost("api.production.localhost", "/"); status != 200 || !strings.Contains(body, "api") {
		t.Errorf("the web service answers %d %q", status, body)
	}
	svc := cron.Service.ServiceID

	// By hand, through the API.
	created, err := f.c.RunJob(ctx, svc, "by-hand", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	manual := waitRun(t, func() (client.JobExecution, bool) {
		x, err := f.c.JobExecution(ctx, created.JobExecutionID)
		if err != nil {
			t.Fatal(err)
		}
		return x, isJobFinal(x.Status)
	})
	if manual.Status != "COMPLETED" || manual.ExitCode == nil || *manual.ExitCode != 0 || manual.Trigger != "manual" || manual.FinishedAt == nil {
		t.Fatalf("manual run: %+v", manual)
	}
	if out, err := f.c.JobExecutionLogs(ctx, manual.ID); err != nil || !strings.Contains(out, "by hand by-hand") {
		t.Fatalf("manual run's output: %q %v", out, err)
	}

	// On its schedule.
	scheduled := waitRun(t, func() (client.JobExecution, bool) {
		xs, err := f.c.JobExecutions(ctx, svc, "every-minute", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range xs {
			if isJobFinal(x.Status) {
				return x, true
			}
		}
		return client.JobExecution{}, false
	})
	if scheduled.Status != "COMPLETED" || scheduled.Trigger != "schedule" || scheduled.ScheduledAt == nil ||
		!strings.HasSuffix(*scheduled.ScheduledAt, ":00.000Z") || scheduled.ExitCode == nil || *scheduled.ExitCode != 0 {
		t.Fatalf("scheduled run: %+v", scheduled)
	}
	if out, err := f.c.JobExecutionLogs(ctx, scheduled.ID); err != nil || !strings.Contains(out, "tick hello built") {
		t.Fatalf("scheduled run's output: %q %v", out, err)
	}
}

func isJobFinal(status string) bool {
	switch status {
	case "COMPLETED", "FAILED", "TIMED_OUT", "SKIPPED":
		return true
	}
	return false
}

// waitRun polls until get reports a run done; a scheduled run needs up
// to a minute for its time to come.
func waitRun(t *testing.T, get func() (client.JobExecution, bool)) client.JobExecution {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		x, ok := get()
		if ok {
			return x
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished run after 2 minutes: %+v", x)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
