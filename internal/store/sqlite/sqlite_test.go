package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestConformance runs the store conformance suite on SQLite, each case on
// a database file of its own in a temp dir.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Driver{
		Open: func(t *testing.T) store.Store {
			return open(t, filepath.Join(t.TempDir(), "liftoff.db"))
		},
		OpenAt: func(t *testing.T, version int64) (*sql.DB, func(t *testing.T) store.Store) {
			path := filepath.Join(t.TempDir(), "liftoff.db")
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
				t.Fatalf("migrate to version %d: %v", version, err)
			}
			return db, func(t *testing.T) store.Store { return open(t, path) }
		},
	})
}

// open opens the store at path, closed when the test ends.
func open(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open SQLite store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
