package job_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/job"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// cluster runs the services whose target is kubernetes, as
// *kube.Target does.
type cluster struct{}

func (cluster) Runs(svc config.Service) bool { return svc.Target.IsKubernetes() }

func (cluster) CronJob(svc config.Service, prNumber int, jobID string) (string, string) {
	return "shop", svc.ID + "-" + jobID
}

// scheduler stores a scheduler service with a successful release of
// target, whose job is "nightly", and returns the service's id.
func scheduler(t *testing.T, st store.Store, target string) string {
	t.Helper()
	ctx := context.Background()
	svc := config.Service{ID: "cron", Name: "Cron", Type: config.TypeScheduler, Target: config.Target{Type: target},
		Jobs: map[string]config.Job{"nightly": {StartCommand: config.Shell("node report.js"), Schedule: "0 3 * * *"}}}
	p, env, svcs := storetest.Services(t, st, svc)
	id := svcs[0].ID
	now := time.Now()
	d := liftoff.Deployment{ID: cuid.New(), ProjectID: p.ID, EnvironmentID: env.ID, RepoURL: p.RepoURL, GitBranch: "main",
		TriggerType: liftoff.TriggerAPI, Status: liftoff.StatusSuccess, CreatedAt: now, StartedAt: now, FinishedAt: now}
	if err := st.InsertDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertServiceDeployment(ctx, liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: id,
		ServiceGivenID: "cron", ServiceName: "Cron", ServiceType: config.TypeScheduler, Status: liftoff.StatusSuccess, StartedAt: now,
		FinishedAt: now, EnvironmentID: env.ID, Config: svc, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return id
}

// A manual run of a job whose scheduler runs on a Kubernetes cluster is
// refused, saying which CronJob to start instead: no node's engine runs
// those jobs, so the run would wait INITIALIZING forever. On the local
// target it is asked for.
func TestRunOnAClusterIsRefused(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, "sqlite")
	s := &job.Service{Store: st, NewID: cuid.New, Now: time.Now, Cluster: cluster{}}
	ctx := context.Background()

	onCluster := scheduler(t, st, config.TargetKubernetes)
	_, err := s.Run(ctx, onCluster, "nightly", 0, config.Command{})
	if fail.KindOf(err) != fail.Conflict || !strings.Contains(err.Error(), "kubectl create job --from=cronjob/cron-nightly -n shop") {
		t.Errorf("Run on a cluster = %v, want a conflict naming the CronJob", err)
	}
	runs, err := s.List(ctx, store.ListJobExecutionsParams{ServiceID: onCluster})
	if err != nil || len(runs) != 0 {
		t.Errorf("runs after a refusal: %d, %v", len(runs), err)
	}

	local := scheduler(t, st, config.TargetLocal)
	if x, err := s.Run(ctx, local, "nightly", 0, config.Command{}); err != nil || x.Status != liftoff.JobInitializing {
		t.Errorf("Run on the local target = %+v, %v", x, err)
	}
}
