package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/testclock"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// dockerSchedulerConfig is a scheduler built from a Dockerfile: its jobs
// run in containers of the image, one with the image's CMD.
const dockerSchedulerConfig = `{"environments": [{"id": "production", "source": {"branch": "main"},
  "envVariables": {"GREETING": "hello"},
  "services": [
    {"id": "cron", "type": "scheduler", "buildType": "docker", "dockerfilePath": "cron/Dockerfile", "dockerContext": "cron",
     "jobs": {
       "tick": {"startCommand": "echo tick $LIFTOFF_JOB_ID $GREETING $FROM_IMAGE $(cat /job.txt) in $(pwd)", "schedule": "* * * * *"},
       "cmd": {"schedule": "manual"},
       "argv": {"startCommand": ["echo", "no", "$GREETING", "expanded"], "schedule": "manual"},
       "secret": {"startCommand": "echo the secret is $API_SECRET; exit 4", "schedule": "manual"},
       "hang": {"startCommand": "echo hanging; sleep 300", "schedule": "manual", "timeout": 0.05},
       "long": {"startCommand": "echo long; sleep 300", "schedule": "manual"}
     }}
  ]}]}`

// TestDockerSchedulerJobsRunInContainers: a scheduler built from a
// Dockerfile deploys its image and runs no container until a job does;
// each run is a one-off container of the image, with its startCommand (a
// shell line or an argv) or the image's CMD, the service's variables and
// secrets (scrubbed from its output), its exit code recorded; a run past
// its timeout is killed, TIMED_OUT; no container is left after a run;
// and the containers a previous run of the engine left are removed by
// the next start, but those of another engine are not.
func TestDockerSchedulerJobsRunInContainers(t *testing.T) {
	cli := containertest.CLI(t)
	run := cuid.New()
	files := map[string]string{
		"cron/Dockerfile": "FROM " + containertest.BaseImage + "\nCOPY job.txt /job.txt\nWORKDIR /work\nENV FROM_IMAGE=image-env\n" +
			`CMD ["/bin/sh", "-c", "echo the image CMD runs with $GREETING"]` + "\n",
		// A context of its own: no layer shared with another test's build.
		"cron/job.txt": "built-" + run,
	}
	clock := testclock.New(jobStart)
	h := newEngineHarness(t, dockerSchedulerConfig, files, newFakeTarget(), func(d *Deps, c *Config) {
		d.Containers, d.Now = cli, clock.Now
		c.Heartbeat = 50 * time.Millisecond
		c.JobPoll = time.Hour // ticks come from JobQueued, so that each is the test's
	})
	containertest.Cleanup(t, cli, LabelProject, h.p.ID)
	const secret = "ctr-job-s3cret-71ab"
	if _, err := h.vars.Set(h.ctx, variables.Scope{ProjectID: h.p.ID, EnvironmentID: h.env.ID},
		variables.Groups{SecretsManager: map[string]string{"API_SECRET": secret}}); err != nil {
		t.Fatal(err)
	}
	d := h.deploy(liftoff.Deployment{})
	if d.Status != liftoff.StatusSuccess {
		t.Fatalf("deployment ended %s: %+v\n%s", d.Status, d.Errors, logText(t, h, d.ID))
	}
	sd := service(t, d, "cron")
	if !strings.HasPrefix(sd.Image, "localhost/liftoff/") {
		t.Fatalf("the scheduler recorded the image %q", sd.Image)
	}
	if text := logText(t, h, d.ID); !strings.Contains(text, "its jobs (argv, cmd, hang, long, secret, tick) run in containers of "+sd.Image) {
		t.Errorf("the deployment log does not say where the jobs run:\n%s", text)
	}
	if len(h.tg.released()) != 0 {
		t.Fatal("the scheduler was handed to the target: nothing should run between its jobs")
	}
	jobs := &jobHarness{engineHarness: h, clock: clock, sd: sd}

	// On its schedule.
	jobs.at(minute(1).Add(time.Second))
	tick := waitContainerJob(t, h, sd.ServiceID, "tick", "")
	ask := func(job string) liftoff.JobExecution {
		x := liftoff.JobExecution{ID: cuid.New(), ProjectID: h.p.ID, EnvironmentID: h.env.ID, ServiceID: sd.ServiceID, JobID: job,
			ServiceDeploymentID: sd.ID, Trigger: liftoff.JobTriggerManual, Status: liftoff.JobInitializing, CreatedAt: clock.Now(),
			Command: sd.Config.Jobs[job].StartCommand} // as package job asks for it
		if err := h.st.InsertJobExecution(h.ctx, x); err != nil {
			t.Fatal(err)
		}
		h.e.JobQueued()
		return waitContainerJob(t, h, sd.ServiceID, job, x.ID)
	}
	for _, c := range []struct {
		x      liftoff.JobExecution
		status liftoff.JobStatus
		code   int
		out    string
		err    string
	}{
		{tick, liftoff.JobCompleted, 0, "tick tick hello image-env built-" + run + " in /work", ""},
		{ask("cmd"), liftoff.JobCompleted, 0, "the image CMD runs with hello", ""},
		{ask("argv"), liftoff.JobCompleted, 0, "no $GREETING expanded", ""},
		{ask("secret"), liftoff.JobFailed, 4, "the secret is [REDACTED]", `startCommand "echo the secret is $API_SECRET; exit 4" exited with status 4 in a container of ` + sd.Image},
		// Killed after 3s: whether it printed before depends on how fast
		// its container started.
		{ask("hang"), liftoff.JobTimedOut, -1, "", "the run passed its timeout of 3s: its container was killed"},
	} {
		code := -1
		if c.x.ExitCode != nil {
			code = *c.x.ExitCode
		}
		if c.x.Status != c.status || code != c.code || c.x.Error != c.err {
			t.Errorf("%s: %s exit %d %q, want %s exit %d %q", c.x.JobID, c.x.Status, code, c.x.Error, c.status, c.code, c.err)
		}
		out := jobs.output(c.x.ID)
		if !strings.Contains(out, c.out) || !strings.Contains(out, "in a container of "+sd.Image) {
			t.Errorf("%s: output lacks %q:\n%s", c.x.JobID, c.out, out)
		}
		if strings.Contains(out, secret) {
			t.Errorf("%s: output shows the secret:\n%s", c.x.JobID, out)
		}
	}
	ctx := context.Background()
	if left, err := cli.List(ctx, map[string]string{LabelProject: h.p.ID}); err != nil || len(left) != 0 {
		t.Errorf("containers left after the runs: %+v, %v", left, err)
	}

	// A run that goes on: a restart of another engine leaves it, a
	// restart of this one (its node, its data) removes it.
	long := liftoff.JobExecution{ID: cuid.New(), ProjectID: h.p.ID, EnvironmentID: h.env.ID, ServiceID: sd.ServiceID, JobID: "long",
		ServiceDeploymentID: sd.ID, Trigger: liftoff.JobTriggerManual, Status: liftoff.JobInitializing, CreatedAt: clock.Now(),
		Command: config.Shell("echo long; sleep 300")}
	if err := h.st.InsertJobExecution(h.ctx, long); err != nil {
		t.Fatal(err)
	}
	h.e.JobQueued()
	byRun := map[string]string{LabelJobExecution: long.ID}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if cs, err := cli.List(ctx, byRun); err == nil && len(cs) == 1 && cs[0].Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the long run's container did not run within 3 minutes")
		}
	}
	cs, _ := cli.List(ctx, byRun)
	if l := cs[0].Labels; l[LabelOneOff] != "job" || l[LabelProject] != h.p.ID || l[LabelServiceDeployment] != sd.ID || l[LabelEngine] != h.e.engineID() {
		t.Errorf("the job's container is labelled %v", l)
	}
	restarted := func(dataDir string) *Engine {
		e, err := New(Deps{Store: h.st, Git: h.e.Git, Logs: h.e.Logs, Local: h.tg, Log: h.e.Log, NewID: cuid.New, Variables: h.vars,
			Containers: cli}, Config{DataDir: dataDir, NodeID: "node-a", Workers: 1, StopTimeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	restarted(t.TempDir()).removeOneOffs(ctx)
	if cs, err := cli.List(ctx, byRun); err != nil || len(cs) != 1 {
		t.Fatalf("another engine's start touched the run's container: %+v, %v", cs, err)
	}
	restarted(h.e.cfg.DataDir).removeOneOffs(ctx)
	if cs, err := cli.List(ctx, byRun); err != nil || len(cs) != 0 {
		t.Fatalf("a restart left the run's container: %+v, %v", cs, err)
	}
	ended := waitContainerJob(t, h, sd.ServiceID, "long", long.ID)
	if ended.Status != liftoff.JobFailed {
		t.Errorf("the run whose container was removed ended %s", ended.Status)
	}
}

// waitContainerJob waits for the run id of job (any run when id is "")
// to end, for up to 3 minutes: a container may be slow to start on a
// busy host.
func waitContainerJob(t *testing.T, h *engineHarness, serviceID, job, id string) liftoff.JobExecution {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		list, err := h.st.ListJobExecutions(h.ctx, store.ListJobExecutionsParams{ServiceID: serviceID, JobID: job, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			if (id == "" || x.ID == id) && x.Status.Final() {
				return x
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: no finished run after 3 minutes: %+v", job, list)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
