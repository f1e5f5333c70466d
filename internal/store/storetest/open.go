// Package storetest opens real stores for tests, on SQLite in a temp dir and
// on PostgreSQL in a schema of its own, and holds the conformance suite both
// dialects must pass: each dialect's own tests call Run with a Driver.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/pgnote"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
	"github.com/liftoffhq/liftoff/internal/store/sqlstore"
)

// EnvDatabaseURL names the environment variable that points the tests at a
// PostgreSQL server.
const EnvDatabaseURL = pgnote.EnvDatabaseURL

// DatabaseTimeout bounds each PostgreSQL call of a test's store: liftoff
// serve's default --database-timeout.
const DatabaseTimeout = 5 * time.Second

// Dialects are the dialects a test should run on.
func Dialects() []string { return []string{"sqlite", "postgres"} }

// Open opens a fresh, empty, migrated store of the dialect; it is closed when
// the test ends. PostgreSQL tests skip, saying how to run them, when
// LIFTOFF_TEST_DATABASE_URL is not set.
func Open(t testing.TB, dialect string) store.Store {
	t.Helper()
	return OpenObserved(t, dialect, nil)
}

// OpenObserved is Open with every store call timed for observe (nil: none).
func OpenObserved(t testing.TB, dialect string, observe sqlstore.Observe) store.Store {
	t.Helper()
	ctx := context.Background()
	var s store.Store
	var err error
	switch dialect {
	case "sqlite":
		s, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "liftoff.db"), sqlite.Options{Observe: observe})
	case "postgres":
		s, err = postgres.Open(ctx, DatabaseURL(t), postgres.Options{Timeout: DatabaseTimeout, Observe: observe})
	default:
		t.Fatalf("unknown dialect %q", dialect)
	}
	if err != nil {
		t.Fatalf("open %s store: %v", dialect, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// DatabaseURL returns the URL of a fresh PostgreSQL schema, dropped when the
// test ends, or skips the test when no server is configured.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		t.Skipf("PostgreSQL tests need a server: set %s, e.g. %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test ./...",
			EnvDatabaseURL, EnvDatabaseURL)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvDatabaseURL, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "liftoff_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer func() { _ = c.Close(context.Background()) }()
		_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		t.Fatalf("%s must be a postgres:// URL: %v", EnvDatabaseURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
