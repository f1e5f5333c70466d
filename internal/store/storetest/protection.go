package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// testProtection: an environment's protection is absent until set; its
// mode and its password are set apart, each keeping the other, also when
// two calls set one each at once; a password is removed; resealing
// succeeds only on the row as read; a deleted project takes its
// environments' protection with it.
func testProtection(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	prod, preview := envs[0].ID, envs[2].ID
	if _, err := s.GetEnvironmentProtection(ctx, store.GetEnvironmentProtectionParams{EnvironmentID: preview}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("protection never set: %v, want ErrNotFound", err)
	}
	mode := func(m liftoff.ProtectionMode) *liftoff.ProtectionMode { return &m }
	set := func(p store.SetEnvironmentProtectionParams) liftoff.EnvironmentProtection {
		t.Helper()
		got, err := s.SetEnvironmentProtection(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// A password alone: the mode stays the default.
	pw := &store.SealedValue{KeyID: "k1", Sealed: []byte{0, 1, 2, 0xff}}
	got := set(store.SetEnvironmentProtectionParams{EnvironmentID: preview, Password: pw, At: t0})
	want := liftoff.EnvironmentProtection{EnvironmentID: preview, PasswordKeyID: "k1", PasswordSealed: pw.Sealed, UpdatedAt: t0}
	if !sameProtection(got, want) {
		t.Fatalf("after setting a password: %+v, want %+v", got, want)
	}
	// The mode alone: the password stays.
	got = set(store.SetEnvironmentProtectionParams{EnvironmentID: preview, Mode: mode(liftoff.ProtectionPublic), At: t0.Add(time.Second)})
	want.Mode, want.UpdatedAt = liftoff.ProtectionPublic, t0.Add(time.Second)
	if !sameProtection(got, want) {
		t.Fatalf("after setting the mode: %+v, want %+v", got, want)
	}
	if read, err := s.GetEnvironmentProtection(ctx, store.GetEnvironmentProtectionParams{EnvironmentID: preview}); err != nil || !sameProtection(read, want) {
		t.Fatalf("GetEnvironmentProtection = %+v, %v; want %+v", read, err, want)
	}

	// Two calls at once, one setting the mode of production and the other
	// its password: both hold afterwards.
	var wg sync.WaitGroup
	for _, p := range []store.SetEnvironmentProtectionParams{
		{EnvironmentID: prod, Mode: mode(liftoff.ProtectionProtected), At: t0},
		{EnvironmentID: prod, Password: &store.SealedValue{KeyID: "k2", Sealed: []byte("x")}, At: t0},
	} {
		wg.Go(func() {
			if _, err := s.SetEnvironmentProtection(ctx, p); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	read, err := s.GetEnvironmentProtection(ctx, store.GetEnvironmentProtectionParams{EnvironmentID: prod})
	if err != nil || read.Mode != liftoff.ProtectionProtected || read.PasswordKeyID != "k2" || string(read.PasswordSealed) != "x" {
		t.Fatalf("production after two concurrent calls: %+v, %v", read, err)
	}

	// Resealing succeeds on the row as read, and not after it changed.
	if ok, err := s.ResealProtectionPassword(ctx, store.ResealParams[liftoff.EnvironmentProtection]{Old: want, KeyID: "k3", Sealed: []byte{9}}); err != nil || !ok {
		t.Fatalf("ResealProtectionPassword = %v, %v", ok, err)
	}
	if ok, err := s.ResealProtectionPassword(ctx, store.ResealParams[liftoff.EnvironmentProtection]{Old: want, KeyID: "k4", Sealed: []byte{8}}); err != nil || ok {
		t.Fatalf("ResealProtectionPassword of a stale row = %v, %v; want false", ok, err)
	}
	list, err := s.ListEnvironmentProtections(ctx)
	if err != nil || len(list) != 2 || list[0].EnvironmentID != prod || list[1].EnvironmentID != preview ||
		list[1].PasswordKeyID != "k3" || !slices.Equal(list[1].PasswordSealed, []byte{9}) {
		t.Fatalf("ListEnvironmentProtections = %+v, %v", list, err)
	}

	// The password removed, the mode back to the default.
	got = set(store.SetEnvironmentProtectionParams{EnvironmentID: preview, Mode: mode(liftoff.ProtectionDefault),
		Password: &store.SealedValue{}, At: t0.Add(2 * time.Second)})
	if want := (liftoff.EnvironmentProtection{EnvironmentID: preview, UpdatedAt: t0.Add(2 * time.Second)}); !sameProtection(got, want) || got.HasPassword() {
		t.Fatalf("after removing the password: %+v, want %+v", got, want)
	}

	// Deleting the project deletes its environments' protection, and no
	// other project's.
	other, err := s.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "other", Slug: "other", RepoURL: "/srv/other",
		ConfigPath: "liftoff.json", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	otherEnvs, err := s.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: other.ID, At: t0, NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "preview", Name: "Preview", IsPreview: true, Services: twoServices}}})
	if err != nil {
		t.Fatal(err)
	}
	set(store.SetEnvironmentProtectionParams{EnvironmentID: otherEnvs[0].ID, Mode: mode(liftoff.ProtectionPublic), At: t0})
	if _, err := s.DeleteProject(ctx, store.DeleteProjectParams{ID: p.ID, At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{prod, preview} {
		if _, err := s.GetEnvironmentProtection(ctx, store.GetEnvironmentProtectionParams{EnvironmentID: id}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("environment %d of a deleted project keeps its protection: %v", id, err)
		}
	}
	if _, err := s.GetEnvironmentProtection(ctx, store.GetEnvironmentProtectionParams{EnvironmentID: otherEnvs[0].ID}); err != nil {
		t.Errorf("another project's protection went with the deleted project: %v", err)
	}
}

func sameProtection(a, b liftoff.EnvironmentProtection) bool {
	return a.EnvironmentID == b.EnvironmentID && a.Mode == b.Mode && a.PasswordKeyID == b.PasswordKeyID &&
		slices.Equal(a.PasswordSealed, b.PasswordSealed) && a.UpdatedAt.Equal(b.UpdatedAt)
}
