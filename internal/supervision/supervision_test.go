package supervision_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/supervision"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/target/kube"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

// cluster runs every service whose target is kubernetes; its pods print
// lines.
type cluster struct {
	lines   []string
	podsErr error // Pods fails with it, as a cluster that does not answer
}

func (cluster) Runs(svc config.Service) bool { return svc.Target.IsKubernetes() }

func (c cluster) Pods(context.Context, target.Instance, config.Service, int) ([]kube.Pod, error) {
	return nil, c.podsErr
}

func (c cluster) ReadLog(_ context.Context, _ target.Instance, _ config.Service, _ time.Time, _ bool, emit func([]kube.LogLine) error) error {
	for _, l := range c.lines {
		if err := emit([]kube.LogLine{{Pod: "web-1", Text: l}}); err != nil {
			return err
		}
	}
	return nil
}

// The log of a service on a cluster is scrubbed of Liftoff's secrets, as
// a local release's log file is.
func TestClusterLogsAreScrubbed(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, "sqlite")
	ctx := context.Background()
	_, _, svcs := storetest.Services(t, st, config.Service{ID: "web", Type: config.TypeWeb, Target: config.Target{Type: config.TargetKubernetes}})
	secret := "lfk_" + strings.Repeat("a", 52)
	s := &supervision.Service{Store: st, NodeID: "node-a", Cluster: cluster{lines: []string{"calling the API with " + secret, "ok"}}}
	var got []string
	if err := s.Logs(ctx, svcs[0].ID, supervision.LogsParams{}, func(lines []local.LogLine) error {
		for _, l := range lines {
			got = append(got, l.Text)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(got, "\n")
	if strings.Contains(text, secret) || !strings.Contains(text, "[web-1] calling the API with lfk_[REDACTED]") || !strings.Contains(text, "[web-1] ok") {
		t.Errorf("log:\n%s", text)
	}
}

// A cluster that does not answer leaves the environment's view readable:
// its services are unknown, the others keep their states.
func TestStatesWhenTheClusterDoesNotAnswer(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, "sqlite")
	ctx := context.Background()
	_, env, svcs := storetest.Services(t, st, config.Service{ID: "web", Type: config.TypeWeb, Target: config.Target{Type: config.TargetKubernetes}},
		config.Service{ID: "worker", Type: config.TypeWorker})
	ids := map[string]string{"web": svcs[0].ID, "worker": svcs[1].ID}
	if err := st.PutServiceState(ctx, liftoff.ServiceState{ServiceID: ids["worker"], ReleaseID: "rel1", State: liftoff.ServiceRunning,
		NodeID: "node-a", UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s := &supervision.Service{Store: st, NodeID: "node-a", Cluster: cluster{podsErr: errors.New("dial tcp 10.0.0.1:6443: connection refused")}}
	states, err := s.States(ctx, env.ID)
	if err != nil {
		t.Fatalf("States = %v, want the environment's states with the cluster's service unknown", err)
	}
	if got := states[ids["web"]]; len(got) != 1 || got[0].State != liftoff.ServiceUnknown {
		t.Errorf("web (on the cluster): %+v, want one unknown state", got)
	}
	if got := states[ids["worker"]]; len(got) != 1 || got[0].State != liftoff.ServiceRunning {
		t.Errorf("worker (local): %+v, want its running state", got)
	}
	if _, err := s.Get(ctx, ids["web"], 0); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Get of the cluster's service = %v, want the cluster's error", err)
	}
}
