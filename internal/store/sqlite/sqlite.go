// Package sqlite is the embedded store dialect: SQLite through
// modernc.org/sqlite (pure Go), in WAL mode with synchronous=FULL so a
// committed write survives a power loss.
//
// Reads use a pool of read-only connections; every write goes through one
// writer connection that commits concurrent transactions together (group
// commit): one fsync for many hook calls, instead of one each. The writer is
// the reason SQLite answers more writes per second here than a pool of
// writers would (../../../BENCHMARKS.md of the workplace measured a pool of
// writers as slower with far worse tail latency).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune the store. Zero values take the defaults.
type Options struct {
	// ReadConns is the size of the read pool. Default: 2 × GOMAXPROCS, at least 4.
	ReadConns int
	// MaxBatch bounds how many transactions share one commit. Default 256.
	MaxBatch int
	// Observe, if set, is told how long each call took.
	Observe sqlstore.Observe
}

// Open opens (creating if needed) the database file at path and migrates it.
// The database and its -wal and -shm files are made readable by their owner
// only (0600): they hold every project's configuration and every
// deployment's output.
func Open(ctx context.Context, path string, opts Options) (*sqlstore.Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	d, err := openDriver(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	if opts.Observe != nil {
		return sqlstore.New(sqlstore.Observed(d, opts.Observe)), nil
	}
	return sqlstore.New(d), nil
}

// ownerOnly creates the database file 0600 when it is missing (SQLite gives
// its -wal and -shm files the database file's mode) and takes group and
// other permissions away from the files that exist.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open sqlite %s: %w", path, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("make %s readable by its owner only: %w", p, err)
			}
		}
	}
	return nil
}

func dsn(path string, txlock string, pragmas ...string) string {
	v := url.Values{}
	for _, p := range pragmas {
		v.Add("_pragma", p)
	}
	if txlock != "" {
		v.Set("_txlock", txlock)
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + v.Encode()
}

func openDriver(ctx context.Context, path string, opts Options) (*driver, error) {
	if opts.ReadConns <= 0 {
		opts.ReadConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	common := []string{"busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"}
	// BEGIN IMMEDIATE: a write transaction takes the write lock up front, so
	// another process writing meanwhile (liftoff apikeys create) makes it
	// wait (busy_timeout) instead of failing when it upgrades from reading.
	wdb, err := sql.Open("sqlite", dsn(path, "immediate", append([]string{"journal_mode(WAL)"}, common...)...))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if err := wdb.PingContext(ctx); err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	embedded, err := migrate(ctx, wdb)
	if err != nil {
		_ = wdb.Close()
		return nil, err
	}
	file, err := os.Stat(path)
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Readers open the file without creating it (mode=rw): a database
	// file removed under a running server fails their calls instead of
	// quietly starting an empty database beside it.
	rdb, err := sql.Open("sqlite", dsn(path, "", append([]string{"query_only(1)"}, common...)...)+"&mode=rw")
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(opts.ReadConns)
	rdb.SetMaxIdleConns(opts.ReadConns)
	d := &driver{
		read:     sqlConn{db: rdb},
		rdb:      rdb,
		w:        newWriter(wdb, opts.MaxBatch),
		path:     path,
		file:     file,
		embedded: embedded,
	}
	return d, nil
}

// Migrations are the dialect's numbered migrations, for tests that build a
// database as an older Liftoff left it.
func Migrations() fs.FS { return mustSub(migrations, "migrations") }

// migrate applies the embedded migrations and returns the newest one's
// version.
func migrate(ctx context.Context, db *sql.DB) (int64, error) {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, mustSub(migrations, "migrations"))
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrate sqlite: %w", err)
	}
	sources := p.ListSources()
	return sources[len(sources)-1].Version, nil
}

type driver struct {
	read     sqlConn
	rdb      *sql.DB
	w        *writer
	path     string
	file     os.FileInfo // the database file as opened
	embedded int64       // the newest migration this binary embeds
}

func (d *driver) Read() sqlstore.Conn { return d.read }

func (d *driver) Write(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return d.w.do(ctx, fn)
}

func (d *driver) WriteBulk(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return d.w.doBulk(ctx, fn)
}

// ExecGrouped implements sqlstore.Driver: every write commits in the
// writer's group commit already, in the order the writer took them.
func (d *driver) ExecGrouped(ctx context.Context, _ string, query string, args ...any) (int64, error) {
	var n int64
	err := d.w.do(ctx, func(c sqlstore.Conn) error {
		var err error
		n, err = c.Exec(ctx, query, args...)
		return err
	})
	return n, err
}

func (d *driver) Tx(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return d.w.do(ctx, fn)
}

func (d *driver) Ping(ctx context.Context) error {
	if err := d.rdb.PingContext(ctx); err != nil {
		return mapErr(err)
	}
	return nil
}

// SchemaVersion implements sqlstore.Driver. The file must still be the
// one that was opened: open connections keep working on a removed or
// replaced file, and everything they write would be lost.
func (d *driver) SchemaVersion(ctx context.Context) (int64, error) {
	fi, err := os.Stat(d.path)
	if err != nil || !os.SameFile(fi, d.file) {
		return 0, fmt.Errorf("%w: the database file %s was removed or replaced while Liftoff ran; restart Liftoff",
			store.ErrUnavailable, d.path)
	}
	var tables int
	if err := d.rdb.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`).Scan(&tables); err != nil {
		return 0, mapErr(err)
	}
	if tables == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := d.rdb.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		return 0, mapErr(err)
	}
	return v.Int64, nil
}

// EmbeddedSchemaVersion implements sqlstore.Driver.
func (d *driver) EmbeddedSchemaVersion() int64 { return d.embedded }

func (d *driver) Name() string { return "sqlite" }

func (d *driver) Close() error {
	werr := d.w.close()
	rerr := d.rdb.Close()
	return errors.Join(werr, rerr)
}

// mapErr maps database/sql and SQLite errors to the store sentinels. A
// database file that is gone, unreadable or not a database, and tables that
// are gone, are store.ErrUnavailable: the database cannot serve, whatever
// the request.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, errClosed) || err.Error() == "sql: database is closed" {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
		// Extended result codes are on: compare the primary code.
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		case sqlite3.SQLITE_ERROR:
			if strings.Contains(se.Error(), "no such table") {
				return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
			}
		}
	}
	return err
}
