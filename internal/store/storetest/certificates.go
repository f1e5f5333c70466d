package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// testCertificateItems: items are put, replaced, read, listed under a
// prefix by whole path components, deleted with everything under them,
// and resealed only while unchanged.
func testCertificateItems(t *testing.T, s store.Store) {
	ctx := context.Background()
	keys := []string{
		"a/b",        // the prefix itself holds a value too
		"a/b/c",      // under a/b
		"a/b/d/e",    // under a/b, two levels down
		"a/b-x",      // '-' sorts before '/': not under a/b
		"a/b0",       // '0' is the byte after '/': not under a/b
		"a/b_%/f",    // LIKE's wildcards are plain bytes here
		"a/bc/g",     // shares a/b's bytes, not its path
		"z/a/b/c",    // a/b in the middle of another key
		"a/b/\u00e9", // bytes above ASCII, still under a/b
	}
	for i, k := range keys {
		it := liftoff.CertificateItem{Key: k, KeyID: "k1", Sealed: []byte{byte(i), 0, 0xff}, Size: int64(i + 1), UpdatedAt: t0.Add(time.Duration(i) * time.Second)}
		if err := s.PutCertificateItem(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutCertificateItem(ctx, liftoff.CertificateItem{KeyID: "k1", Sealed: []byte{1}}); err == nil {
		t.Fatal("PutCertificateItem with an empty key succeeded")
	}

	got, err := s.GetCertificateItem(ctx, store.GetCertificateItemParams{Key: "a/b/c"})
	want := liftoff.CertificateItem{Key: "a/b/c", KeyID: "k1", Sealed: []byte{1, 0, 0xff}, Size: 2, UpdatedAt: t0.Add(time.Second)}
	if err != nil || !sameItem(got, want) {
		t.Fatalf("GetCertificateItem(a/b/c) = %+v, %v; want %+v", got, err, want)
	}
	for _, k := range []string{"a", "a/b/", "a/b/c/x", "A/B/C"} {
		if _, err := s.GetCertificateItem(ctx, store.GetCertificateItemParams{Key: k}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetCertificateItem(%q) = %v; want ErrNotFound", k, err)
		}
	}

	// Put replaces the value, its key, size and time.
	replaced := liftoff.CertificateItem{Key: "a/b/c", KeyID: "k2", Sealed: []byte("new"), Size: 30, UpdatedAt: t0.Add(time.Hour)}
	if err := s.PutCertificateItem(ctx, replaced); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetCertificateItem(ctx, store.GetCertificateItemParams{Key: "a/b/c"}); err != nil || !sameItem(got, replaced) {
		t.Fatalf("after replacing: %+v, %v; want %+v", got, err, replaced)
	}

	list := func(p store.ListCertificateItemsParams) []string {
		t.Helper()
		items, err := s.ListCertificateItems(ctx, p)
		if err != nil {
			t.Fatalf("ListCertificateItems(%+v): %v", p, err)
		}
		var out []string
		for _, it := range items {
			if !p.Sealed && (it.KeyID != "" || it.Sealed != nil) {
				t.Errorf("ListCertificateItems without Sealed returned the value of %s", it.Key)
			}
			if p.Sealed && it.Sealed == nil {
				t.Errorf("ListCertificateItems with Sealed returned no value for %s", it.Key)
			}
			out = append(out, it.Key)
		}
		return out
	}
	for _, c := range []struct {
		p    store.ListCertificateItemsParams
		want []string
	}{
		{store.ListCertificateItemsParams{Prefix: "a/b"}, []string{"a/b/c", "a/b/d/e", "a/b/\u00e9"}},
		{store.ListCertificateItemsParams{Prefix: "a/b", Sealed: true, Limit: 2}, []string{"a/b/c", "a/b/d/e"}},
		{store.ListCertificateItemsParams{Prefix: "a/b/d"}, []string{"a/b/d/e"}},
		{store.ListCertificateItemsParams{Prefix: "a/b_%"}, []string{"a/b_%/f"}},
		{store.ListCertificateItemsParams{Prefix: "a/b/c"}, nil},
		{store.ListCertificateItemsParams{Prefix: "nothing"}, nil},
		{store.ListCertificateItemsParams{Sealed: true}, slices.Sorted(slices.Values(keys))},
	} {
		if got := list(c.p); !slices.Equal(got, c.want) {
			t.Errorf("ListCertificateItems(%+v) = %q; want %q", c.p, got, c.want)
		}
	}
	items, _ := s.ListCertificateItems(ctx, store.ListCertificateItemsParams{Prefix: "a/b", Limit: 1})
	if len(items) != 1 || items[0].Size != 30 || !items[0].UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("ListCertificateItems without values = %+v; want a/b/c with its size and time", items)
	}

	// Reseal: only the value as it was read.
	old, _ := s.GetCertificateItem(ctx, store.GetCertificateItemParams{Key: "a/bc/g"})
	if ok, err := s.ResealCertificateItem(ctx, store.ResealParams[liftoff.CertificateItem]{Old: old, KeyID: "k3", Sealed: []byte("again"), At: t0.Add(2 * time.Hour)}); err != nil || !ok {
		t.Fatalf("ResealCertificateItem = %v, %v", ok, err)
	}
	if ok, err := s.ResealCertificateItem(ctx, store.ResealParams[liftoff.CertificateItem]{Old: old, KeyID: "k4", Sealed: []byte("stale"), At: t0}); err != nil || ok {
		t.Fatalf("ResealCertificateItem of a changed item = %v, %v; want false", ok, err)
	}
	after, _ := s.GetCertificateItem(ctx, store.GetCertificateItemParams{Key: "a/bc/g"})
	if after.KeyID != "k3" || !bytes.Equal(after.Sealed, []byte("again")) || !after.UpdatedAt.Equal(old.UpdatedAt) || after.Size != old.Size {
		t.Fatalf("after resealing: %+v; want k3, again, the time and size it had", after)
	}

	// Delete: the key and everything under it, nothing else.
	if n, err := s.DeleteCertificateItems(ctx, store.DeleteCertificateItemsParams{Key: "a/b"}); err != nil || n != 4 {
		t.Fatalf("DeleteCertificateItems(a/b) = %d, %v; want 4", n, err)
	}
	if got, want := list(store.ListCertificateItemsParams{}), []string{"a/b-x", "a/b0", "a/b_%/f", "a/bc/g", "z/a/b/c"}; !slices.Equal(got, want) {
		t.Fatalf("after deleting a/b: %q; want %q", got, want)
	}
	if n, err := s.DeleteCertificateItems(ctx, store.DeleteCertificateItemsParams{Key: "a/b"}); err != nil || n != 0 {
		t.Fatalf("deleting a/b again = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.DeleteCertificateItems(ctx, store.DeleteCertificateItemsParams{Key: "z/a/b/c"}); err != nil || n != 1 {
		t.Fatalf("DeleteCertificateItems(a file) = %d, %v; want 1", n, err)
	}
	if _, err := s.DeleteCertificateItems(ctx, store.DeleteCertificateItemsParams{}); err == nil {
		t.Fatal("DeleteCertificateItems with an empty key succeeded")
	}
	if got := list(store.ListCertificateItemsParams{}); len(got) != 4 {
		t.Fatalf("after the refused delete: %q", got)
	}
}

func sameItem(a, b liftoff.CertificateItem) bool {
	return a.Key == b.Key && a.KeyID == b.KeyID && bytes.Equal(a.Sealed, b.Sealed) && a.Size == b.Size && a.UpdatedAt.Equal(b.UpdatedAt)
}

// testCertificateLocks: a lock is held by one owner until it expires;
// only its owner renews or releases it; an expired lock is taken over;
// of concurrent acquirers exactly one wins.
func testCertificateLocks(t *testing.T, s store.Store) {
	ctx := context.Background()
	acquire := func(owner string, at time.Time) bool {
		t.Helper()
		ok, err := s.AcquireCertificateLock(ctx, store.AcquireCertificateLockParams{Name: "issue_cert_example.com", Owner: owner, At: at, ExpiresAt: at.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	renew := func(owner string, until time.Time) bool {
		t.Helper()
		ok, err := s.RenewCertificateLock(ctx, store.RenewCertificateLockParams{Name: "issue_cert_example.com", Owner: owner, ExpiresAt: until})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	release := func(owner string) bool {
		t.Helper()
		ok, err := s.ReleaseCertificateLock(ctx, store.ReleaseCertificateLockParams{Name: "issue_cert_example.com", Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !acquire("A", t0) {
		t.Fatal("A could not take a free lock")
	}
	if acquire("B", t0.Add(30*time.Second)) {
		t.Fatal("B took the lock A holds")
	}
	if acquire("A", t0.Add(30*time.Second)) {
		t.Fatal("A took the lock it holds a second time")
	}
	if !renew("A", t0.Add(2*time.Minute)) {
		t.Fatal("A could not renew its lock")
	}
	if acquire("B", t0.Add(90*time.Second)) {
		t.Fatal("B took the lock A renewed")
	}
	if renew("B", t0.Add(time.Hour)) || release("B") {
		t.Fatal("B renewed or released A's lock")
	}
	// A dies: its lock expires, and B takes it over.
	if !acquire("B", t0.Add(2*time.Minute)) {
		t.Fatal("B could not take over the expired lock")
	}
	if renew("A", t0.Add(time.Hour)) || release("A") {
		t.Fatal("A renewed or released the lock B took over")
	}
	if !release("B") {
		t.Fatal("B could not release its lock")
	}
	if release("B") {
		t.Fatal("B released its lock twice")
	}
	if !acquire("A", t0.Add(2*time.Minute)) {
		t.Fatal("A could not take the lock B released")
	}
	// Another name is another lock.
	if ok, err := s.AcquireCertificateLock(ctx, store.AcquireCertificateLockParams{Name: "issue_cert_example.org", Owner: "B", At: t0, ExpiresAt: t0.Add(time.Minute)}); err != nil || !ok {
		t.Fatalf("B could not take another lock: %v, %v", ok, err)
	}

	// Concurrent acquirers of a free lock, and of an expired one: one wins.
	for _, name := range []string{"free", "expired"} {
		if name == "expired" {
			if ok, err := s.AcquireCertificateLock(ctx, store.AcquireCertificateLockParams{Name: name, Owner: "dead", At: t0, ExpiresAt: t0}); err != nil || !ok {
				t.Fatalf("take %s: %v, %v", name, ok, err)
			}
		}
		var wg sync.WaitGroup
		won := make(chan string, 8)
		for i := range 8 {
			wg.Go(func() {
				owner := fmt.Sprint("o", i)
				ok, err := s.AcquireCertificateLock(ctx, store.AcquireCertificateLockParams{Name: name, Owner: owner, At: t0.Add(time.Second), ExpiresAt: t0.Add(time.Minute)})
				if err != nil {
					t.Error(err)
				}
				if ok {
					won <- owner
				}
			})
		}
		wg.Wait()
		close(won)
		var winners []string
		for w := range won {
			winners = append(winners, w)
		}
		if len(winners) != 1 {
			t.Fatalf("lock %s: winners %q; want exactly one", name, winners)
		}
		if !func() bool {
			ok, err := s.ReleaseCertificateLock(ctx, store.ReleaseCertificateLockParams{Name: name, Owner: winners[0]})
			return err == nil && ok
		}() {
			t.Fatalf("lock %s: the winner %s does not hold it", name, winners[0])
		}
	}
}
