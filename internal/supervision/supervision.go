// Package supervision is what every replica knows of the releases the
// local target supervises: Recorder writes each change of a service
// instance's state and each restart to the store, on the node that runs
// the release; Service reads them back (on any replica) and reads a
// service's log, which only the node that runs it has. Of a service
// released to a Kubernetes cluster, Service reads the state of its pods
// and their logs from the cluster, on any replica.
package supervision

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/target/kube"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

const (
	// KeepRestarts is how many restarts the store keeps per service
	// instance, the newest.
	KeepRestarts = 20
	// recordTimeout bounds each write of the recorder: a slow store must
	// not hold a release's supervisor for long.
	recordTimeout = 5 * time.Second
)

// Recorder writes what the local target tells (local.Config.OnEvent) to
// the store. Events of releases without a ServiceRef (not deployed by the
// engine) are ignored.
type Recorder struct {
	Store  store.Store
	NodeID string
	Log    *slog.Logger
}

// Record stores ev: the instance's state and, for a restart, its record.
// A failure is logged: the release goes on whatever the store does.
func (r *Recorder) Record(ev local.Event) {
	if ev.ServiceRef == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	if rs := ev.Restart; rs != nil {
		rec := liftoff.ServiceRestart{ServiceID: ev.ServiceRef, PRNumber: ev.Instance.PRNumber, ReleaseID: ev.ReleaseID,
			At: rs.At, HealthCheck: rs.HealthCheck, Reason: rs.Reason, LastLines: rs.LastLines, State: string(rs.State)}
		if rs.ExitCode >= 0 {
			rec.ExitCode = new(rs.ExitCode)
		}
		if err := r.Store.RecordServiceRestart(ctx, store.RecordServiceRestartParams{Restart: rec, Keep: KeepRestarts}); err != nil {
			r.Log.Warn("record a restart", "service", ev.Service, "release", ev.ReleaseID, "err", err)
		}
	}
	st := liftoff.ServiceState{ServiceID: ev.ServiceRef, PRNumber: ev.Instance.PRNumber, ReleaseID: ev.ReleaseID,
		State: string(ev.State), Restarts: ev.Restarts, NodeID: r.NodeID, UpdatedAt: ev.At}
	if err := r.Store.PutServiceState(ctx, st); err != nil {
		r.Log.Warn("record a service's state", "service", ev.Service, "release", ev.ReleaseID, "err", err)
	}
}

// LogReader reads a service's log on this node: *local.Target.
type LogReader interface {
	ReadLog(ctx context.Context, inst target.Instance, service string, p local.ReadLogParams, emit func([]local.LogLine) error) error
}

// Cluster reads the pods and logs of the services released to a
// Kubernetes cluster: *kube.Target.
type Cluster interface {
	Runs(svc config.Service) bool
	Pods(ctx context.Context, inst target.Instance, svc config.Service, prNumber int) ([]kube.Pod, error)
	ReadLog(ctx context.Context, inst target.Instance, svc config.Service, since time.Time, follow bool, emit func([]kube.LogLine) error) error
}

// Service reads the runtime of services: their state, restarts and logs.
type Service struct {
	Store store.Store
	// Logs reads the logs of the releases this node runs.
	Reader LogReader
	// NodeID is this node's, to tell its releases from other nodes'.
	NodeID string
	// Cluster reads the services released to Kubernetes; nil: none is.
	Cluster Cluster
}

// Instance is the runtime of one service instance.
type Instance struct {
	State liftoff.ServiceState
	// Restarts are its last restarts, newest first.
	Restarts []liftoff.ServiceRestart
	// Pods are its pods, when it runs in a cluster.
	Pods []kube.Pod
}

// onCluster reports whether svc's releases run in the cluster.
func (s *Service) onCluster(svc liftoff.Service) bool {
	return s.Cluster != nil && s.Cluster.Runs(svc.Config)
}

// clusterInstances are the instances of a service released to the
// cluster, from its pods: of every instance (prNumber 0 in a preview
// environment), or of one.
func (s *Service) clusterInstances(ctx context.Context, svc liftoff.Service, env liftoff.Environment, prNumber int) ([]Instance, error) {
	inst := target.Instance{ProjectID: env.ProjectID, EnvironmentID: env.ID, EnvGivenID: env.GivenID}
	pr := prNumber
	if env.IsPreview && prNumber == 0 {
		pr = -1 // every preview's
	}
	pods, err := s.Cluster.Pods(ctx, inst, svc.Config, pr)
	if err != nil {
		return nil, fail.Newf(fail.Unavailable, "the cluster of service %s did not answer: %v", svc.GivenID, err)
	}
	var out []Instance
	byPR := map[int]int{}
	for _, p := range pods {
		i, ok := byPR[p.PR]
		if !ok {
			i = len(out)
			byPR[p.PR] = i
			out = append(out, Instance{State: liftoff.ServiceState{ServiceID: svc.ID, PRNumber: p.PR}})
		}
		in := &out[i]
		in.Pods = append(in.Pods, p)
		in.State.Restarts += p.Restarts
		if p.Created.After(in.State.UpdatedAt) {
			in.State.UpdatedAt, in.State.ReleaseID = p.Created, p.ReleaseID
		}
	}
	for i := range out {
		out[i].State.State = kube.State(out[i].Pods)
	}
	return out, nil
}

// View is a service with the runtime of its instances.
type View struct {
	Service     liftoff.Service
	Environment liftoff.Environment
	// Instances: the service's, or its pull request's with a prNumber;
	// none when nothing ran yet.
	Instances []Instance
}

// Get returns service id with its runtime: of every instance, or with
// prNumber > 0 of that pull request's only.
func (s *Service) Get(ctx context.Context, id string, prNumber int) (View, error) {
	svc, env, err := s.serviceOf(ctx, id, prNumber, false)
	if err != nil {
		return View{}, err
	}
	if s.onCluster(svc) {
		instances, err := s.clusterInstances(ctx, svc, env, prNumber)
		return View{Service: svc, Environment: env, Instances: instances}, err
	}
	states, err := s.Store.ListServiceStates(ctx, store.ListServiceStatesParams{ServiceID: id})
	if err != nil {
		return View{}, err
	}
	v := View{Service: svc, Environment: env}
	for _, st := range states {
		if prNumber > 0 && st.PRNumber != prNumber {
			continue
		}
		restarts, err := s.Store.ListServiceRestarts(ctx, store.ListServiceRestartsParams{ServiceID: id, PRNumber: st.PRNumber, Limit: KeepRestarts})
		if err != nil {
			return View{}, err
		}
		v.Instances = append(v.Instances, Instance{State: st, Restarts: restarts})
	}
	return v, nil
}

// States returns the state of each service of an environment with one
// (preview instances included), by service id. A service on a cluster
// that does not answer is ServiceUnknown.
func (s *Service) States(ctx context.Context, environmentID int64) (map[string][]liftoff.ServiceState, error) {
	states, err := s.Store.ListServiceStates(ctx, store.ListServiceStatesParams{EnvironmentID: environmentID})
	if err != nil {
		return nil, err
	}
	out := map[string][]liftoff.ServiceState{}
	for _, st := range states {
		out[st.ServiceID] = append(out[st.ServiceID], st)
	}
	if s.Cluster == nil {
		return out, nil
	}
	env, err := s.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: environmentID})
	if err != nil {
		return nil, err
	}
	services, err := s.Store.ListServices(ctx, store.ListServicesParams{EnvironmentID: environmentID})
	if err != nil {
		return nil, err
	}
	for _, svc := range services {
		if !s.onCluster(svc) {
			continue
		}
		instances, err := s.clusterInstances(ctx, svc, env, 0)
		delete(out, svc.ID)
		if err != nil {
			// One cluster that does not answer leaves the rest of the
			// environment readable; the service's own view says why.
			out[svc.ID] = []liftoff.ServiceState{{ServiceID: svc.ID, State: liftoff.ServiceUnknown}}
			continue
		}
		for _, in := range instances {
			out[svc.ID] = append(out[svc.ID], in.State)
		}
	}
	return out, nil
}

// LogsParams are the arguments of Logs.
type LogsParams struct {
	PRNumber int
	Since    time.Time
	Follow   bool
}

// Logs reads the log of service id (of pull request p.PRNumber's instance
// in a preview environment) and calls emit with its lines; see
// local.Target.ReadLog. The log is on the node that runs the release: on
// another node Logs fails Unavailable, naming it.
func (s *Service) Logs(ctx context.Context, id string, p LogsParams, emit func([]local.LogLine) error) error {
	svc, env, err := s.serviceOf(ctx, id, p.PRNumber, true)
	if err != nil {
		return err
	}
	if s.onCluster(svc) {
		inst := target.Instance{ProjectID: env.ProjectID, EnvironmentID: env.ID, EnvGivenID: env.GivenID, PRNumber: p.PRNumber}
		return s.Cluster.ReadLog(ctx, inst, svc.Config, p.Since, p.Follow, func(lines []kube.LogLine) error {
			out := make([]local.LogLine, len(lines))
			for i, l := range lines {
				// As a local release's log file is: scrubbed of
				// Liftoff's secrets (ReadLog scrubbed the service's).
				out[i] = local.LogLine{Time: l.Time, Text: "[" + l.Pod + "] " + redact.Secrets(l.Text)}
			}
			return emit(out)
		})
	}
	st, err := s.Store.GetServiceState(ctx, store.GetServiceStateParams{ServiceID: id, PRNumber: p.PRNumber})
	switch {
	case err == nil && st.NodeID != s.NodeID:
		return fail.Newf(fail.Unavailable, "the release of service %s runs on node %s, which has its log: ask the API of that node", svc.GivenID, st.NodeID)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	if s.Reader == nil {
		return fail.Newf(fail.NotFound, "service %s has no log on this node", svc.GivenID)
	}
	inst := target.Instance{ProjectID: env.ProjectID, EnvironmentID: env.ID, EnvGivenID: env.GivenID, PRNumber: p.PRNumber}
	err = s.Reader.ReadLog(ctx, inst, svc.GivenID, local.ReadLogParams{Since: p.Since, Follow: p.Follow}, emit)
	if errors.Is(err, local.ErrNoLog) {
		return fail.Newf(fail.NotFound, "service %s has no log on this node: it has not run here (only releases on the local target have one)", svc.GivenID)
	}
	return err
}

// serviceOf reads a service and its environment, and checks prNumber
// against it: required in a preview environment when needPR, refused in
// another.
func (s *Service) serviceOf(ctx context.Context, id string, prNumber int, needPR bool) (liftoff.Service, liftoff.Environment, error) {
	svc, err := s.Store.GetService(ctx, store.GetServiceParams{ID: id})
	if err != nil {
		return svc, liftoff.Environment{}, err
	}
	env, err := s.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: svc.EnvironmentID})
	if err != nil {
		return svc, env, err
	}
	switch {
	case prNumber < 0:
		return svc, env, fail.Invalidf("prNumber must be a positive pull request number")
	case env.IsPreview && needPR && prNumber == 0:
		return svc, env, fail.Invalidf("service %s is in preview environment %s: name the pull request (prNumber)", svc.GivenID, env.GivenID)
	case !env.IsPreview && prNumber != 0:
		return svc, env, fail.Invalidf("service %s is in environment %s, which has no previews: leave prNumber out", svc.GivenID, env.GivenID)
	}
	return svc, env, nil
}
