package engine

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/testclock"
	"github.com/liftoffhq/liftoff/internal/token"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// jobStart is the clock when the scheduler deploys: half a minute past
// 10:00, so its first "* * * * *" time is 10:01.
var jobStart = time.Date(2026, 3, 10, 10, 0, 30, 0, time.UTC)

// minute is the time of the scheduler's n-th minute after 10:00.
func minute(n int) time.Time { return time.Date(2026, 3, 10, 10, n, 0, 0, time.UTC) }

const schedulerConfig = `{"environments": [{"id": "production", "source": {"branch": "main"},
  "envVariables": {"GREETING": "hello", "TOKEN": "%s"},
  "services": [
    {"id": "api", "type": "web", "startCommand": "serve"},
    {"id": "cron", "type": "scheduler", "basePath": "jobs", "buildCommand": "echo built > built.txt",
     "jobs": {
       "tick": {"startCommand": "echo tick $LIFTOFF_JOB_ID $GREETING $(cat built.txt) $TOKEN; echo $LIFTOFF_JOB_EXECUTION_ID >> runs.txt", "schedule": "* * * * *"},
       "slow": {"startCommand": "touch slow-started; until [ -e slow-go ]; do sleep 0.05; done", "schedule": "rate(1 minute)"},
       "hang": {"startCommand": ["sh", "-c", "sleep 60 & echo $! > hang.pid; wait"], "schedule": "cron(* * ? * * *)", "timeout": 0.01},
       "byhand": {"startCommand": "echo configured", "schedule": "manual"},
       "fails": {"startCommand": "echo oops; exit 3", "schedule": "manual"}
     }}
  ]}]}`

type jobHarness struct {
	*engineHarness
	clock *testclock.Clock
	dir   string // the scheduler's release, at its basePath
	sd    liftoff.ServiceDeployment
}

// newJobHarness deploys schedulerConfig at jobStart on an engine whose
// clock the test moves. Only the jobs in enabled keep their schedule; the
// others become manual, so that each test sees its own jobs run.
func newJobHarness(t *testing.T, secret string, enabled ...string) *jobHarness {
	t.Helper()
	text := strings.Replace(schedulerConfig, "%s", secret, 1)
	for _, job := range []string{"tick", "slow", "hang"} {
		if !slicesContains(enabled, job) {
			text = manualJob(text, job)
		}
	}
	clock := testclock.New(jobStart)
	h := newEngineHarness(t, text, map[string]string{"jobs/.keep": ""}, newFakeTarget(), func(d *Deps, c *Config) {
		d.Now = clock.Now
		c.Heartbeat = 50 * time.Millisecond
		c.JobPoll = time.Hour // ticks come from wake(), so that each is the test's
	})
	d := h.deploy(liftoff.Deployment{})
	if d.Status != liftoff.StatusSuccess {
		t.Fatalf("deployment ended %s: %+v", d.Status, d.Errors)
	}
	sd := service(t, d, "cron")
	for _, rel := range h.tg.released() {
		if rel.Service.ID == "cron" {
			t.Fatal("the scheduler was handed to the target: nothing should run between its jobs")
		}
	}
	return &jobHarness{engineHarness: h, clock: clock, sd: sd, dir: filepath.Join(sd.BuildDir, "jobs")}
}

func slicesContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// manualJob makes the schedule of job in text "manual".
func manualJob(text, job string) string {
	i := strings.Index(text, `"`+job+`": {`)
	j := i + strings.Index(text[i:], `"schedule": "`) + len(`"schedule": "`)
	k := j + strings.Index(text[j:], `"`)
	return text[:j] + "manual" + text[k:]
}

// at moves the clock and makes the engine look at its jobs.
func (h *jobHarness) at(t time.Time) {
	h.clock.Set(t)
	h.e.JobQueued()
}

// waitExecution polls the store until job has an execution for which done
// holds, and returns it.
func (h *jobHarness) waitExecution(job string, done func(liftoff.JobExecution) bool) liftoff.JobExecution {
	h.t.Helper()
	return waitJob(h.t, h.st, h.sd.ServiceID, job, done)
}

func waitJob(t *testing.T, st store.Store, serviceID, job string, done func(liftoff.JobExecution) bool) liftoff.JobExecution {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		list, err := st.ListJobExecutions(context.Background(), store.ListJobExecutionsParams{ServiceID: serviceID, JobID: job, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			if done(x) {
				return x
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: no such execution after 30s: %+v", job, list)
		}
		<-tick.C
	}
}

func final(x liftoff.JobExecution) bool { return x.Status.Final() }

// output is the stored output of an execution.
func (h *jobHarness) output(id string) string {
	h.t.Helper()
	lines, err := h.st.ListLogs(h.ctx, store.ListLogsParams{DeploymentID: id})
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

func TestJobRunsOnItsScheduleWithTheServiceEnvironment(t *testing.T) {
	t.Parallel()
	secret := token.New(token.APIKeyPrefix)
	h := newJobHarness(t, secret, "tick")
	// Before its time nothing runs.
	h.at(jobStart.Add(20 * time.Second))
	h.at(minute(1).Add(5 * time.Second))
	x := h.waitExecution("tick", final)
	if x.Status != liftoff.JobCompleted || x.ExitCode == nil || *x.ExitCode != 0 || x.Trigger != liftoff.JobTriggerSchedule ||
		!x.ScheduledAt.Equal(minute(1)) || x.ServiceDeploymentID != h.sd.ID || x.EnvironmentID != h.env.ID || x.ProjectID != h.p.ID {
		t.Fatalf("execution %+v", x)
	}
	out := h.output(x.ID)
	if !strings.Contains(out, "tick tick hello built lfk_[REDACTED]") {
		t.Errorf("output lacks the job's line with its environment:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("output shows the secret:\n%s", out)
	}
	// Looking again in the same minute runs nothing more; the next minute
	// runs again.
	h.at(minute(1).Add(40 * time.Second))
	h.at(minute(2).Add(time.Second))
	h.waitExecution("tick", func(x liftoff.JobExecution) bool { return x.ScheduledAt.Equal(minute(2)) && final(x) })
	list, err := h.st.ListJobExecutions(h.ctx, store.ListJobExecutionsParams{ServiceID: h.sd.ServiceID, JobID: "tick"})
	if err != nil || len(list) != 2 {
		t.Fatalf("%d executions, want 2: %v", len(list), err)
	}
	runs, err := os.ReadFile(filepath.Join(h.dir, "runs.txt"))
	if err != nil || strings.Count(string(runs), "\n") != 2 {
		t.Fatalf("runs.txt: %q %v", runs, err)
	}
	// A time long past (more than the missed window) is not run late.
	h.at(minute(9).Add(30 * time.Second))
	h.waitExecution("tick", func(x liftoff.JobExecution) bool { return x.ScheduledAt.Equal(minute(9)) && final(x) })
	list, _ = h.st.ListJobExecutions(h.ctx, store.ListJobExecutionsParams{ServiceID: h.sd.ServiceID, JobID: "tick"})
	if len(list) != 3 {
		t.Fatalf("%d executions after a gap, want 3 (minutes 3 to 8 are missed)", len(list))
	}
}

func TestJobOverlapIsSkipped(t *testing.T) {
	t.Parallel()
	h := newJobHarness(t, "x", "slow")
	h.at(minute(1).Add(time.Second))
	first := h.waitExecution("slow", func(x liftoff.JobExecution) bool { return x.Status == liftoff.JobInProgress })
	waitUntil(t, "the first run started", func() bool { _, err := os.Stat(filepath.Join(h.dir, "slow-started")); return err == nil })
	h.at(minute(2).Add(time.Second))
	skipped := h.waitExecution("slow", func(x liftoff.JobExecution) bool { return x.ScheduledAt.Equal(minute(2)) })
	if skipped.Status != liftoff.JobSkipped || !strings.Contains(skipped.Error, "was still going") || skipped.ExitCode != nil {
		t.Fatalf("the overlapping time: %+v", skipped)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "slow-go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	done := h.waitExecution("slow", func(x liftoff.JobExecution) bool { return x.ID == first.ID && final(x) })
	if done.Status != liftoff.JobCompleted {
		t.Fatalf("first run %+v", done)
	}
	// The job is free again.
	h.at(minute(3).Add(time.Second))
	third := h.waitExecution("slow", func(x liftoff.JobExecution) bool { return x.ScheduledAt.Equal(minute(3)) && final(x) })
	if third.Status != liftoff.JobCompleted {
		t.Fatalf("third run %+v", third)
	}
}

func TestJobTimeoutKillsItsProcesses(t *testing.T) {
	t.Parallel()
	h := newJobHarness(t, "x", "hang")
	h.at(minute(1).Add(time.Second))
	x := h.waitExecution("hang", final)
	if x.Status != liftoff.JobTimedOut || x.ExitCode != nil || !strings.Contains(x.Error, "passed its timeout of 600ms") {
		t.Fatalf("execution %+v", x)
	}
	b, err := os.ReadFile(filepath.Join(h.dir, "hang.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The background sleep was in the job's process group: it is gone
	// (steps.Run returns once the group has exited).
	waitUntil(t, "the job's child is gone", func() bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) })
	if out := h.output(x.ID); !strings.Contains(out, "TIMED_OUT") {
		t.Errorf("output does not say it timed out:\n%s", out)
	}
}

func TestManualJobRuns(t *testing.T) {
	t.Parallel()
	h := newJobHarness(t, "x")
	ask := func(job string, cmd config.Command) string {
		x := liftoff.JobExecution{ID: cuid.New(), ProjectID: h.p.ID, EnvironmentID: h.env.ID, ServiceID: h.sd.ServiceID, JobID: job,
			ServiceDeploymentID: h.sd.ID, Trigger: liftoff.JobTriggerManual, Status: liftoff.JobInitializing, CreatedAt: h.clock.Now(), Command: cmd}
		if err := h.st.InsertJobExecution(h.ctx, x); err != nil {
			t.Fatal(err)
		}
		h.e.JobQueued()
		return x.ID
	}
	byID := func(id string) func(liftoff.JobExecution) bool {
		return func(x liftoff.JobExecution) bool { return x.ID == id && final(x) }
	}
	configured := h.waitExecution("byhand", byID(ask("byhand", config.Shell("echo configured"))))
	override := h.waitExecution("byhand", byID(ask("byhand", config.Exec("echo", "overridden", "$GREETING"))))
	failed := h.waitExecution("fails", byID(ask("fails", config.Shell("echo oops; exit 3"))))
	gone := h.waitExecution("removed", byID(ask("removed", config.Shell("true"))))
	for _, c := range []struct {
		x      liftoff.JobExecution
		status liftoff.JobStatus
		code   int
		out    string
		err    string
	}{
		{configured, liftoff.JobCompleted, 0, "configured", ""},
		{override, liftoff.JobCompleted, 0, "overridden $GREETING", ""}, // exec form: no shell expands it
		{failed, liftoff.JobFailed, 3, "oops", `startCommand "echo oops; exit 3" exited with status 3`},
		{gone, liftoff.JobFailed, -1, "", `job "removed" is not in the service's current release`},
	} {
		code := -1
		if c.x.ExitCode != nil {
			code = *c.x.ExitCode
		}
		if c.x.Status != c.status || code != c.code || c.x.Error != c.err || c.x.Trigger != liftoff.JobTriggerManual || !c.x.ScheduledAt.IsZero() {
			t.Errorf("%s: %+v (exit %d), want %s exit %d %q", c.x.JobID, c.x, code, c.status, c.code, c.err)
		}
		if out := h.output(c.x.ID); !strings.Contains(out, c.out) {
			t.Errorf("%s: output lacks %q:\n%s", c.x.JobID, c.out, out)
		}
	}
}

// TestJobsRunOnceAcrossReplicas: two engines on one PostgreSQL database,
// with the same clock and builds, record and run each time once; a run
// whose node died stops blocking its job once its lease expires.
func TestJobsRunOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	url := storetest.DatabaseURL(t)
	ctx := context.Background()
	open := func() store.Store {
		s, err := postgres.Open(ctx, url, postgres.Options{Timeout: storetest.DatabaseTimeout})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	stA, stB := open(), open()
	cfg := manualJob(manualJob(strings.Replace(schedulerConfig, "%s", "x", 1), "slow"), "hang")
	r := gittest.New(t)
	r.Commit("init", map[string]string{"liftoff.json": cfg, "jobs/.keep": ""})
	repo := r.Dir
	p, err := stA.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: repo, ConfigPath: "liftoff.json",
		DefaultBranch: "main", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := stA.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main"}}})
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(jobStart)
	dataDir := t.TempDir() // shared: both nodes have the builds
	var logs syncBuffer
	keyFile := filepath.Join(t.TempDir(), "secret.key") // one key for the replicas, as they must share
	newEngine := func(st store.Store, node string) *Engine {
		log := slog.New(slog.NewTextHandler(&logs, nil)).With("node", node)
		vars, _, err := variables.Open(st, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(Deps{Store: st, Git: gitsource.NewManager(filepath.Join(t.TempDir(), "mirrors"), log, nil),
			Logs: newLogs(t, st, log), Local: newFakeTarget(), Log: log, NewID: cuid.New, Now: clock.Now, Variables: vars},
			Config{DataDir: dataDir, NodeID: node, Workers: 1, StopTimeout: 30 * time.Second,
				Heartbeat: 50 * time.Millisecond, Lease: 2 * time.Second, JobPoll: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Stop)
		return e
	}
	a, b := newEngine(stA, "node-a"), newEngine(stB, "node-b")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine logs:\n%s", &logs)
		}
	})
	d := liftoff.Deployment{ID: cuid.New(), ProjectID: p.ID, EnvironmentID: envs[0].ID, RepoURL: repo, GitBranch: "main",
		TriggerType: liftoff.TriggerAPI, Status: liftoff.StatusPending, CreatedAt: time.Now()}
	if err := stA.InsertDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	a.Queued()
	b.Queued()
	var sd liftoff.ServiceDeployment
	for deadline := time.Now().Add(30 * time.Second); ; {
		got, err := stA.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Final() {
			if got.Status != liftoff.StatusSuccess {
				t.Fatalf("deployment ended %s: %+v", got.Status, got.Errors)
			}
			sd = service(t, got, "cron")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deployment did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}

	const minutes = 6
	for n := 1; n <= minutes; n++ {
		clock.Set(minute(n).Add(time.Second))
		// Both look, in either order, as replicas do.
		a.JobQueued()
		b.JobQueued()
		waitJob(t, stB, sd.ServiceID, "tick", func(x liftoff.JobExecution) bool { return x.ScheduledAt.Equal(minute(n)) && final(x) })
	}
	list, err := stA.ListJobExecutions(ctx, store.ListJobExecutionsParams{ServiceID: sd.ServiceID, JobID: "tick", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != minutes {
		t.Fatalf("%d executions for %d times: %+v", len(list), minutes, list)
	}
	for _, x := range list {
		if x.Status != liftoff.JobCompleted {
			t.Errorf("execution %s at %s ended %s (%s)", x.ID, x.ScheduledAt, x.Status, x.Error)
		}
	}
	runs, err := os.ReadFile(filepath.Join(sd.BuildDir, "jobs", "runs.txt"))
	if err != nil || strings.Count(string(runs), "\n") != minutes {
		t.Fatalf("the command ran %d times for %d times: %q %v", strings.Count(string(runs), "\n"), minutes, runs, err)
	}

	// A node dies while running the job: its run stays IN_PROGRESS until
	// its lease expires, then ends FAILED and the job runs again.
	deadAt := minute(minutes + 1)
	dead, err := stA.ClaimScheduledJob(ctx, store.ClaimScheduledJobParams{Execution: liftoff.JobExecution{ID: cuid.New(), ProjectID: p.ID,
		EnvironmentID: envs[0].ID, ServiceID: sd.ServiceID, JobID: "tick", ServiceDeploymentID: sd.ID, ScheduledAt: deadAt,
		Command: config.Shell("true")}, Owner: "node-dead", At: deadAt, LeaseUntil: minute(minutes + 2).Add(30 * time.Second)})
	if err != nil || dead.Status != liftoff.JobInProgress {
		t.Fatalf("the dead node's run: %+v %v", dead, err)
	}
	clock.Set(minute(minutes + 2).Add(time.Second))
	a.JobQueued()
	b.JobQueued()
	skipped := waitJob(t, stA, sd.ServiceID, "tick", func(x liftoff.JobExecution) bool { return x.ScheduledAt.Equal(minute(minutes + 2)) })
	if skipped.Status != liftoff.JobSkipped {
		t.Fatalf("while the dead node's lease holds: %+v", skipped)
	}
	// Once its lease expires, the rescuers (every Lease/2) end it.
	clock.Set(minute(minutes + 2).Add(40 * time.Second))
	lost := waitJob(t, stA, sd.ServiceID, "tick", func(x liftoff.JobExecution) bool { return x.ID == dead.ID && final(x) })
	if lost.Status != liftoff.JobFailed || !strings.Contains(lost.Error, "stopped renewing its lease") {
		t.Fatalf("the dead node's run: %+v", lost)
	}
	clock.Set(minute(minutes + 3).Add(time.Second))
	a.JobQueued()
	b.JobQueued()
	again := waitJob(t, stA, sd.ServiceID, "tick", func(x liftoff.JobExecution) bool { return x.ScheduledAt.Equal(minute(minutes+3)) && final(x) })
	if again.Status != liftoff.JobCompleted {
		t.Fatalf("after the dead node: %+v", again)
	}
}

// waitUntil polls cond until it holds, or fails the test after 30s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: not yet %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestJobGetsTheServiceSecretsScrubbed: a run gets the variables and
// secrets set through the API as they are when it runs, as a restarted
// release would, and its output hides the secret values.
func TestJobGetsTheServiceSecretsScrubbed(t *testing.T) {
	t.Parallel()
	h := newJobHarness(t, "x")
	const value = "job-s3cret-9f1c2a"
	if _, err := h.vars.Set(h.ctx, variables.Scope{ProjectID: h.p.ID, EnvironmentID: h.env.ID},
		variables.Groups{SecretsManager: map[string]string{"API_SECRET": value}}); err != nil {
		t.Fatal(err)
	}
	x := liftoff.JobExecution{ID: cuid.New(), ProjectID: h.p.ID, EnvironmentID: h.env.ID, ServiceID: h.sd.ServiceID, JobID: "byhand",
		ServiceDeploymentID: h.sd.ID, Trigger: liftoff.JobTriggerManual, Status: liftoff.JobInitializing, CreatedAt: h.clock.Now(),
		Command: config.Shell(`test "$API_SECRET" = ` + value + ` && echo the secret is $API_SECRET; exit 4`)}
	if err := h.st.InsertJobExecution(h.ctx, x); err != nil {
		t.Fatal(err)
	}
	h.e.JobQueued()
	done := h.waitExecution("byhand", func(e liftoff.JobExecution) bool { return e.ID == x.ID && final(e) })
	if done.Status != liftoff.JobFailed || done.ExitCode == nil || *done.ExitCode != 4 {
		t.Fatalf("execution %+v", done)
	}
	out := h.output(x.ID)
	if !strings.Contains(out, "the secret is") {
		t.Errorf("the run did not get the secret:\n%s", out)
	}
	if strings.Contains(out, value) || strings.Contains(done.Error, value) {
		t.Errorf("the secret's value shows: %q\n%s", done.Error, out)
	}
}
