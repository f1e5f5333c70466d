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
//
// Transactions have a priority. Interactive ones (hook calls, API writes,
// the engine's status updates) go first; bulk ones (deployment output) go
// after them, at most one per commit. A flood of output therefore delays an
// interactive commit by at most the commit under way and one bulk
// transaction (both bounded by their callers), and output still moves on
// at one batch per commit however busy the interactive queue is.
type writer struct {
	db       *sql.DB
	reqs     chan *writeReq // interactive
	bulk     chan *writeReq
	maxBatch int
	// commits counts the commits begun, the one under way included. Only
	// the writer's goroutine, which also runs every transaction body,
	// touches it: a body can read which commit it is part of.
	commits  int
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
		bulk:     make(chan *writeReq, maxBatch),
		maxBatch: maxBatch,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go w.run()
	return w
}

// do runs fn in a transaction and returns once it is committed (or failed).
func (w *writer) do(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return w.queue(ctx, w.reqs, fn)
}

// doBulk is do for a bulk transaction, which commits after the interactive
// ones queued with it.
func (w *writer) doBulk(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return w.queue(ctx, w.bulk, fn)
}

func (w *writer) queue(ctx context.Context, q chan *writeReq, fn func(sqlstore.Conn) error) error {
	req := &writeReq{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case <-w.stop:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, errClosed)
	default:
	}
	select {
	case q <- req:
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
	batch := make([]*writeReq, 0, w.maxBatch+1)
	for {
		batch = batch[:0]
		var bulk *writeReq
		// An interactive transaction waiting wins over a bulk one.
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
		default:
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			case bulk = <-w.bulk:
			case <-w.stop:
				w.drainAtStop()
				return
			}
		}
	collect:
		for len(batch) < w.maxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break collect
			}
		}
		if bulk == nil {
			select {
			case bulk = <-w.bulk:
			default:
			}
		}
		if bulk != nil {
			// After the interactive transactions, which were waiting for it.
			batch = append(batch, bulk)
		}
		w.commit(batch)
	}
}

// drainAtStop commits what was queued before the stop.
func (w *writer) drainAtStop() {
	for {
		select {
		case r := <-w.reqs:
			w.commit([]*writeReq{r})
		case r := <-w.bulk:
			w.commit([]*writeReq{r})
		default:
			return
		}
	}
}

func (w *writer) commit(batch []*writeReq) {
	w.commits++
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
