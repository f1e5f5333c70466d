package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// testDeleteProject: DeleteProject deletes a project with everything it runs in one
// transaction, and leaves other projects and its history alone.
func testDeleteProject(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	other, err := s.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "other", Slug: "other", RepoURL: "/srv/other",
		ConfigPath: "liftoff.json", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	otherEnvs, err := s.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: other.ID, At: t0, NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "P", Branch: "main", Services: twoServices}}})
	if err != nil {
		t.Fatal(err)
	}
	running := newDeployment(p, envs[0], 0, t0)
	pending := newDeployment(p, envs[1], 0, t0)
	otherPending := newDeployment(other, otherEnvs[0], 0, t0)
	for _, d := range []liftoff.Deployment{running, pending, otherPending} {
		if err := s.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if d, ok := claim(t, s, "n1", t0); !ok || d.ID != running.ID {
		t.Fatalf("claimed %+v", d)
	}
	hk, err := s.CreateHook(ctx, store.CreateHookParams{ID: cuid.New(), EnvironmentID: envs[0].ID, Name: "CI", SecretHash: "h", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: envs[2].ID, PRNumber: 4, At: t0}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []liftoff.HostClaim{
		{Host: "api.production.localhost", ProjectID: p.ID, EnvironmentID: envs[0].ID, CreatedAt: t0},
		{Host: "api.production.other.localhost", ProjectID: other.ID, EnvironmentID: otherEnvs[0].ID, CreatedAt: t0},
	} {
		if _, err := s.ClaimHost(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	at := t0.Add(time.Minute)
	got, err := s.DeleteProject(ctx, store.DeleteProjectParams{ID: p.ID, Message: "the project was deleted", At: at})
	if err != nil || got.ID != p.ID {
		t.Fatalf("delete: %+v %v", got, err)
	}
	if _, err := s.DeleteProject(ctx, store.DeleteProjectParams{ID: p.ID, Message: "again", At: at}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := s.GetProject(ctx, store.GetProjectParams{ID: p.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get a deleted project: %v", err)
	}
	if ds, err := s.ListDeletedProjects(ctx); err != nil || len(ds) != 1 || ds[0].ID != p.ID || ds[0].Slug != p.Slug || !ds[0].UpdatedAt.Equal(at) {
		t.Errorf("deleted projects = %+v, %v; want %s alone, deleted at %v", ds, err, p.ID, at)
	}
	if es, err := s.ListEnvironments(ctx, store.ListEnvironmentsParams{ProjectID: p.ID}); err != nil || len(es) != 0 {
		t.Errorf("environments of a deleted project: %+v %v", es, err)
	}
	if e, err := s.GetEnvironment(ctx, store.GetEnvironmentParams{ID: envs[0].ID}); err != nil || !e.Deleted() {
		t.Errorf("environment after the delete: %+v %v", e, err)
	}
	if _, err := s.GetHook(ctx, store.GetHookParams{ID: hk.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hook of a deleted project: %v", err)
	}
	if d, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: pending.ID}); d.Status != liftoff.StatusCancelled || len(d.Errors) != 1 || d.Errors[0].Message != "the project was deleted" {
		t.Errorf("PENDING deployment after the delete: %+v", d)
	}
	if cancel, err := s.RenewLease(ctx, store.RenewLeaseParams{ID: running.ID, Owner: "n1", Until: at.Add(time.Hour)}); err != nil || !cancel {
		t.Errorf("the running deployment is not asked to stop: %v %v", cancel, err)
	}
	if ps, err := s.ListPreviewInstances(ctx, store.ListPreviewInstancesParams{EnvironmentID: envs[2].ID, IncludeDeleted: false}); err != nil || len(ps) != 0 {
		t.Errorf("live previews of a deleted project: %+v %v", ps, err)
	}
	// The other project is untouched; the deleted one's host is free.
	if d, _ := s.GetDeployment(ctx, store.GetDeploymentParams{ID: otherPending.ID}); d.Status != liftoff.StatusPending {
		t.Errorf("another project's deployment: %+v", d)
	}
	if c, err := s.ClaimHost(ctx, liftoff.HostClaim{Host: "api.production.localhost", ProjectID: other.ID, EnvironmentID: otherEnvs[0].ID, CreatedAt: at}); err != nil || c.ProjectID != other.ID {
		t.Errorf("the deleted project's host name: %+v %v", c, err)
	}
	if c, err := s.ClaimHost(ctx, liftoff.HostClaim{Host: "api.production.other.localhost", ProjectID: "x", EnvironmentID: 999, CreatedAt: at}); err != nil || c.ProjectID != other.ID {
		t.Errorf("another project's host name: %+v %v", c, err)
	}
}
