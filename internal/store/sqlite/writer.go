package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/sqlstore"
)

var errClosed = errors.New("sqlite store is closed")

// writer owns the only write connection. Transactions queued while a commit
// is under way run one after another, each inside a savepoint, and commit
// together: a transaction that fails rolls back to its savepoint without
// touching the others, and none of them is reported durable before the
// shared COMMIT returned.
type writer struct {
	db       *sql.DB
	reqs     chan *writeReq
	maxBatch int
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

type writeReq struct {
	ctx    context.Context
	fn     func(sqlstore.Conn) error
	err    error
	result chan error
}

func newWriter(db *sql.DB, maxBatch int) *writer {
	w := &writer{
		db:       db,
		reqs:     make(chan *writeReq, maxBatch),
		maxBatch: maxBatch,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go w.run()
	return w
}

// do runs fn in a transaction and returns once it is committed (or failed).
func (w *writer) do(ctx context.Context, fn func(sqlstore.Conn) error) error {
	req := &writeReq{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case <-w.stop:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, errClosed)
	default:
	}
	select {
	case w.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stop:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, errClosed)
	}
	// Once queued, wait for the outcome even if ctx ends: the transaction may
	// already be committing, and its caller must not be told otherwise.
	select {
	case err := <-req.result:
		return err
	case <-w.done:
		select {
		case err := <-req.result:
			return err
		default:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, errClosed)
		}
	}
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*writeReq, 0, w.maxBatch)
	for {
		var first *writeReq
		select {
		case first = <-w.reqs:
		case <-w.stop:
			// Finish what was queued before the stop.
			for {
				select {
				case r := <-w.reqs:
					w.commit([]*writeReq{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	collect:
		for len(batch) < w.maxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break collect
			}
		}
		w.commit(batch)
	}
}

func (w *writer) commit(batch []*writeReq) {
	bg := context.Background()
	fail := func(err error) {
		err = mapErr(err)
		for _, r := range batch {
			r.result <- err
		}
	}
	tx, err := w.db.BeginTx(bg, nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	conn := sqlConn{db: tx}
	if len(batch) == 1 {
		r := batch[0]
		if err := call(r, conn); err != nil {
			_ = tx.Rollback()
			r.result <- err
			return
		}
	} else {
		for _, r := range batch {
			if _, err := tx.ExecContext(bg, "SAVEPOINT batch"); err != nil {
				_ = tx.Rollback()
				fail(fmt.Errorf("savepoint: %w", err))
				return
			}
			r.err = call(r, conn)
			if r.err != nil {
				if _, err := tx.ExecContext(bg, "ROLLBACK TO batch"); err != nil {
					_ = tx.Rollback()
					fail(fmt.Errorf("rollback to savepoint: %w", err))
					return
				}
			}
			if _, err := tx.ExecContext(bg, "RELEASE batch"); err != nil {
				_ = tx.Rollback()
				fail(fmt.Errorf("release savepoint: %w", err))
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for _, r := range batch {
		r.result <- r.err
	}
}

// call runs one transaction body, turning a panic into an error so one bad
// caller cannot take the writer down with it.
func call(r *writeReq, c sqlstore.Conn) (err error) {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in transaction: %v", p)
		}
	}()
	return r.fn(c)
}

func (w *writer) close() error {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
	return w.db.Close()
}
