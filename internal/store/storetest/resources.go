package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// testManagedResources: a resource is recorded once per service of an
// environment instance and once per name of its kind, read back as it was
// stored (its sealed password byte for byte), listed by environment and
// instance, changes state, is resealed only as read, and is forgotten.
func testManagedResources(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	prod, preview := envs[0].ID, envs[2].ID
	mk := func(env int64, pr int, service, kind, name string) liftoff.ManagedResource {
		return liftoff.ManagedResource{ID: cuid.New(), ProjectID: p.ID, EnvironmentID: env, PRNumber: pr, ServiceID: service,
			Kind: kind, Name: name, KeyID: "k1", Sealed: []byte{0, 1, 0xfe, 0xff}, State: liftoff.ResourceCreating,
			CreatedAt: t0, UpdatedAt: t0}
	}
	db := mk(prod, 0, "db", "postgres", "lo_shop_production_db_1a2b3c4d")
	cache := mk(prod, 0, "cache", "redis", "lo_shop_production_cache_5e6f7a8b")
	pr7 := mk(preview, 7, "db", "postgres", "lo_shop_preview_pr7_db_9c0d1e2f")
	pr8 := mk(preview, 8, "db", "postgres", "lo_shop_preview_pr8_db_3a4b5c6d")
	for _, m := range []liftoff.ManagedResource{db, cache, pr7, pr8} {
		if err := s.InsertManagedResource(ctx, m); err != nil {
			t.Fatalf("insert %s: %v", m.Name, err)
		}
	}
	// One per service of an instance; one per name of a kind (the same
	// name of another kind is another resource).
	again := mk(prod, 0, "db", "postgres", "lo_other")
	if err := s.InsertManagedResource(ctx, again); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second resource of production's db: %v, want ErrConflict", err)
	}
	taken := mk(prod, 0, "db2", "postgres", db.Name)
	if err := s.InsertManagedResource(ctx, taken); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second database named %s: %v, want ErrConflict", db.Name, err)
	}
	if err := s.InsertManagedResource(ctx, mk(prod, 0, "db3", "redis", db.Name)); err != nil {
		t.Errorf("a Redis user named as a database: %v", err)
	}

	got, err := s.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: preview, PRNumber: 7, ServiceID: "db"})
	if err != nil || !reflect.DeepEqual(got, pr7) {
		t.Fatalf("GetManagedResource = %+v, %v; want %+v", got, err, pr7)
	}
	if _, err := s.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: preview, PRNumber: 9, ServiceID: "db"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the resource of a PR without one: %v, want ErrNotFound", err)
	}

	names := func(p store.ListManagedResourcesParams) []string {
		t.Helper()
		list, err := s.ListManagedResources(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range list {
			out = append(out, m.Name)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		p    store.ListManagedResourcesParams
		want []string
	}{
		{"production's", store.ListManagedResourcesParams{EnvironmentID: prod}, []string{cache.Name, db.Name, db.Name}},
		{"PR 8's", store.ListManagedResourcesParams{EnvironmentID: preview, PRNumber: 8}, []string{pr8.Name}},
		{"every preview's", store.ListManagedResourcesParams{EnvironmentID: preview, AllInstances: true}, []string{pr7.Name, pr8.Name}},
		{"the preview environment's own (none)", store.ListManagedResourcesParams{EnvironmentID: preview}, nil},
	} {
		if got := names(tt.p); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if all := names(store.ListManagedResourcesParams{AllInstances: true}); len(all) != 5 {
		t.Errorf("every resource: %v, want 5", all)
	}

	at := t0.Add(time.Minute)
	if err := s.SetManagedResourceState(ctx, store.SetManagedResourceStateParams{ID: pr7.ID, State: liftoff.ResourceAvailable, At: at}); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: preview, PRNumber: 7, ServiceID: "db"})
	if err != nil || got.State != liftoff.ResourceAvailable || !got.UpdatedAt.Equal(at) || !got.CreatedAt.Equal(t0) {
		t.Errorf("after the state changed: %+v, %v", got, err)
	}
	if err := s.SetManagedResourceState(ctx, store.SetManagedResourceStateParams{ID: "nope", State: liftoff.ResourceAvailable, At: at}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the state of no resource: %v, want ErrNotFound", err)
	}

	// Resealed only as read.
	ok, err := s.ResealManagedResource(ctx, store.ResealParams[liftoff.ManagedResource]{Old: got, KeyID: "k2", Sealed: []byte("new"), At: at})
	if err != nil || !ok {
		t.Fatalf("reseal: %v, %v", ok, err)
	}
	ok, err = s.ResealManagedResource(ctx, store.ResealParams[liftoff.ManagedResource]{Old: got, KeyID: "k3", Sealed: []byte("newer"), At: at})
	if err != nil || ok {
		t.Errorf("reseal of a value that changed: %v, %v; want false", ok, err)
	}
	got, _ = s.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: preview, PRNumber: 7, ServiceID: "db"})
	if got.KeyID != "k2" || string(got.Sealed) != "new" {
		t.Errorf("after reseal: key %s, sealed %q", got.KeyID, got.Sealed)
	}

	if err := s.DeleteManagedResource(ctx, store.DeleteManagedResourceParams{ID: pr7.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteManagedResource(ctx, store.DeleteManagedResourceParams{ID: pr7.ID}); err != nil {
		t.Errorf("forget a resource twice: %v", err)
	}
	if got := names(store.ListManagedResourcesParams{EnvironmentID: preview, AllInstances: true}); !reflect.DeepEqual(got, []string{pr8.Name}) {
		t.Errorf("after PR 7's was forgotten: %v", got)
	}
	// Its name is free again.
	if err := s.InsertManagedResource(ctx, mk(preview, 7, "db", "postgres", pr7.Name)); err != nil {
		t.Errorf("PR 7's database again: %v", err)
	}
}
