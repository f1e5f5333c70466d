package sqlstore

import (
	"context"
	"time"
)

// Observe is told how long each store call took, by kind: "read" (a query
// outside a transaction, until its first row is there), "write" (a
// statement committed on its own, or in a group commit),
// "write_bulk" (output), "tx" (a transaction, from BEGIN to COMMIT).
type Observe func(op string, took time.Duration)

// Observed returns d with every call timed for observe.
func Observed(d Driver, observe Observe) Driver {
	return observedDriver{Driver: d, observe: observe}
}

type observedDriver struct {
	Driver
	observe Observe
}

func (d observedDriver) Read() Conn { return observedConn{Conn: d.Driver.Read(), observe: d.observe} }

func (d observedDriver) Write(ctx context.Context, fn func(Conn) error) error {
	defer d.timed("write")()
	return d.Driver.Write(ctx, fn)
}

func (d observedDriver) ExecGrouped(ctx context.Context, key, query string, args ...any) (int64, error) {
	defer d.timed("write")()
	return d.Driver.ExecGrouped(ctx, key, query, args...)
}

func (d observedDriver) WriteBulk(ctx context.Context, fn func(Conn) error) error {
	defer d.timed("write_bulk")()
	return d.Driver.WriteBulk(ctx, fn)
}

func (d observedDriver) Tx(ctx context.Context, fn func(Conn) error) error {
	defer d.timed("tx")()
	return d.Driver.Tx(ctx, fn)
}

func (d observedDriver) timed(op string) func() {
	start := time.Now()
	return func() { d.observe(op, time.Since(start)) }
}

// observedConn times the reads outside a transaction.
type observedConn struct {
	Conn
	observe Observe
}

func (c observedConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	start := time.Now()
	defer func() { c.observe("write", time.Since(start)) }()
	return c.Conn.Exec(ctx, query, args...)
}

func (c observedConn) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	start := time.Now()
	defer func() { c.observe("read", time.Since(start)) }()
	return c.Conn.Query(ctx, query, args...)
}

func (c observedConn) QueryRow(ctx context.Context, query string, args ...any) Row {
	start := time.Now()
	return observedRow{Row: c.Conn.QueryRow(ctx, query, args...), start: start, observe: c.observe}
}

// observedRow times a single-row read until its Scan, where the query
// runs.
type observedRow struct {
	Row
	start   time.Time
	observe Observe
}

func (r observedRow) Scan(dest ...any) error {
	defer func() { r.observe("read", time.Since(r.start)) }()
	return r.Row.Scan(dest...)
}
