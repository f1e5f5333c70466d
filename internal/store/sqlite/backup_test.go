package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
)

// TestBackupWhileWriting: a backup taken while another connection keeps
// committing holds everything committed before it began, and of the writes
// that went on meanwhile a prefix in commit order (a snapshot, not a torn
// copy); it is 0600, passes as a store, and the live database goes on.
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "liftoff.db")
	s := open(t, path)
	const before = 200
	for i := range before {
		addKey(t, s, fmt.Sprintf("before-%d", i))
	}

	// The writer commits "during-0", "during-1", ... one after the other
	// until told to stop; committed counts what it has committed.
	stop := make(chan struct{})
	first := make(chan struct{})
	committed := make(chan int, 1)
	go func() {
		n := 0
		defer func() { committed <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.CreateAPIKey(ctx, keyParams(fmt.Sprintf("during-%d", n))); err != nil {
				t.Errorf("write during the backup: %v", err)
				return
			}
			n++
			if n == 1 {
				close(first)
			}
		}
	}()
	<-first // a write has committed: the backup runs among writes

	to := filepath.Join(t.TempDir(), "backup.db")
	res, err := sqlite.Backup(ctx, path, to, false)
	close(stop)
	written := <-committed
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	fi, err := os.Stat(to)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != res.Bytes {
		t.Fatalf("backup file: %v, %v; want mode 0600 and %d bytes", fi, err, res.Bytes)
	}
	if res.SchemaVersion != embeddedVersion(t) {
		t.Errorf("backup's schema version %d, want %d", res.SchemaVersion, embeddedVersion(t))
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(to + suffix); !os.IsNotExist(err) {
			t.Errorf("%s beside the backup: %v; want none (the backup is one file)", to+suffix, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(to), ".backup.db.tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	copied := names(t, open(t, to))
	for i := range before {
		if !copied[fmt.Sprintf("before-%d", i)] {
			t.Fatalf("the backup lacks before-%d, committed before it began", i)
		}
	}
	during := 0
	for copied[fmt.Sprintf("during-%d", during)] {
		during++
	}
	if during < 1 || during > written || len(copied) != before+during {
		t.Fatalf("the backup holds %d keys, during-0..%d of %d written meanwhile: want before-*, then a prefix of during-* from at least the first",
			len(copied), during-1, written)
	}
	t.Logf("%d writes committed while the backup ran; the backup holds the first %d", written, during)

	// The live database is untouched and takes writes.
	addKey(t, s, "after")
	if live := names(t, s); len(live) != before+written+1 {
		t.Fatalf("live database holds %d keys, want %d", len(live), before+written+1)
	}
}

// TestBackupRefuses: no backup over an existing file unless replace, none
// onto the database or its -wal, none of a missing database (which is
// never created).
func TestBackupRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "liftoff.db")
	s := open(t, path)
	addKey(t, s, "one")

	existing := filepath.Join(dir, "old.db")
	if err := os.WriteFile(existing, []byte("an older backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to, want string }{
		{path, existing, "exists: give a new file, or --force"},
		{path, path, "the database's own file"},
		{path, path + "-wal", "the database's own file"},
		{filepath.Join(dir, "none.db"), filepath.Join(dir, "x.db"), "no database at"},
	} {
		if _, err := sqlite.Backup(ctx, c.from, c.to, false); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Backup(%s, %s): %v, want %q", c.from, c.to, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !os.IsNotExist(err) {
		t.Errorf("backing up a missing database created it: %v", err)
	}
	if _, err := sqlite.Backup(ctx, path, existing, true); err != nil {
		t.Fatalf("replacing an older backup: %v", err)
	}
	if !names(t, open(t, existing))["one"] {
		t.Fatal("the replaced backup lacks the database's key")
	}
}

func keyParams(name string) store.CreateAPIKeyParams {
	return store.CreateAPIKeyParams{ID: name, Name: name, Hash: "hash-" + name, Scope: "admin", At: time.Now()}
}

func addKey(t *testing.T, s store.Store, name string) {
	t.Helper()
	if _, err := s.CreateAPIKey(context.Background(), keyParams(name)); err != nil {
		t.Fatal(err)
	}
}

// names are the names of the store's API keys.
func names(t *testing.T, s store.Store) map[string]bool {
	t.Helper()
	keys, err := s.ListAPIKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, k := range keys {
		m[k.Name] = true
	}
	return m
}
