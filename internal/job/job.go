// Package job is the use case of scheduler services' jobs that every
// replica runs: asking for a run by hand (it waits INITIALIZING in the
// store until a node with the release's build claims it; see
// internal/engine/jobs.go) and reading runs and their output. Schedules
// are the engine's: nothing here runs a job.
package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Runner is this node's engine, when it runs one: told that a manual run
// was asked for, it claims it at once (others find it within a second).
type Runner interface {
	JobQueued()
}

// Cluster runs the jobs of the schedulers released to a Kubernetes
// cluster, as CronJobs: *kube.Target.
type Cluster interface {
	// Runs reports whether svc releases to the cluster.
	Runs(svc config.Service) bool
	// CronJob names the CronJob of a job of svc in the instance of PR
	// prNumber (0 outside previews).
	CronJob(svc config.Service, prNumber int, jobID string) (namespace, name string)
}

// Service asks for job runs and reads them.
type Service struct {
	Store store.Store
	NewID func() string
	Now   func() time.Time
	// Runner is nil on a replica without an engine.
	Runner Runner
	// Cluster is nil when Liftoff releases to no Kubernetes cluster.
	Cluster Cluster
}

// ServiceOf returns a live service, for the access check of a request
// naming it: store.ErrNotFound when there is none.
func (s *Service) ServiceOf(ctx context.Context, id string) (liftoff.Service, error) {
	return s.Store.GetService(ctx, store.GetServiceParams{ID: id})
}

// Run asks for a run of job jobID of scheduler service serviceID, in the
// preview instance of PR prNumber (0 for a normal environment), now,
// with its configured startCommand or command instead when command is not
// zero. The run waits INITIALIZING until an engine claims it, after the
// job's run in progress if there is one.
func (s *Service) Run(ctx context.Context, serviceID, jobID string, prNumber int, command config.Command) (liftoff.JobExecution, error) {
	svc, err := s.ServiceOf(ctx, serviceID)
	if err != nil {
		return liftoff.JobExecution{}, err
	}
	if svc.Type != config.TypeScheduler {
		return liftoff.JobExecution{}, fail.Invalidf("service %s (%s) is a %s service: only scheduler services have jobs", svc.ID, svc.GivenID, svc.Type)
	}
	if svc.Config.Target.Type == config.TargetCommand {
		return liftoff.JobExecution{}, fail.Conflictf("service %s (%s) releases to its deployCommand: Liftoff runs the jobs of schedulers on the local target only", svc.ID, svc.GivenID)
	}
	env, err := s.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: svc.EnvironmentID})
	if err != nil {
		return liftoff.JobExecution{}, err
	}
	var since time.Time
	switch {
	case env.IsPreview && prNumber <= 0:
		return liftoff.JobExecution{}, fail.Invalidf("service %s is in preview environment %s: name the pull request (prNumber)", svc.GivenID, env.GivenID)
	case !env.IsPreview && prNumber != 0:
		return liftoff.JobExecution{}, fail.Invalidf("service %s is in environment %s, which has no previews: leave prNumber out", svc.GivenID, env.GivenID)
	case env.IsPreview:
		inst, err := s.Store.GetPreviewInstance(ctx, store.GetPreviewInstanceParams{EnvironmentID: env.ID, PRNumber: prNumber})
		if errors.Is(err, store.ErrNotFound) || err == nil && inst.Deleted() {
			return liftoff.JobExecution{}, fail.Newf(fail.NotFound, "PR #%d has no preview of environment %s", prNumber, env.GivenID)
		}
		if err != nil {
			return liftoff.JobExecution{}, err
		}
		since = inst.CreatedAt
	}
	rel, err := s.Store.LastSuccess(ctx, store.LastSuccessParams{ServiceID: svc.ID, PRNumber: prNumber, Since: since})
	if errors.Is(err, store.ErrNotFound) {
		return liftoff.JobExecution{}, fail.Conflictf("service %s has no successful deployment yet: deploy it, then run its jobs", svc.GivenID)
	}
	if err != nil {
		return liftoff.JobExecution{}, err
	}
	job, ok := rel.Config.Jobs[jobID]
	if !ok {
		return liftoff.JobExecution{}, fail.Newf(fail.NotFound, "service %s has no job %q in its current release (jobs: %v)", svc.GivenID, jobID, rel.Config.JobIDs())
	}
	if s.Cluster != nil && s.Cluster.Runs(rel.Config) {
		ns, name := s.Cluster.CronJob(rel.Config, prNumber, jobID)
		return liftoff.JobExecution{}, fail.Conflictf("service %s (%s) runs on a Kubernetes cluster, which runs its jobs as CronJobs: "+
			"start a run of %s there (kubectl create job --from=cronjob/%s -n %s %s-manual-1)", svc.ID, svc.GivenID, jobID, name, ns, name)
	}
	if command.IsZero() {
		command = job.StartCommand
	} else if command.IsBlank() {
		return liftoff.JobExecution{}, fail.Invalidf("startCommand is blank: give a command, or leave it out to run the job's own")
	}
	x := liftoff.JobExecution{ID: s.NewID(), ProjectID: env.ProjectID, EnvironmentID: env.ID, PRNumber: prNumber, ServiceID: svc.ID,
		JobID: jobID, ServiceDeploymentID: rel.ID, Trigger: liftoff.JobTriggerManual, Command: command,
		Status: liftoff.JobInitializing, CreatedAt: s.Now()}
	if err := s.Store.InsertJobExecution(ctx, x); err != nil {
		return liftoff.JobExecution{}, fmt.Errorf("ask for a run of job %s: %w", jobID, err)
	}
	if s.Runner != nil {
		s.Runner.JobQueued()
	}
	return x, nil
}

// Get returns a run: store.ErrNotFound when there is none.
func (s *Service) Get(ctx context.Context, id string) (liftoff.JobExecution, error) {
	return s.Store.GetJobExecution(ctx, store.GetJobExecutionParams{ID: id})
}

// List returns a service instance's runs of one job ("" for all), newest
// first.
func (s *Service) List(ctx context.Context, p store.ListJobExecutionsParams) ([]liftoff.JobExecution, error) {
	return s.Store.ListJobExecutions(ctx, p)
}

// Logs returns a run's output after line afterID, at most limit lines.
func (s *Service) Logs(ctx context.Context, id string, afterID int64, limit int) ([]liftoff.LogLine, error) {
	return s.Store.ListLogs(ctx, store.ListLogsParams{DeploymentID: id, AfterID: afterID, Limit: limit})
}
