// Package postgres is the store dialect for PostgreSQL through pgx and
// pgxpool. Any number of Liftoff replicas may share one database: migrations
// take a session advisory lock, every rule that must hold across replicas
// (one PENDING and one running deployment per environment instance) is a
// unique index, not a lock in memory, and the enqueues of one instance take
// turns on a transaction-scoped advisory lock (store.Queries.LockInstance).
//
// Concurrent hook calls that insert a PENDING deployment commit together:
// the statements queued while a group commits are sent as the next group,
// in one round trip and one transaction (see grouper), as SQLite's writer
// commits its transactions together.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net"
	neturl "net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune the store. Timeout, an operator's setting, is required:
// liftoff serve passes it from server.Config, where its default lives.
type Options struct {
	// Timeout bounds every database call: connecting (unless the URL sets
	// connect_timeout), waiting for a pooled connection, and each statement,
	// BEGIN and COMMIT of a transaction included. It is a deadline on the
	// client's side, so a partitioned network cannot hang a caller; pgx then
	// closes the connection. A transaction as a whole is not bounded, only
	// each of its statements. A call past it fails with
	// store.ErrUnavailable. Migrations at Open are not bounded. Required,
	// positive (liftoff serve --database-timeout).
	//
	// No statement_timeout is sent to the server: connection poolers such
	// as PgBouncer refuse it as a startup parameter. Add one to the URL
	// (statement_timeout=5000) where the server takes it.
	Timeout time.Duration
	// Observe, if set, is told how long each call took.
	Observe sqlstore.Observe
}

// DefaultMaxConns is the pool's size when the URL names none
// (pool_max_conns): pgx's own default (the number of CPUs, at least 4)
// held the hook path of one replica on 2 cores to a third of what 16
// serve there.
const DefaultMaxConns = 16

// poolConfig parses url into the pool's settings, with Liftoff's defaults
// where the URL says nothing.
func poolConfig(url string, timeout time.Duration) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = timeout
	}
	if !namesMaxConns(url) {
		cfg.MaxConns = DefaultMaxConns
	}
	return cfg, nil
}

// namesMaxConns reports whether a database URL (postgres://…) or key=value
// connection string sets pool_max_conns.
func namesMaxConns(dsn string) bool {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := neturl.Parse(dsn)
		return err == nil && u.Query().Has("pool_max_conns")
	}
	for _, f := range strings.Fields(dsn) {
		if strings.HasPrefix(f, "pool_max_conns=") {
			return true
		}
	}
	return false
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string; pool settings such as pool_max_conns are honoured) and
// migrates it.
func Open(ctx context.Context, url string, opts Options) (*sqlstore.Store, error) {
	if opts.Timeout <= 0 {
		return nil, fmt.Errorf("postgres: Options.Timeout %s must be positive, e.g. 5s", opts.Timeout)
	}
	pool, err := connect(ctx, url, opts.Timeout)
	if err != nil {
		return nil, err
	}
	embedded, err := migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	var d sqlstore.Driver = &driver{pool: pool, timeout: opts.Timeout, embedded: embedded, group: newGrouper(pool, opts.Timeout)}
	if opts.Observe != nil {
		d = sqlstore.Observed(d, opts.Observe)
	}
	return sqlstore.New(d), nil
}

// connect opens a pool on url and checks that the database answers;
// timeout bounds connecting unless the URL sets connect_timeout.
func connect(ctx context.Context, url string, timeout time.Duration) (*pgxpool.Pool, error) {
	cfg, err := poolConfig(url, timeout)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, mapErr(err))
	}
	return pool, nil
}

// Migrations are the dialect's numbered migrations, for tests that build a
// database as an older Liftoff left it.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded: it exists
	}
	return sub
}

// migrate applies the embedded migrations and returns the newest one's
// version.
func migrate(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer func() { _ = db.Close() }()
	p, err := newProvider(ctx, pool, db)
	if err != nil {
		return 0, err
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrate postgres: %w", err)
	}
	sources := p.ListSources()
	return sources[len(sources)-1].Version, nil
}

// newProvider is goose over db (pool's), holding a session advisory lock
// while it migrates so that replicas starting together migrate once.
func newProvider(ctx context.Context, pool *pgxpool.Pool, db *sql.DB) (*goose.Provider, error) {
	// The advisory lock is per database and schema, so installations (and
	// tests) in different schemas of one database migrate independently.
	var where string
	if err := pool.QueryRow(ctx, `SELECT current_database() || '.' || current_schema()`).Scan(&where); err != nil {
		return nil, fmt.Errorf("migration lock: %w", mapErr(err))
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("liftoff-migrations:" + where))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 600))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(), goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

type driver struct {
	pool     *pgxpool.Pool
	timeout  time.Duration
	embedded int64 // the newest migration this binary embeds
	group    *grouper
}

// Pool exposes the pool to packages that need PostgreSQL itself (LISTEN).
func (d *driver) Pool() *pgxpool.Pool { return d.pool }

func (d *driver) Read() sqlstore.Conn { return pgConn{q: d.pool, timeout: d.timeout} }

func (d *driver) Write(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return fn(pgConn{q: d.pool, timeout: d.timeout})
}

// ExecGrouped implements sqlstore.Driver: the statement commits in a group
// with those of concurrent callers (see grouper).
func (d *driver) ExecGrouped(ctx context.Context, key, query string, args ...any) (int64, error) {
	return d.group.exec(ctx, key, query, args...)
}

// WriteBulk is Write: PostgreSQL has no single writer to order; the
// callers' bounded batches keep each transaction short.
func (d *driver) WriteBulk(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return d.Write(ctx, fn)
}

// Tx bounds BEGIN (with the wait for a connection), each statement and
// COMMIT by the timeout, never the whole transaction: a long transaction of
// quick statements is fine, a statement the network swallowed is not.
func (d *driver) Tx(ctx context.Context, fn func(sqlstore.Conn) error) (err error) {
	bctx, cancel := context.WithTimeout(ctx, d.timeout)
	tx, err := d.pool.Begin(bctx)
	cancel()
	if err != nil {
		return mapErr(err)
	}
	defer func() {
		if err != nil {
			// Detached from ctx: a cancelled caller still rolls back.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
			defer cancel()
			_ = tx.Rollback(rctx)
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
			defer cancel()
			_ = tx.Rollback(rctx)
			panic(p)
		}
	}()
	if err = fn(pgConn{q: tx, timeout: d.timeout}); err != nil {
		return mapErr(err)
	}
	cctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	err = mapErr(tx.Commit(cctx))
	return err
}

func (d *driver) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	return mapErr(d.pool.Ping(ctx))
}

// SchemaVersion implements sqlstore.Driver. A database without goose's
// table (dropped and created again empty) is at version 0.
func (d *driver) SchemaVersion(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	var exists bool
	if err := d.pool.QueryRow(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, mapErr(err)
	}
	if !exists {
		return 0, nil
	}
	var v *int64
	if err := d.pool.QueryRow(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		return 0, mapErr(err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// EmbeddedSchemaVersion implements sqlstore.Driver.
func (d *driver) EmbeddedSchemaVersion() int64 { return d.embedded }

func (d *driver) Name() string { return "postgres" }

func (d *driver) Close() error {
	d.group.close()
	d.pool.Close()
	return nil
}

// querier is what *pgxpool.Pool and pgx.Tx share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgConn bounds each statement by timeout. The context of a query lives
// until its rows are closed (or its row scanned), as pgx reads them lazily.
type pgConn struct {
	q       querier
	timeout time.Duration
}

func (c pgConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	tag, err := c.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return tag.RowsAffected(), nil
}

func (c pgConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	rows, err := c.q.Query(ctx, query, args...)
	if err != nil {
		cancel()
		return nil, mapErr(err)
	}
	return pgRows{Rows: rows, cancel: cancel}, nil
}

func (c pgConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	return pgRow{Row: c.q.QueryRow(ctx, query, args...), cancel: cancel}
}

type pgRows struct {
	pgx.Rows
	cancel context.CancelFunc
}

func (r pgRows) Scan(dest ...any) error { return mapErr(r.Rows.Scan(dest...)) }
func (r pgRows) Err() error             { return mapErr(r.Rows.Err()) }
func (r pgRows) Close() {
	r.Rows.Close()
	r.cancel()
}

type pgRow struct {
	pgx.Row
	cancel context.CancelFunc
}

func (r pgRow) Scan(dest ...any) error {
	defer r.cancel()
	return mapErr(r.Row.Scan(dest...))
}

// mapErr maps pgx errors to the store sentinels. Everything that says the
// database is not there to answer (unreachable, shutting down, dropped,
// its schema gone, a call past its deadline) is store.ErrUnavailable: a
// caller should retry later, and it is not the request's fault.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || isConnectError(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case unavailable(pgErr.Code):
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || strings.Contains(err.Error(), "closed pool") /* puddle.ErrClosedPool, behind pgxpool */ {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// unavailable reports whether a SQLSTATE says the database cannot serve
// right now rather than that the statement was wrong.
func unavailable(code string) bool {
	if len(code) != 5 {
		return false
	}
	switch code[:2] {
	case "08", // connection exception
		"57", // operator intervention: admin shutdown, statement timeout, cannot connect now
		"53", // insufficient resources: too many connections, disk full, out of memory
		"58": // system error: I/O
		return true
	}
	switch code {
	case "3D000", // invalid_catalog_name: the database was dropped
		"3F000", // invalid_schema_name: the schema was dropped
		"42P01", // undefined_table: the tables are gone (a database created again empty)
		"28000", // invalid_authorization_specification
		"28P01": // invalid_password: credentials changed under us
		return true
	}
	return false
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}
