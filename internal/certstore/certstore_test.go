package certstore

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/testclock"
)

var t0 = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)

// fixture is one database shared by two replicas: on PostgreSQL two
// stores (two pools, as two processes have), on SQLite one store (SQLite
// serves one replica) under two Storages.
type fixture struct {
	dialect string
	stores  [2]store.Store
	keys    *secretbox.Keyring
	sqlite  string // the SQLite database file
	url     string // the PostgreSQL URL
}

func newFixture(t *testing.T, dialect string) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{dialect: dialect}
	switch dialect {
	case "sqlite":
		f.sqlite = filepath.Join(t.TempDir(), "liftoff.db")
		st, err := sqlite.Open(ctx, f.sqlite, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		f.stores = [2]store.Store{st, st}
	case "postgres":
		f.url = storetest.DatabaseURL(t)
		for i := range f.stores {
			st, err := postgres.Open(ctx, f.url, postgres.Options{Timeout: storetest.DatabaseTimeout})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			f.stores[i] = st
		}
	}
	keys, _, err := secretbox.LoadOrCreate(filepath.Join(t.TempDir(), "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	f.keys = keys
	return f
}

// replica returns a Storage of replica i (0 or 1).
func (f fixture) replica(i int, opts Options) *Storage { return New(f.stores[i], f.keys, opts) }

// raw returns what the database holds, as bytes to search: the SQLite
// files (the database and its write-ahead log), or every PostgreSQL row of
// the certificate table.
func (f fixture) raw(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	if f.sqlite != "" {
		for _, p := range []string{f.sqlite, f.sqlite + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	rows, err := conn.Query(ctx, `SELECT key, key_id, sealed FROM certificates`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var key, keyID string
		var sealed []byte
		if err := rows.Scan(&key, &keyID, &sealed); err != nil {
			t.Fatal(err)
		}
		out = append(out, []byte(key), []byte(keyID), sealed)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("the certificates table is empty")
	}
	return out
}

func each(t *testing.T, fn func(t *testing.T, f fixture)) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, dialect))
		})
	}
}

// TestValues: values stored on one replica load on the other; keys are
// files and the prefixes of files are directories, listed, stated and
// deleted as certmagic's FileStorage has them; what is missing is
// fs.ErrNotExist; no value is in the database in clear.
func TestValues(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		clk := testclock.New(t0)
		a, b := f.replica(0, Options{Now: clk.Now}), f.replica(1, Options{Now: clk.Now})
		values := map[string]string{
			"certificates/acme/example.com/example.com.crt":  "-----BEGIN CERTIFICATE-----\ncrt\n",
			"certificates/acme/example.com/example.com.key":  "-----BEGIN EC PRIVATE KEY-----\nsecret-key-material\n",
			"certificates/acme/example.com/example.com.json": `{"sans":["example.com"]}`,
			"certificates/acme/example.org/example.org.crt":  "org",
			"certificates/acme/example.com0/x.crt":           "not under example.com",
			"acme/ca/users/me@example.com/me.json":           "account",
			"last_clean.json":                                "{}",
		}
		// Stored in key order, a second apart: acme/... at t0+1s, then
		// example.com's .crt, .json and .key at t0+2s, 3s and 4s, ...
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range values {
				if !yield(k) {
					return
				}
			}
		}) {
			clk.Advance(time.Second)
			if err := a.Store(ctx, k, []byte(values[k])); err != nil {
				t.Fatalf("Store(%s): %v", k, err)
			}
		}
		for k, v := range values {
			got, err := b.Load(ctx, k)
			if err != nil || string(got) != v {
				t.Fatalf("Load(%s) on the other replica = %q, %v; want %q", k, got, err, v)
			}
		}
		// Keys are cleaned as paths; the empty key names no value.
		if got, err := b.Load(ctx, "/certificates//acme/example.org/./example.org.crt/"); err != nil || string(got) != "org" {
			t.Fatalf("Load(an unclean key) = %q, %v", got, err)
		}
		if err := a.Store(ctx, "/", []byte("x")); err == nil {
			t.Fatal("Store(/) succeeded")
		}
		// Store replaces.
		if err := a.Store(ctx, "last_clean.json", []byte(`{"at": 1}`)); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.Load(ctx, "last_clean.json"); string(got) != `{"at": 1}` {
			t.Fatalf("after replacing: %q", got)
		}

		// Missing keys.
		for _, k := range []string{"certificates/acme/example.net/example.net.crt", "certificates/acme/example.com", "certificates/acme/example.com/example.com.crt/x"} {
			if _, err := b.Load(ctx, k); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Load(%s) = %v; want fs.ErrNotExist", k, err)
			}
		}
		for _, k := range []string{"certificates/acme/example.net", "certificates/acme/example", "nothing"} {
			if _, err := b.Stat(ctx, k); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat(%s) = %v; want fs.ErrNotExist", k, err)
			}
			if _, err := b.List(ctx, k, false); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("List(%s) = %v; want fs.ErrNotExist", k, err)
			}
			if b.Exists(ctx, k) {
				t.Errorf("Exists(%s) = true", k)
			}
		}

		// Exists and Stat: files and directories.
		for _, k := range []string{"certificates", "certificates/acme/example.com", "certificates/acme/example.com/example.com.key", "acme/ca/users/me@example.com"} {
			if !b.Exists(ctx, k) {
				t.Errorf("Exists(%s) = false", k)
			}
		}
		key := "certificates/acme/example.com/example.com.key"
		info, err := b.Stat(ctx, key)
		if err != nil || info.Key != key || !info.IsTerminal || info.Size != int64(len(values[key])) || !info.Modified.Equal(t0.Add(4*time.Second)) {
			t.Fatalf("Stat(%s) = %+v, %v; want a file of %d bytes stored at %s", key, info, err, len(values[key]), t0.Add(4*time.Second))
		}
		info, err = b.Stat(ctx, "certificates/acme/example.com")
		if err != nil || info.Key != "certificates/acme/example.com" || info.IsTerminal || !info.Modified.Equal(t0.Add(4*time.Second)) {
			t.Fatalf("Stat(a directory) = %+v, %v; want IsTerminal false, modified with its newest value", info, err)
		}

		// List.
		for _, c := range []struct {
			prefix    string
			recursive bool
			want      []string
		}{
			{"", false, []string{"acme", "certificates", "last_clean.json"}},
			{"certificates", false, []string{"certificates/acme"}},
			{"certificates/acme", false, []string{"certificates/acme/example.com", "certificates/acme/example.com0", "certificates/acme/example.org"}},
			{"certificates/acme/example.com", false, []string{
				"certificates/acme/example.com/example.com.crt", "certificates/acme/example.com/example.com.json", "certificates/acme/example.com/example.com.key"}},
			{"certificates/acme/example.com/", false, []string{
				"certificates/acme/example.com/example.com.crt", "certificates/acme/example.com/example.com.json", "certificates/acme/example.com/example.com.key"}},
			{"certificates", true, []string{
				"certificates/acme",
				"certificates/acme/example.com",
				"certificates/acme/example.com/example.com.crt", "certificates/acme/example.com/example.com.json", "certificates/acme/example.com/example.com.key",
				"certificates/acme/example.com0", "certificates/acme/example.com0/x.crt",
				"certificates/acme/example.org", "certificates/acme/example.org/example.org.crt"}},
			{"acme", true, []string{"acme/ca", "acme/ca/users", "acme/ca/users/me@example.com", "acme/ca/users/me@example.com/me.json"}},
			{"last_clean.json", false, []string{}}, // a file lists nothing
		} {
			got, err := b.List(ctx, c.prefix, c.recursive)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("List(%q, %v) = %q, %v; want %q", c.prefix, c.recursive, got, err, c.want)
			}
		}

		// No value is in the database in clear: not the private key, not
		// even the public certificate.
		for _, blob := range f.raw(t) {
			for _, v := range []string{"secret-key-material", "PRIVATE KEY", "BEGIN CERTIFICATE", `"sans"`} {
				if bytes.Contains(blob, []byte(v)) {
					t.Fatalf("the database holds %q in clear", v)
				}
			}
		}

		// A value moved to another key does not open.
		it, err := f.stores[0].GetCertificateItem(ctx, store.GetCertificateItemParams{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		it.Key = "certificates/acme/example.org/example.org.key"
		if err := f.stores[0].PutCertificateItem(ctx, it); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Load(ctx, it.Key); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a value moved to another key opened: %q, %v", got, err)
		}

		// Delete: a file; a directory and everything under it; nothing.
		if err := a.Delete(ctx, "certificates/acme/example.com/example.com.json"); err != nil {
			t.Fatal(err)
		}
		if b.Exists(ctx, "certificates/acme/example.com/example.com.json") || !b.Exists(ctx, "certificates/acme/example.com/example.com.crt") {
			t.Fatal("Delete(a file) deleted the wrong values")
		}
		if err := a.Delete(ctx, "certificates/acme/example.com"); err != nil {
			t.Fatal(err)
		}
		if b.Exists(ctx, "certificates/acme/example.com") || b.Exists(ctx, "certificates/acme/example.com/example.com.crt") {
			t.Fatal("Delete(a directory) left values under it")
		}
		if !b.Exists(ctx, "certificates/acme/example.com0/x.crt") {
			t.Fatal("Delete(certificates/acme/example.com) deleted certificates/acme/example.com0")
		}
		if err := a.Delete(ctx, "certificates/acme/example.com"); err != nil {
			t.Fatalf("Delete(a missing key) = %v; want nil", err)
		}
		if err := a.Delete(ctx, ""); err == nil {
			t.Fatal("Delete(\"\") succeeded")
		}
	})
}

// TestLockExcludes: two replicas contend for one lock; exactly one holds
// it at a time, and the other gets it once it is unlocked.
func TestLockExcludes(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		a, b := f.replica(0, Options{NodeID: "a"}), f.replica(1, Options{NodeID: "b"})
		const name = "issue_cert_example.com"
		if err := a.Lock(ctx, name); err != nil {
			t.Fatal(err)
		}
		if ok, err := b.TryLock(ctx, name); err != nil || ok {
			t.Fatalf("b.TryLock while a holds it = %v, %v", ok, err)
		}
		// A waiter whose context ends gives up.
		cctx, cancel := context.WithCancel(ctx)
		gaveUp := make(chan error)
		go func() { gaveUp <- b.Lock(cctx, name) }()
		cancel()
		if err := <-gaveUp; !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock with its context cancelled = %v", err)
		}

		var mu sync.Mutex
		aReleased := false
		got := make(chan bool)
		go func() {
			err := b.Lock(ctx, name)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			got <- aReleased
		}()
		// b waits; a unlocks (marked first, so that b getting the lock
		// before the mark is b getting it while a held it).
		mu.Lock()
		aReleased = true
		mu.Unlock()
		if err := a.Unlock(ctx, name); err != nil {
			t.Fatal(err)
		}
		if !<-got {
			t.Fatal("b got the lock while a held it")
		}
		if ok, err := a.TryLock(ctx, name); err != nil || ok {
			t.Fatalf("a.TryLock while b holds it = %v, %v", ok, err)
		}
		// Unlock by one that does not hold it frees nothing.
		if err := a.Unlock(ctx, name); err == nil {
			t.Fatal("a unlocked the lock b holds")
		}
		if ok, _ := a.TryLock(ctx, name); ok {
			t.Fatal("a's Unlock freed b's lock")
		}
		if err := b.Unlock(ctx, name); err != nil {
			t.Fatal(err)
		}
		if err := b.Unlock(ctx, name); err == nil {
			t.Fatal("b unlocked twice")
		}
		// Two goroutines of one replica exclude each other too.
		if ok, err := a.TryLock(ctx, name); err != nil || !ok {
			t.Fatalf("a.TryLock of a free lock = %v, %v", ok, err)
		}
		if ok, err := a.TryLock(ctx, name); err != nil || ok {
			t.Fatalf("a.TryLock of the lock it holds = %v, %v", ok, err)
		}
		if err := a.Unlock(ctx, name); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLockContention: goroutines on two replicas take one lock in turns,
// and never two at once.
func TestLockContention(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		replicas := []*Storage{f.replica(0, Options{PollInterval: 20 * time.Millisecond}), f.replica(1, Options{PollInterval: 20 * time.Millisecond})}
		var (
			mu      sync.Mutex
			holders int
			turns   int
		)
		var wg sync.WaitGroup
		for i := range 6 {
			s := replicas[i%2]
			wg.Go(func() {
				for range 5 {
					if err := s.Lock(ctx, "contended"); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					holders++
					turns++
					if holders != 1 {
						t.Errorf("%d holders of one lock", holders)
					}
					mu.Unlock()
					// Some work under the lock, on the store.
					if err := s.Store(ctx, "counter", []byte("x")); err != nil {
						t.Error(err)
					}
					mu.Lock()
					holders--
					mu.Unlock()
					if err := s.Unlock(ctx, "contended"); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if turns != 30 {
			t.Fatalf("%d turns; want 30", turns)
		}
	})
}

// TestStaleLockTakenOver: a lock whose holder died (its expiry passed) is
// taken over; the dead holder's Unlock, should it come back, frees
// nothing.
func TestStaleLockTakenOver(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		clk := testclock.New(t0)
		// A TTL of an hour of real time: a's refresh never runs in the test,
		// as if a had died; the clock the lock's expiry is read with moves.
		a := f.replica(0, Options{LockTTL: time.Hour, Now: clk.Now})
		b := f.replica(1, Options{LockTTL: time.Hour, Now: clk.Now})
		if err := a.Lock(ctx, "stale"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(59 * time.Minute)
		if ok, err := b.TryLock(ctx, "stale"); err != nil || ok {
			t.Fatalf("b.TryLock before the expiry = %v, %v", ok, err)
		}
		clk.Advance(time.Minute)
		if err := b.Lock(ctx, "stale"); err != nil {
			t.Fatalf("b.Lock of an expired lock: %v", err)
		}
		if err := a.Unlock(ctx, "stale"); err == nil {
			t.Fatal("a's Unlock of the lock b took over succeeded")
		}
		if ok, _ := a.TryLock(ctx, "stale"); ok {
			t.Fatal("a's Unlock freed the lock b took over")
		}
		if err := b.Unlock(ctx, "stale"); err != nil {
			t.Fatal(err)
		}

		// A lock row left by a process that is gone.
		if ok, err := f.stores[0].AcquireCertificateLock(ctx, store.AcquireCertificateLockParams{Name: "orphan", Owner: "gone",
			At: t0, ExpiresAt: t0.Add(time.Minute)}); err != nil || !ok {
			t.Fatalf("plant a lock: %v, %v", ok, err)
		}
		if err := b.Lock(ctx, "orphan"); err != nil {
			t.Fatal(err)
		}
		if err := b.Unlock(ctx, "orphan"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLockKeptFresh: the holder pushes its lock's expiry while it holds
// it, so that a lock held longer than its TTL is not taken; Unlock stops
// the refresh.
func TestLockKeptFresh(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		clk := testclock.New(t0)
		// Refreshes every half second of real time (a refresh may take up
		// to the TTL, 1.5s, on a loaded machine); expiries are on the clock.
		a := f.replica(0, Options{LockTTL: 1500 * time.Millisecond, Now: clk.Now})
		b := f.replica(1, Options{LockTTL: 1500 * time.Millisecond, Now: clk.Now})
		type refresh struct {
			expires time.Time
			held    bool
		}
		refreshes := make(chan refresh, 100)
		a.refreshed = func(_ string, expires time.Time, held bool) {
			select {
			case refreshes <- refresh{expires, held}:
			default:
			}
		}
		if err := a.Lock(ctx, "fresh"); err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		h := a.held["fresh"]
		a.mu.Unlock()
		// An hour passes on the clock: without a refresh the lock would
		// have expired.
		clk.Advance(time.Hour)
		for r := range refreshes {
			if !r.held {
				t.Fatal("a lost its lock")
			}
			if !r.expires.Before(t0.Add(time.Hour)) {
				break // a refresh after the clock moved
			}
		}
		if ok, err := b.TryLock(ctx, "fresh"); err != nil || ok {
			t.Fatalf("b.TryLock of a lock kept fresh = %v, %v", ok, err)
		}
		if err := a.Unlock(ctx, "fresh"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-h.done:
		default:
			t.Fatal("Unlock returned with the refresh still running")
		}
		if ok, err := b.TryLock(ctx, "fresh"); err != nil || !ok {
			t.Fatalf("b.TryLock after a's Unlock = %v, %v", ok, err)
		}
		if err := b.Unlock(ctx, "fresh"); err != nil {
			t.Fatal(err)
		}
	})
}
