package supervision_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/supervision"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/target/kube"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

// cluster runs every service whose target is kubernetes; its pods print
// lines.
type cluster struct{ lines []string }

func (cluster) Runs(svc config.Service) bool { return svc.Target.IsKubernetes() }

func (cluster) Pods(context.Context, target.Instance, config.Service, int) ([]kube.Pod, error) {
	return nil, nil
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
	p, err := st.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "https://example.com/shop.git",
		ConfigPath: "liftoff.json", DefaultBranch: "main", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main"}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := config.Service{ID: "web", Type: config.TypeWeb, Target: config.Target{Type: config.TargetKubernetes}}
	svcs, err := st.EnsureServices(ctx, store.EnsureServicesParams{EnvironmentID: envs[0].ID, At: time.Now(), NewServiceID: cuid.New,
		Services: []store.ServiceSpec{{GivenID: "web", Name: "web", Type: config.TypeWeb, Config: svc}}})
	if err != nil {
		t.Fatal(err)
	}
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
