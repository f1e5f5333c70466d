// Package sqlstore implements store.Store once, in SQL both SQLite and
// PostgreSQL accept ($n placeholders, RETURNING, ON CONFLICT, partial indexes,
// row values), on top of a small Driver seam that each dialect implements:
// how to read, how to write (alone or in a group commit), and how to run a
// transaction. Timestamps are
// integer milliseconds, booleans are compared with IS TRUE/IS FALSE-free
// expressions that both accept, and JSON is kept as text.
package sqlstore

import (
	"context"
)

// Conn runs statements. Implementations map their driver's errors to the
// store sentinels: no rows → store.ErrNotFound, a unique violation →
// store.ErrConflict, a closed or unreachable database → store.ErrUnavailable.
type Conn interface {
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is a result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result.
type Row interface {
	Scan(dest ...any) error
}

// Driver is what a dialect provides.
type Driver interface {
	// Read is the connection (or pool) for reads outside a transaction.
	Read() Conn
	// Write runs fn for a write that needs no transaction of its own; on
	// PostgreSQL each statement commits by itself, on SQLite fn shares a
	// group commit like Tx.
	Write(ctx context.Context, fn func(Conn) error) error
	// WriteBulk is Write for bulk appends (deployment output) that may wait
	// behind interactive writes: on SQLite, whose one writer orders every
	// commit, they commit after the interactive transactions queued with
	// them.
	WriteBulk(ctx context.Context, fn func(Conn) error) error
	// ExecGrouped runs one write statement that may commit together with
	// the grouped statements of concurrent callers, and returns the rows it
	// affected once it is committed: on PostgreSQL the statements queued
	// meanwhile are sent in one round trip and commit in one transaction,
	// in the order of their keys (among equal keys, in the order they
	// came), so that statements waiting on each other's rows (one unique
	// index) take them in one order everywhere; a group that fails runs
	// each of its statements again on its own. On SQLite it is Write's
	// group commit.
	ExecGrouped(ctx context.Context, key, query string, args ...any) (int64, error)
	// Tx runs fn in a transaction that commits when fn returns nil.
	Tx(ctx context.Context, fn func(Conn) error) error
	Ping(ctx context.Context) error
	// SchemaVersion is the newest migration applied to the database, 0
	// when there is none.
	SchemaVersion(ctx context.Context) (int64, error)
	// EmbeddedSchemaVersion is the newest migration the dialect embeds.
	EmbeddedSchemaVersion() int64
	Name() string
	Close() error
}
