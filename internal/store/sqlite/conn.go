package sqlite

import (
	"context"
	"database/sql"
	"io/fs"

	"github.com/liftoffhq/liftoff/internal/store/sqlstore"
)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqlConn adapts database/sql to sqlstore.Conn, mapping errors.
type sqlConn struct{ db querier }

func (c sqlConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n, mapErr(err)
}

func (c sqlConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := c.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	return sqlRows{rows}, nil
}

func (c sqlConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return sqlRow{c.db.QueryRowContext(ctx, query, args...)}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Scan(dest ...any) error { return mapErr(r.Rows.Scan(dest...)) }
func (r sqlRows) Err() error             { return mapErr(r.Rows.Err()) }
func (r sqlRows) Close()                 { _ = r.Rows.Close() }

type sqlRow struct{ *sql.Row }

func (r sqlRow) Scan(dest ...any) error { return mapErr(r.Row.Scan(dest...)) }

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	return sub
}
