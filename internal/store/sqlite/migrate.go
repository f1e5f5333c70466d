package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pressly/goose/v3"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/sqlstore"
)

// Migrate brings the database file at path (created 0600 when missing) to
// the schema this binary embeds, as Open does on its way, and closes it:
// liftoff migrate. A running liftoff serve on the same file is safe: the
// migrations take SQLite's write lock, and one that finds the schema
// current applies nothing.
func Migrate(ctx context.Context, path string) (store.Migration, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return store.Migration{}, fmt.Errorf("create database directory: %w", err)
		}
	}
	if err := ownerOnly(path); err != nil {
		return store.Migration{}, err
	}
	db, err := sql.Open("sqlite", dsn(path, "immediate", "journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"))
	if err != nil {
		return store.Migration{}, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	p, err := goose.NewProvider(goose.DialectSQLite3, db, Migrations())
	if err != nil {
		return store.Migration{}, fmt.Errorf("migrations: %w", err)
	}
	m, err := sqlstore.Migrate(ctx, p, "sqlite")
	if err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
