package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestDumpAndRestore follows docs/operations.md's PostgreSQL backup: a
// pg_dump --format=custom of a running store, restored with pg_restore
// into a new database, opens as a store holding what was committed before
// the dump and nothing written after it. It skips when pg_dump or
// pg_restore is not installed.
func TestDumpAndRestore(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the PostgreSQL backup procedure is not tested here", tool)
		}
	}
	ctx := context.Background()
	src := storetest.DatabaseURL(t) // a schema of its own, named by search_path
	s := open(t, src)
	for _, name := range []string{"ci", "deployer"} {
		if _, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: name, Name: name, Hash: "hash-" + name, Scope: "admin", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}

	// libpq does not take pgx's search_path parameter: dump that schema
	// from the database itself.
	u, err := url.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema := q.Get("search_path")
	q.Del("search_path")
	u.RawQuery = q.Encode()
	dump := filepath.Join(t.TempDir(), "liftoff.dump")
	if out, err := exec.CommandContext(ctx, "pg_dump", "--format=custom", "--no-owner", "--schema="+schema, "--file="+dump, u.String()).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	// Written after the dump: the restore must not have it.
	if _, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: "late", Name: "late", Hash: "hash-late", Scope: "admin", At: time.Now()}); err != nil {
		t.Fatal(err)
	}

	// Restore into a new database, as onto a new server.
	var b [6]byte
	_, _ = rand.Read(b[:])
	dbName := "liftoff_restore_" + hex.EncodeToString(b[:])
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(ctx) }()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+dbName); err != nil {
		t.Skipf("cannot create a database to restore into (%v): the restore is not tested here", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), u.String())
		if err != nil {
			return
		}
		defer func() { _ = c.Close(context.Background()) }()
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)")
	})
	target := *u
	target.Path = "/" + dbName
	if out, err := exec.CommandContext(ctx, "pg_restore", "--no-owner", "--exit-on-error", "--dbname="+target.String(), dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	tq := target.Query()
	tq.Set("search_path", schema)
	target.RawQuery = tq.Encode()
	if err := os.Remove(dump); err != nil {
		t.Fatal(err)
	}

	restored := open(t, target.String())
	v, err := restored.SchemaVersion(ctx)
	if err != nil || !v.Matches() {
		t.Fatalf("restored schema: %+v, %v", v, err)
	}
	keys, err := restored.ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, k := range keys {
		got[k.Name] = true
	}
	if len(got) != 2 || !got["ci"] || !got["deployer"] {
		t.Fatalf("restored keys %v, want ci and deployer (and not late, written after the dump)", got)
	}
	// The restored database takes writes: its sequences came along.
	if _, err := restored.CreateAPIKey(ctx, store.CreateAPIKeyParams{ID: "new", Name: "new", Hash: "hash-new", Scope: "admin", At: time.Now()}); err != nil {
		t.Fatalf("write to the restored database: %v", err)
	}
}
