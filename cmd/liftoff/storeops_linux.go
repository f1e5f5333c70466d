package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/liftoffhq/liftoff/internal/server"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
)

// migrateStore brings the store of a server run with these flags to this
// binary's schema, as liftoff serve does at start. where names the
// database for a person: the SQLite file, or PostgreSQL's host and
// database (never the URL, which may hold a password).
func migrateStore(ctx context.Context, dataDir, databaseURL string, timeout time.Duration) (where string, m store.Migration, err error) {
	cfg := server.Config{DataDir: dataDir, DatabaseURL: databaseURL, DatabaseTimeout: timeout}.WithDefaults()
	if cfg.DatabaseTimeout < 0 {
		return "", m, fmt.Errorf("--database-timeout %s must be positive, e.g. 5s", cfg.DatabaseTimeout)
	}
	dialect, dsn, err := cfg.Database()
	if err != nil {
		return "", m, err
	}
	if dialect == "postgres" {
		m, err = postgres.Migrate(ctx, dsn, cfg.DatabaseTimeout)
		return postgresName(dsn), m, err
	}
	if databaseURL == "" { // the database in the data dir, as serve makes it
		if err := server.PrepareDataDir(cfg.DataDir); err != nil {
			return dsn, m, err
		}
	}
	m, err = sqlite.Migrate(ctx, dsn)
	return "SQLite " + dsn, m, err
}

// errBackupPostgres is liftoff backup's answer for PostgreSQL.
var errBackupPostgres = errors.New(`liftoff backup copies a SQLite database; this server uses PostgreSQL: back it up with pg_dump, ` +
	`e.g. pg_dump --format=custom --file=liftoff.dump "$URL" (restore with pg_restore; docs/operations.md#backups), ` +
	`and keep a copy of the secret key file (--secret-key-file) with it`)

// backupStore copies the SQLite database of a server run with these
// flags to to; path is the database copied.
func backupStore(ctx context.Context, dataDir, databaseURL, to string, replace bool) (path string, res sqlite.BackupResult, err error) {
	cfg := server.Config{DataDir: dataDir, DatabaseURL: databaseURL}.WithDefaults()
	dialect, dsn, err := cfg.Database()
	if err != nil {
		return "", res, err
	}
	if dialect == "postgres" {
		return "", res, errBackupPostgres
	}
	res, err = sqlite.Backup(ctx, dsn, to, replace)
	return dsn, res, err
}

// postgresName is the host and database of a PostgreSQL URL.
func postgresName(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return "PostgreSQL"
	}
	return "PostgreSQL " + u.Host + u.Path
}

// defaultDatabaseTimeout is liftoff serve's --database-timeout default.
func defaultDatabaseTimeout() time.Duration { return server.DefaultDatabaseTimeout }
