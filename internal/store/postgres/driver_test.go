package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/sqlstore"
)

// testDriver is a driver on the test server with the given timeout. It
// runs no migration: these tests use no table.
func testDriver(t *testing.T, timeout time.Duration) *driver {
	t.Helper()
	url := os.Getenv("LIFTOFF_TEST_DATABASE_URL")
	if url == "" {
		t.Skip("set LIFTOFF_TEST_DATABASE_URL to run the PostgreSQL tests")
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &driver{pool: pool, timeout: timeout}
}

// TestTimeoutBoundsStatements checks that a statement running past the
// timeout fails with ErrUnavailable instead of being waited for, outside
// and inside a transaction.
func TestTimeoutBoundsStatements(t *testing.T) {
	t.Parallel()
	d := testDriver(t, 300*time.Millisecond)
	ctx := context.Background()
	_, err := d.Read().Exec(ctx, "SELECT pg_sleep(30)")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a statement past the timeout: %v, want ErrUnavailable", err)
	}
	var n int
	err = d.Read().QueryRow(ctx, "SELECT 1 FROM pg_sleep(30)").Scan(&n)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a query past the timeout: %v, want ErrUnavailable", err)
	}
	err = d.Tx(ctx, func(c sqlstore.Conn) error {
		_, err := c.Exec(ctx, "SELECT pg_sleep(30)")
		return err
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a statement of a transaction past the timeout: %v, want ErrUnavailable", err)
	}
}

// TestLongTransactionOfQuickStatements runs a transaction that lasts three
// times the timeout, made of statements that each take a fraction of it:
// the timeout bounds statements, not transactions, so it commits.
func TestLongTransactionOfQuickStatements(t *testing.T) {
	t.Parallel()
	d := testDriver(t, 2*time.Second)
	ctx := context.Background()
	began := time.Now()
	err := d.Tx(ctx, func(c sqlstore.Conn) error {
		if _, err := c.Exec(ctx, "CREATE TEMPORARY TABLE t (n int) ON COMMIT DROP"); err != nil {
			return err
		}
		for i := range 12 {
			if _, err := c.Exec(ctx, "SELECT pg_sleep(0.5)"); err != nil {
				return fmt.Errorf("statement %d: %w", i, err)
			}
			rows, err := c.Query(ctx, "INSERT INTO t VALUES ($1) RETURNING n", i)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("after %s: %v", time.Since(began), err)
	}
	if took := time.Since(began); took < 3*d.timeout {
		t.Fatalf("the transaction took %s, not longer than the timeout: the test proves nothing", took)
	}
}

func TestMapErr(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want error
	}{
		{&pgconn.PgError{Code: "3D000"}, store.ErrUnavailable}, // database dropped
		{&pgconn.PgError{Code: "42P01"}, store.ErrUnavailable}, // tables gone
		{&pgconn.PgError{Code: "3F000"}, store.ErrUnavailable}, // schema dropped
		{&pgconn.PgError{Code: "57P01"}, store.ErrUnavailable}, // admin shutdown
		{&pgconn.PgError{Code: "57014"}, store.ErrUnavailable}, // statement timeout
		{&pgconn.PgError{Code: "08006"}, store.ErrUnavailable}, // connection failure
		{&pgconn.PgError{Code: "53300"}, store.ErrUnavailable}, // too many connections
		{&pgconn.PgError{Code: "28P01"}, store.ErrUnavailable}, // password changed
		{&pgconn.PgError{Code: "23505"}, store.ErrConflict},    // unique violation
		{&pgconn.PgError{Code: "22021"}, nil},                  // a NUL byte: the caller's fault
		{&pgconn.PgError{Code: "42703"}, nil},                  // a bug
		{context.DeadlineExceeded, store.ErrUnavailable},
		{fmt.Errorf("connect: %w", &pgconn.ConnectError{}), store.ErrUnavailable},
	} {
		got := mapErr(c.err)
		if c.want == nil {
			if errors.Is(got, store.ErrUnavailable) || errors.Is(got, store.ErrConflict) || errors.Is(got, store.ErrNotFound) {
				t.Errorf("mapErr(%v) = %v, want it unmapped", c.err, got)
			}
			continue
		}
		if !errors.Is(got, c.want) {
			t.Errorf("mapErr(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
