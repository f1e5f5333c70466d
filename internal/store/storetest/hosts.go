package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// isolationCases cover what keeps projects apart: slugs and
// host name claims.
func isolationCases() []testCase {
	return []testCase{
		{"Slugs", testSlugs},
		{"HostClaims", testHostClaims},
	}
}

func createProject(t *testing.T, s store.Store, name, slug string) (liftoff.Project, error) {
	t.Helper()
	return s.CreateProject(context.Background(), store.CreateProjectParams{ID: cuid.New(), Name: name, Slug: slug,
		RepoURL: "/srv/" + name, ConfigPath: "liftoff.json", At: t0})
}

func testSlugs(t *testing.T, s store.Store) {
	ctx := context.Background()
	shop, err := createProject(t, s, "Shop", "shop")
	if err != nil || shop.Slug != "shop" {
		t.Fatalf("create = %+v, %v", shop, err)
	}
	if _, err := createProject(t, s, "Shop again", "shop"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second project with slug shop: %v, want ErrConflict", err)
	}
	got, err := s.GetProjectBySlug(ctx, store.GetProjectBySlugParams{Slug: "shop"})
	if err != nil || got.ID != shop.ID {
		t.Fatalf("GetProjectBySlug = %+v, %v", got, err)
	}
	if _, err := s.GetProjectBySlug(ctx, store.GetProjectBySlugParams{Slug: "blog"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetProjectBySlug(blog) = %v, want ErrNotFound", err)
	}
	// Projects from before slugs have none, any number of them, until set.
	old1, err := createProject(t, s, "Old", "")
	if err != nil {
		t.Fatal(err)
	}
	old2, err := createProject(t, s, "Old", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetProjectBySlug(ctx, store.GetProjectBySlugParams{Slug: ""}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetProjectBySlug(\"\") = %v, want ErrNotFound", err)
	}
	if err := s.SetProjectSlug(ctx, store.SetProjectSlugParams{ID: old1.ID, Slug: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProjectSlug(ctx, store.SetProjectSlugParams{ID: old2.ID, Slug: "old"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SetProjectSlug to a taken slug: %v, want ErrConflict", err)
	}
	if err := s.SetProjectSlug(ctx, store.SetProjectSlugParams{ID: cuid.New(), Slug: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetProjectSlug of an unknown project: %v, want ErrNotFound", err)
	}
	if p, err := s.GetProject(ctx, store.GetProjectParams{ID: old1.ID}); err != nil || p.Slug != "old" {
		t.Fatalf("GetProject after SetProjectSlug = %+v, %v", p, err)
	}
}

func testHostClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	claim := func(host, project string, env int64, pr int) liftoff.HostClaim {
		t.Helper()
		c, err := s.ClaimHost(ctx, liftoff.HostClaim{Host: host, ProjectID: project, EnvironmentID: env, PRNumber: pr, CreatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := claim("api.production.localhost", "a", 1, 0); c.ProjectID != "a" || c.EnvironmentID != 1 || c.CreatedAt != t0 {
		t.Fatalf("first claim = %+v", c)
	}
	// The first project keeps it; claiming again is harmless.
	if c := claim("api.production.localhost", "b", 2, 0); c.ProjectID != "a" {
		t.Fatalf("second project's claim = %+v, want a's", c)
	}
	if c := claim("api.production.localhost", "a", 1, 0); c.ProjectID != "a" {
		t.Fatalf("claim again = %+v", c)
	}
	claim("api.pr-7.preview.localhost", "a", 3, 7)
	claim("site.pr-7.preview.localhost", "a", 3, 7)
	claim("api.pr-8.preview.localhost", "a", 3, 8)
	if err := s.ReleaseHosts(ctx, store.ReleaseHostsParams{EnvironmentID: 3, PRNumber: 7}); err != nil {
		t.Fatal(err)
	}
	if c := claim("api.pr-7.preview.localhost", "b", 4, 7); c.ProjectID != "b" {
		t.Fatalf("a released host was not free: %+v", c)
	}
	if c := claim("api.pr-8.preview.localhost", "b", 4, 8); c.ProjectID != "a" {
		t.Fatalf("another PR's host was released: %+v", c)
	}

	// A custom domain names its service; within its instance it moves to
	// the service that claims it now, never across instances or projects.
	domain := func(host, project string, env int64, pr int, svc string) liftoff.HostClaim {
		t.Helper()
		c, err := s.ClaimHost(ctx, liftoff.HostClaim{Host: host, ProjectID: project, EnvironmentID: env, PRNumber: pr, ServiceID: svc, CreatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := domain("app.example.com", "a", 1, 0, "web"); c.ServiceID != "web" {
		t.Fatalf("domain claim = %+v", c)
	}
	if c := domain("app.example.com", "a", 1, 0, "site"); c.ServiceID != "site" || c.EnvironmentID != 1 {
		t.Fatalf("the same instance's other service: %+v, want the claim moved to site", c)
	}
	if c := domain("app.example.com", "a", 5, 0, "web"); c.ServiceID != "site" || c.EnvironmentID != 1 {
		t.Fatalf("another environment's claim: %+v, want site's of environment 1 kept", c)
	}
	if c := domain("app.example.com", "b", 1, 0, "web"); c.ProjectID != "a" || c.ServiceID != "site" {
		t.Fatalf("another project's claim: %+v, want a's kept", c)
	}
	domain("www.example.com", "a", 1, 0, "web")
	freed, err := s.ReleaseUnusedDomains(ctx, store.ReleaseUnusedDomainsParams{EnvironmentID: 1, Keep: []string{"www.example.com"}})
	if err != nil || len(freed) != 1 || freed[0] != "app.example.com" {
		t.Fatalf("ReleaseUnusedDomains = %v, %v; want app.example.com freed", freed, err)
	}
	if c := claim("api.production.localhost", "b", 2, 0); c.ProjectID != "a" {
		t.Fatalf("ReleaseUnusedDomains freed a .localhost name: %+v", c)
	}
	if c := domain("app.example.com", "b", 2, 0, "web"); c.ProjectID != "b" {
		t.Fatalf("a freed domain was not free: %+v", c)
	}
	if c := domain("www.example.com", "b", 2, 0, "web"); c.ProjectID != "a" {
		t.Fatalf("a kept domain was freed: %+v", c)
	}

	// Concurrent claims of one host: exactly one project wins, and all
	// agree on which.
	var wg sync.WaitGroup
	won := make([]string, 8)
	for i := range won {
		wg.Go(func() {
			c, err := s.ClaimHost(ctx, liftoff.HostClaim{Host: "race.production.localhost", ProjectID: string(rune('a' + i)),
				EnvironmentID: int64(i + 10), CreatedAt: t0})
			if err != nil {
				t.Error(err)
				return
			}
			won[i] = c.ProjectID
		})
	}
	wg.Wait()
	for _, w := range won {
		if w != won[0] {
			t.Fatalf("claims disagree on the holder: %v", won)
		}
	}
}
