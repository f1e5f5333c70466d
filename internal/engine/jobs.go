package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/steps"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
)

// The jobs of scheduler services. A scheduler's release is its build (or
// its image): nothing runs until one of its jobs does. Every JobPoll the node looks at
// the current release of every scheduler service whose build it has, and
// for each job whose time came since the last look (within
// JobMissedWindow) records that time in the store. The store records a
// time once across replicas (a unique key), as a run IN_PROGRESS leased to
// the node that recorded it, or SKIPPED when the job's previous run still
// goes on; the node that recorded a run runs it, renewing its lease, so a
// run whose node died ends FAILED (the rescuer) and frees the job. Manual
// runs, asked for through the API on any node, wait INITIALIZING until a
// node with the build claims them.

// errJobLost stops a run whose lease another node ended.
var errJobLost = errors.New("interrupted: this node lost the run's lease (it was too long without a heartbeat)")

// jobKey names a job of a service instance.
type jobKey struct {
	service string
	pr      int
	job     string
}

// isJobRelease reports whether a service's release is its build, whose
// jobs this engine runs: a scheduler on the local target. (On the command
// target the release is handed to deployCommand like any other; on a
// cluster its jobs are CronJobs.)
func (e *Engine) isJobRelease(s config.Service) bool {
	return s.Type == config.TypeScheduler && s.Target.Type != config.TargetCommand && !e.onKube(s)
}

// JobQueued wakes the job loop: a manual run was asked for on this node.
func (e *Engine) JobQueued() {
	select {
	case e.jobWake <- struct{}{}:
	default:
	}
}

// jobLoop records and runs the jobs whose time came, and the manual runs
// asked for, until Stop.
func (e *Engine) jobLoop() {
	defer e.wg.Done()
	recorded := map[jobKey]time.Time{}
	for !e.stopping() {
		e.jobTick(recorded)
		select {
		case <-e.stop:
			return
		case <-e.jobWake:
		case <-time.After(e.cfg.JobPoll):
		}
	}
}

// jobTick records the times that came and starts the runs this node
// claimed. recorded remembers, per job, the last time this node asked the
// store to record, so that each time costs one write per node.
func (e *Engine) jobTick(recorded map[jobKey]time.Time) {
	ctx := e.runCtx
	rels, err := e.jobReleases(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.Log.Error("list scheduler releases", "err", err)
		}
		return
	}
	now := e.now()
	seen := make(map[jobKey]bool)
	for _, sd := range rels {
		for _, id := range sd.Config.JobIDs() {
			key := jobKey{service: sd.ServiceID, pr: sd.PRNumber, job: id}
			seen[key] = true
			job := sd.Config.Jobs[id]
			sched, err := config.ParseSchedule(job.Schedule, job.Timezone)
			if err != nil || sched.Manual() {
				continue // the config was validated: an error is a newer Liftoff's form
			}
			// Not before the release was made: its jobs did not exist then.
			from := now.Add(-e.cfg.JobMissedWindow)
			if sd.FinishedAt.After(from) {
				from = sd.FinishedAt
			}
			at, ok := sched.Latest(from, now)
			if !ok || !recorded[key].Before(at) {
				continue
			}
			recorded[key] = at
			e.recordJobTime(ctx, sd, id, job, at)
		}
	}
	for key := range recorded {
		if !seen[key] {
			delete(recorded, key)
		}
	}
	e.claimManualRuns(ctx, rels)
}

// jobReleases are the current releases of the scheduler services whose
// builds this node has.
func (e *Engine) jobReleases(ctx context.Context) ([]liftoff.ServiceDeployment, error) {
	live, err := e.Store.LiveReleases(ctx)
	if err != nil {
		return nil, err
	}
	var out []liftoff.ServiceDeployment
	for _, sd := range live {
		if !e.isJobRelease(sd.Config) {
			continue
		}
		if info, err := os.Stat(sd.BuildDir); err != nil || !info.IsDir() {
			continue // built on another node
		}
		out = append(out, sd)
	}
	return out, nil
}

// recordJobTime records a job's time and runs it when this node won it.
func (e *Engine) recordJobTime(ctx context.Context, sd liftoff.ServiceDeployment, id string, job config.Job, at time.Time) {
	rel, projectID, err := e.jobRelease(ctx, sd)
	if err != nil {
		e.Log.Error("prepare a job's run", "service_deployment_id", sd.ID, "job", id, "err", err)
		return
	}
	now := e.now()
	x, err := e.Store.ClaimScheduledJob(ctx, store.ClaimScheduledJobParams{
		Execution: liftoff.JobExecution{ID: e.NewID(), ProjectID: projectID, EnvironmentID: sd.EnvironmentID, PRNumber: sd.PRNumber,
			ServiceID: sd.ServiceID, JobID: id, ServiceDeploymentID: sd.ID, ScheduledAt: at, Command: job.StartCommand},
		Owner: e.cfg.NodeID, At: now, LeaseUntil: now.Add(e.cfg.Lease),
		SkipMessage: fmt.Sprintf("skipped: the run of %s before it was still going at %s", id, at.UTC().Format(time.RFC3339)),
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return // another node recorded it
	case err != nil:
		if ctx.Err() == nil {
			e.Log.Error("record a job's time", "service_id", sd.ServiceID, "job", id, "at", at, "err", err)
		}
		return
	case x.Status == liftoff.JobSkipped:
		e.Log.Warn("job skipped: its previous run is still going", "job_execution_id", x.ID, "service_id", sd.ServiceID, "job", id, "at", at)
		return
	}
	e.startJob(x, rel, job.TimeoutDuration())
}

// claimManualRuns starts the manual runs of rels' services that wait.
func (e *Engine) claimManualRuns(ctx context.Context, rels []liftoff.ServiceDeployment) {
	if len(rels) == 0 {
		return
	}
	byID := make(map[string]liftoff.ServiceDeployment, len(rels))
	releases := make([]store.JobRelease, 0, len(rels))
	for _, sd := range rels {
		byID[sd.ID] = sd
		releases = append(releases, store.JobRelease{ServiceID: sd.ServiceID, PRNumber: sd.PRNumber, ServiceDeploymentID: sd.ID})
	}
	for !e.stopping() {
		now := e.now()
		x, err := e.Store.ClaimJobExecution(ctx, store.ClaimJobExecutionParams{Owner: e.cfg.NodeID, At: now,
			LeaseUntil: now.Add(e.cfg.Lease), Releases: releases})
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				e.Log.Error("claim a manual job run", "err", err)
			}
			return
		}
		sd := byID[x.ServiceDeploymentID]
		job, ok := sd.Config.Jobs[x.JobID]
		if !ok {
			e.finishJob(ctx, x, liftoff.JobFailed, nil, fmt.Sprintf("job %q is not in the service's current release", x.JobID))
			continue
		}
		rel, _, err := e.jobRelease(ctx, sd)
		if err != nil {
			e.Log.Error("prepare a job's run", "job_execution_id", x.ID, "err", err)
			e.finishJob(ctx, x, liftoff.JobFailed, nil, "could not prepare the run: "+redact.Secrets(err.Error()))
			continue
		}
		e.startJob(x, rel, job.TimeoutDuration())
	}
}

// jobRelease is the release a job runs in, with the service's
// environment, and its project.
func (e *Engine) jobRelease(ctx context.Context, sd liftoff.ServiceDeployment) (target.Release, string, error) {
	rel, err := e.releaseOf(ctx, sd)
	if err != nil {
		return target.Release{}, "", err
	}
	return rel, rel.Instance.ProjectID, nil
}

// startJob runs a claimed execution in the background; Stop waits for it
// as for a deployment.
func (e *Engine) startJob(x liftoff.JobExecution, rel target.Release, timeout time.Duration) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.runJob(x, rel, timeout)
	}()
}

// runJob runs an execution's command in its release, with its service's
// environment, under its lease and its timeout, and records how it
// ended: in the sandbox, or in a one-off container of the release's image
// for a service built from a Dockerfile or a containerImage. Its output
// is stored as a deployment's is, under the execution's id, scrubbed of
// secrets.
func (e *Engine) runJob(x liftoff.JobExecution, rel target.Release, timeout time.Duration) {
	ctx, cancel := context.WithCancelCause(e.runCtx)
	defer cancel(nil)
	hb := make(chan struct{})
	go func() { defer close(hb); e.jobHeartbeat(ctx, x.ID, cancel) }()

	log := e.Logs.Writer(x.ID, "")
	log.Scrub(rel.Scrub) // the service's secret values, as in its deployments
	when := "asked for"
	if x.Trigger == liftoff.JobTriggerSchedule {
		when = "due at " + x.ScheduledAt.UTC().Format(time.RFC3339)
	}
	env := append(append([]string(nil), rel.Env...), "LIFTOFF_JOB_ID="+x.JobID, "LIFTOFF_JOB_EXECUTION_ID="+x.ID)
	var status liftoff.JobStatus
	var code *int
	var msg string
	if rel.Image != "" {
		log.Printf("==> Running job %s of %s (%s) in a container of %s (release %s)", x.JobID, rel.Service.ID, when, rel.Image, rel.ID)
		status, code, msg = e.runJobContainer(ctx, x, rel, env, timeout, log)
	} else {
		log.Printf("==> Running job %s of %s (%s) in release %s", x.JobID, rel.Service.ID, when, rel.ID)
		err := steps.Run(ctx, steps.Spec{Dir: rel.Dir, Root: rel.Root, Sandbox: e.Sandbox, Home: rel.Home, Env: env,
			Steps: []steps.Step{{Name: "startCommand", Command: x.Command.String(), Args: x.Command.Args}}, Timeout: timeout, Output: log})
		status, code, msg = jobOutcome(ctx, err)
	}
	msg = rel.Scrub.String(msg)
	if msg != "" {
		log.Printf("==> %s: %s", status, msg)
	} else {
		log.Printf("==> %s", status)
	}
	_ = log.Close()
	cancel(nil)
	<-hb
	e.Logs.Flush(context.WithoutCancel(ctx))
	e.finishJob(context.WithoutCancel(ctx), x, status, code, msg)
	e.Log.Info("job run finished", "job_execution_id", x.ID, "job", x.JobID, "status", status)
	e.JobQueued() // a manual run may have waited for this one
}

// finishJob records the end of a run this node holds.
func (e *Engine) finishJob(ctx context.Context, x liftoff.JobExecution, status liftoff.JobStatus, code *int, msg string) {
	ok, err := e.Store.FinishJobExecution(ctx, store.FinishJobExecutionParams{ID: x.ID, Owner: e.cfg.NodeID, Status: status,
		ExitCode: code, Error: msg, At: e.now()})
	if err != nil || !ok {
		e.Log.Error("finish job execution", "job_execution_id", x.ID, "status", status, "finished", ok, "err", err)
	}
}

// jobOutcome is how a run ended: its status, exit code and the sentence
// saying why it did not complete.
func jobOutcome(ctx context.Context, err error) (liftoff.JobStatus, *int, string) {
	if err == nil {
		zero := 0
		return liftoff.JobCompleted, &zero, ""
	}
	var se *steps.StepError
	switch {
	case errors.As(err, &se) && se.TimedOut:
		return liftoff.JobTimedOut, nil, fmt.Sprintf("the run passed its timeout of %v: its processes were killed", se.Timeout)
	case ctx.Err() != nil:
		cause := context.Cause(ctx)
		if cause == nil || errors.Is(cause, context.Canceled) {
			cause = errShutdown
		}
		return liftoff.JobFailed, nil, cause.Error()
	case errors.As(err, &se) && se.ExitCode >= 0:
		code := se.ExitCode
		return liftoff.JobFailed, &code, redact.Secrets(se.Error())
	}
	return liftoff.JobFailed, nil, redact.Secrets(err.Error())
}

// jobHeartbeat renews a run's lease until ctx ends, and stops the run
// when the lease is lost (another node then ended it FAILED).
func (e *Engine) jobHeartbeat(ctx context.Context, id string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(e.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := e.Store.RenewJobLease(ctx, store.RenewJobLeaseParams{ID: id, Owner: e.cfg.NodeID, Until: e.now().Add(e.cfg.Lease)})
		switch {
		case errors.Is(err, store.ErrNotFound):
			cancel(errJobLost)
			return
		case err != nil && ctx.Err() == nil:
			e.Log.Warn("renew job execution lease", "job_execution_id", id, "err", err)
		}
	}
}
