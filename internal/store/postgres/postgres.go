// Package postgres is the store dialect for PostgreSQL through pgx and
// pgxpool. Any number of Liftoff replicas may share one database: migrations
// take a session advisory lock, and every rule that must hold across replicas
// (one PENDING and one running deployment per environment instance) is a
// unique index, not a lock in memory.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strings"

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

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string; pool settings such as pool_max_conns are honoured) and
// migrates it.
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, mapErr(err))
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return sqlstore.New(&driver{pool: pool}), nil
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

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer func() { _ = db.Close() }()
	// The advisory lock is per database and schema, so installations (and
	// tests) in different schemas of one database migrate independently.
	var where string
	if err := pool.QueryRow(ctx, `SELECT current_database() || '.' || current_schema()`).Scan(&where); err != nil {
		return fmt.Errorf("migration lock: %w", mapErr(err))
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("liftoff-migrations:" + where))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 600))
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	return nil
}

type driver struct {
	pool *pgxpool.Pool
}

// Pool exposes the pool to packages that need PostgreSQL itself (LISTEN).
func (d *driver) Pool() *pgxpool.Pool { return d.pool }

func (d *driver) Read() sqlstore.Conn { return pgConn{d.pool} }

func (d *driver) Write(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return fn(pgConn{d.pool})
}

// WriteBulk is Write: PostgreSQL has no single writer to order; the
// callers' bounded batches keep each transaction short.
func (d *driver) WriteBulk(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return d.Write(ctx, fn)
}

func (d *driver) Tx(ctx context.Context, fn func(sqlstore.Conn) error) error {
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return fn(pgConn{tx}) })
	return mapErr(err)
}

func (d *driver) Ping(ctx context.Context) error { return mapErr(d.pool.Ping(ctx)) }

func (d *driver) Name() string { return "postgres" }

func (d *driver) Close() error {
	d.pool.Close()
	return nil
}

// querier is what *pgxpool.Pool and pgx.Tx share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type pgConn struct{ q querier }

func (c pgConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return tag.RowsAffected(), nil
}

func (c pgConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := c.q.Query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	return pgRows{rows}, nil
}

func (c pgConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return pgRow{c.q.QueryRow(ctx, query, args...)}
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Scan(dest ...any) error { return mapErr(r.Rows.Scan(dest...)) }
func (r pgRows) Err() error             { return mapErr(r.Rows.Err()) }

type pgRow struct{ pgx.Row }

func (r pgRow) Scan(dest ...any) error { return mapErr(r.Row.Scan(dest...)) }

// mapErr maps pgx errors to the store sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case pgErr.Code[:2] == "08", pgErr.Code[:2] == "57", pgErr.Code == "53300": // connection, shutdown, too many connections
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	if pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "closed pool") /* puddle.ErrClosedPool, behind pgxpool */ || isConnectError(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}
