package sqlstore

import (
	"context"

	"github.com/liftoffhq/liftoff/internal/store"
)

// Store implements store.Store on a Driver.
type Store struct {
	queries
	driver Driver
}

var _ store.Store = (*Store)(nil)

// New returns a Store over d.
func New(d Driver) *Store {
	return &Store{queries: queries{read: d.Read(), write: d.Write, writeBulk: d.WriteBulk, grouped: d.ExecGrouped, tx: d.Tx,
		dialect: d.Name()}, driver: d}
}

// Tx implements store.Store.
func (s *Store) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	return s.driver.Tx(ctx, func(c Conn) error {
		return fn(s.queries.in(c))
	})
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error { return s.driver.Ping(ctx) }

// SchemaVersion implements store.Store.
func (s *Store) SchemaVersion(ctx context.Context) (store.SchemaVersion, error) {
	v, err := s.driver.SchemaVersion(ctx)
	return store.SchemaVersion{Current: v, Embedded: s.driver.EmbeddedSchemaVersion()}, err
}

// Dialect implements store.Store.
func (s *Store) Dialect() string { return s.driver.Name() }

// Close implements store.Store.
func (s *Store) Close() error { return s.driver.Close() }

// queries implements store.Queries. Inside a transaction read and write use
// the transaction; outside, read uses the driver's read pool and write the
// driver's write path.
type queries struct {
	read      Conn
	write     func(ctx context.Context, fn func(Conn) error) error
	writeBulk func(ctx context.Context, fn func(Conn) error) error
	// grouped runs one statement in a group commit (Driver.ExecGrouped),
	// or in the transaction the queries are bound to.
	grouped func(ctx context.Context, key, query string, args ...any) (int64, error)
	// tx runs fn in a transaction of its own (outside Tx), or in the one
	// the queries are bound to.
	tx      func(ctx context.Context, fn func(Conn) error) error
	dialect string
}

// in returns the queries bound to one connection (a transaction).
func (q queries) in(c Conn) queries {
	write := func(_ context.Context, f func(Conn) error) error { return f(c) }
	grouped := func(ctx context.Context, _, query string, args ...any) (int64, error) {
		return c.Exec(ctx, query, args...)
	}
	return queries{read: c, write: write, writeBulk: write, grouped: grouped, tx: write, dialect: q.dialect}
}

// skipLocked is what a PostgreSQL claim adds so that concurrent workers pass
// over each other's rows instead of queueing on them; SQLite has a single
// writer and needs nothing.
func (q queries) skipLocked() string {
	if q.dialect == "postgres" {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// exec runs one write statement.
func (q queries) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := q.write(ctx, func(c Conn) error {
		var err error
		n, err = c.Exec(ctx, query, args...)
		return err
	})
	return n, err
}
