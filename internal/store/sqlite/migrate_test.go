package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/liftoffhq/liftoff/internal/store/sqlite"
)

// TestMigrate: Migrate creates a missing database 0600 and brings it to
// the embedded version, reports where an older one started, applies
// nothing to a current one, and leaves a newer one alone, saying so.
func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	embedded := embeddedVersion(t)

	fresh := filepath.Join(t.TempDir(), "data", "liftoff.db")
	m, err := sqlite.Migrate(ctx, fresh)
	if err != nil || m.Before != 0 || m.After != embedded || m.Embedded != embedded || m.Newer() {
		t.Fatalf("fresh database: %+v, %v; want 0 → %d", m, err, embedded)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file: %v, %v; want mode 0600", fi, err)
	}
	m, err = sqlite.Migrate(ctx, fresh)
	if err != nil || m.Before != embedded || m.After != embedded {
		t.Fatalf("current database: %+v, %v; want %d → %d", m, err, embedded, embedded)
	}

	old := filepath.Join(t.TempDir(), "liftoff.db")
	db := upTo(t, old, 3)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	m, err = sqlite.Migrate(ctx, old)
	if err != nil || m.Before != 3 || m.After != embedded {
		t.Fatalf("database at 3: %+v, %v; want 3 → %d", m, err, embedded)
	}
	// The store opens on it and finds the schema it expects.
	v, err := open(t, old).SchemaVersion(ctx)
	if err != nil || !v.Matches() {
		t.Fatalf("store on the migrated database: %+v, %v", v, err)
	}

	newer := filepath.Join(t.TempDir(), "liftoff.db")
	db = upTo(t, newer, embedded)
	if _, err := db.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, embedded+1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	m, err = sqlite.Migrate(ctx, newer)
	if err != nil || !m.Newer() || m.Before != embedded+1 || m.After != embedded+1 {
		t.Fatalf("newer database: %+v, %v; want it reported newer and left at %d", m, err, embedded+1)
	}
}

// upTo makes a database at path migrated to version.
func upTo(t *testing.T, path string, version int64) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sqlite.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return db
}

// embeddedVersion is the newest migration the package embeds.
func embeddedVersion(t *testing.T) int64 {
	t.Helper()
	v, err := open(t, filepath.Join(t.TempDir(), "liftoff.db")).SchemaVersion(context.Background())
	if err != nil || v.Embedded < 1 {
		t.Fatalf("schema version: %+v, %v", v, err)
	}
	return v.Embedded
}
