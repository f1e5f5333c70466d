package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Services stores a project "shop" with its environment "production"
// (branch main) holding svcs, and returns them, in svcs' order.
func Services(t testing.TB, s store.Store, svcs ...config.Service) (liftoff.Project, liftoff.Environment, []liftoff.Service) {
	t.Helper()
	ctx := context.Background()
	p, err := s.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "https://example.com/shop.git",
		ConfigPath: "liftoff.json", DefaultBranch: "main", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := s.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main"}}})
	if err != nil {
		t.Fatal(err)
	}
	specs := make([]store.ServiceSpec, len(svcs))
	for i, svc := range svcs {
		name := svc.Name
		if name == "" {
			name = svc.ID
		}
		specs[i] = store.ServiceSpec{GivenID: svc.ID, Name: name, Type: svc.Type, Config: svc}
	}
	stored, err := s.EnsureServices(ctx, store.EnsureServicesParams{EnvironmentID: envs[0].ID, At: time.Now(), NewServiceID: cuid.New, Services: specs})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]liftoff.Service{}
	for _, sv := range stored {
		byID[sv.GivenID] = sv
	}
	out := make([]liftoff.Service, len(svcs))
	for i, svc := range svcs {
		out[i] = byID[svc.ID]
	}
	return p, envs[0], out
}
