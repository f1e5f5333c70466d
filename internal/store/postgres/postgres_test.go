package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for goose
	"github.com/pressly/goose/v3"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestConformance runs the store conformance suite on PostgreSQL, each case
// in a schema of its own on the server LIFTOFF_TEST_DATABASE_URL names; it
// skips, saying how to run it, when that is not set.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Driver{
		Open: func(t *testing.T) store.Store {
			return open(t, storetest.DatabaseURL(t))
		},
		OpenAt: func(t *testing.T, version int64) (*sql.DB, func(t *testing.T) store.Store) {
			url := storetest.DatabaseURL(t)
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
				t.Fatalf("migrate to version %d: %v", version, err)
			}
			return db, func(t *testing.T) store.Store { return open(t, url) }
		},
	})
}

// open opens the store at url, closed when the test ends.
func open(t *testing.T, url string) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Options{Timeout: storetest.DatabaseTimeout})
	if err != nil {
		t.Fatalf("open PostgreSQL store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestOpenNeedsATimeout: the timeout has its default in server.Config, so
// Open given none refuses, naming it, before it connects anywhere.
func TestOpenNeedsATimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{
		{name: "none", timeout: 0},
		{name: "negative", timeout: -time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Nothing listens on port 1: an attempt to connect would fail
			// with another error.
			_, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none", postgres.Options{Timeout: tc.timeout})
			if err == nil || !strings.Contains(err.Error(), "Options.Timeout") {
				t.Fatalf("Open: %v, want an error naming Options.Timeout", err)
			}
		})
	}
}
