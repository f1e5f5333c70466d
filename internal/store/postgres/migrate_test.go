package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestMigrate: Migrate brings an empty schema and an older one to the
// embedded version, reporting where each started, applies nothing to a
// current one, leaves a newer one alone saying so, and needs a timeout.
func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.DatabaseURL(t)
	m, err := postgres.Migrate(ctx, url, storetest.DatabaseTimeout)
	if err != nil || m.Before != 0 || m.After != m.Embedded || m.Embedded < 1 || m.Newer() {
		t.Fatalf("empty schema: %+v, %v; want 0 → the embedded version", m, err)
	}
	embedded := m.Embedded
	v, err := open(t, url).SchemaVersion(ctx)
	if err != nil || v.Embedded != embedded || !v.Matches() {
		t.Fatalf("store on the migrated schema: %+v, %v; want %d", v, err, embedded)
	}
	m, err = postgres.Migrate(ctx, url, storetest.DatabaseTimeout)
	if err != nil || m.Before != embedded || m.After != embedded {
		t.Fatalf("current schema: %+v, %v", m, err)
	}

	old := storetest.DatabaseURL(t)
	db := upTo(t, old, 3)
	m, err = postgres.Migrate(ctx, old, storetest.DatabaseTimeout)
	if err != nil || m.Before != 3 || m.After != embedded {
		t.Fatalf("schema at 3: %+v, %v; want 3 → %d", m, err, embedded)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, embedded+1); err != nil {
		t.Fatal(err)
	}
	m, err = postgres.Migrate(ctx, old, storetest.DatabaseTimeout)
	if err != nil || !m.Newer() || m.Before != embedded+1 || m.After != embedded+1 {
		t.Fatalf("newer schema: %+v, %v; want it reported newer and left at %d", m, err, embedded+1)
	}

	if _, err := postgres.Migrate(ctx, "postgres://nobody@127.0.0.1:1/none", 0); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("no timeout: %v, want an error naming it", err)
	}
	start := time.Now()
	if _, err := postgres.Migrate(ctx, "postgres://nobody@127.0.0.1:1/none", time.Second); err == nil {
		t.Fatal("migrating an unreachable database succeeded")
	} else if time.Since(start) > 30*time.Second {
		t.Fatalf("unreachable database: %v after %s", err, time.Since(start))
	}
}

// upTo migrates the schema at url to version with goose alone, as an older
// Liftoff left it.
func upTo(t *testing.T, url string, version int64) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, db, postgres.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return db
}
