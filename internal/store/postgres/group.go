package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/liftoffhq/liftoff/internal/store"
)

var errClosed = errors.New("postgres store is closed")

// grouper commits the grouped statements of concurrent callers together
// (sqlstore.Driver.ExecGrouped: a hook call's insert of its PENDING
// deployment). A statement waits in a queue; each of a few lanes takes
// what is queued when it is free and sends it as one pipeline (every
// statement, then one Sync: one round trip), which PostgreSQL runs as one
// implicit transaction and commits once. No caller is answered before its
// group's commit returned. A lone statement runs as it would ungrouped.
//
// The statements of a group run in the order of their keys (arrival order
// among equal keys): statements that wait on each other's rows (inserts
// into one unique index) take them in the same order in every group of
// every replica, so two groups never wait on each other. A statement that
// fails rolls its group back; each statement of the group then runs again
// on its own, to fail (or not) alone, as it would have ungrouped.
type grouper struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	reqs    chan *groupReq
	// groups counts the groups of more than one statement committed.
	groups atomic.Int64

	stopOnce sync.Once
	stop     chan struct{}
	// done is closed when every lane has returned.
	done chan struct{}
}

// groupMax bounds the statements of one group.
const groupMax = 128

// groupLanes is how many groups may be committing at once with a pool of
// maxConns connections: one per four connections, from one to four. Two
// lanes keep PostgreSQL busy while a group waits for its WAL flush; on a
// busy machine a few more keep one slow group from holding up the
// queue, and more than that split the queue into small groups that each
// pay a commit (measured by BenchmarkHookEndpoint on 2 cores).
func groupLanes(maxConns int32) int {
	return int(min(4, max(1, maxConns/4)))
}

type groupReq struct {
	ctx   context.Context
	key   string
	query string
	args  []any
	n     int64
	err   error
	done  chan struct{}
}

func newGrouper(pool *pgxpool.Pool, timeout time.Duration) *grouper {
	lanes := groupLanes(pool.Config().MaxConns)
	g := &grouper{
		pool:    pool,
		timeout: timeout,
		reqs:    make(chan *groupReq, groupMax*lanes),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	var wg sync.WaitGroup
	for range lanes {
		wg.Go(g.run)
	}
	go func() {
		wg.Wait()
		close(g.done)
	}()
	return g
}

// exec runs one statement in the next group and returns once that group
// committed (or failed), with the rows the statement affected.
func (g *grouper) exec(ctx context.Context, key, query string, args ...any) (int64, error) {
	req := &groupReq{ctx: ctx, key: key, query: query, args: args, done: make(chan struct{})}
	select {
	case <-g.stop:
		return 0, fmt.Errorf("%w: %w", store.ErrUnavailable, errClosed)
	default:
	}
	select {
	case g.reqs <- req:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-g.stop:
		return 0, fmt.Errorf("%w: %w", store.ErrUnavailable, errClosed)
	}
	// Once queued, wait for the outcome even if ctx ends: the group may
	// already be committing, and its caller must not be told otherwise.
	// The group's own deadline bounds the wait.
	select {
	case <-req.done:
		return req.n, req.err
	case <-g.done:
		// Queued as the lanes stopped: committed by their drain, or not
		// taken at all.
		select {
		case <-req.done:
			return req.n, req.err
		default:
			return 0, fmt.Errorf("%w: %w", store.ErrUnavailable, errClosed)
		}
	}
}

func (g *grouper) run() {
	group := make([]*groupReq, 0, groupMax)
	for {
		group = group[:0]
		select {
		case r := <-g.reqs:
			group = append(group, r)
		case <-g.stop:
			g.drainAtStop()
			return
		}
	collect:
		for len(group) < groupMax {
			select {
			case r := <-g.reqs:
				group = append(group, r)
			default:
				break collect
			}
		}
		g.commit(group)
	}
}

// drainAtStop commits what was queued before the stop.
func (g *grouper) drainAtStop() {
	for {
		select {
		case r := <-g.reqs:
			g.commit([]*groupReq{r})
		default:
			return
		}
	}
}

// commit runs a group and answers each of its callers.
func (g *grouper) commit(group []*groupReq) {
	// A caller that gave up before its statement was sent is answered so.
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		g.alone(live[0])
		return
	}
	slices.SortStableFunc(live, func(a, b *groupReq) int { return cmp.Compare(a.key, b.key) })
	err := g.pipeline(live)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		g.groups.Add(1)
		for _, r := range live {
			close(r.done)
		}
	case errors.As(err, &pgErr) && pgErr.Severity == "ERROR":
		// The server refused a statement (or the commit) and rolled the
		// group back; the connection is fine. Each statement runs again
		// on its own, to fail or commit as it would have alone.
		for _, r := range live {
			g.alone(r)
		}
	default:
		// The connection failed or timed out: whether the group committed
		// is unknown, as for a statement of its own that lost its
		// connection, so nothing runs again.
		err = mapErr(fmt.Errorf("group commit of %d statements: %w", len(live), err))
		for _, r := range live {
			r.n, r.err = 0, err
			close(r.done)
		}
	}
}

// pipeline sends the group in one round trip and reads every result and
// the commit. It sets each request's row count; the error is the first
// statement's, or the commit's.
func (g *grouper) pipeline(group []*groupReq) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	conn, err := g.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	b := &pgx.Batch{}
	for _, r := range group {
		b.Queue(r.query, r.args...)
	}
	// No BEGIN: the statements before one Sync run in one implicit
	// transaction, which PostgreSQL commits at the Sync; Close returns
	// once it has.
	br := conn.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	for _, r := range group {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		r.n = tag.RowsAffected()
	}
	return nil
}

// alone runs one statement in a transaction of its own, as an ungrouped
// write does.
func (g *grouper) alone(r *groupReq) {
	defer close(r.done)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), g.timeout)
	defer cancel()
	tag, err := g.pool.Exec(ctx, r.query, r.args...)
	if err != nil {
		r.n, r.err = 0, mapErr(err)
		return
	}
	r.n, r.err = tag.RowsAffected(), nil
}

// close commits what is queued and stops the lanes.
func (g *grouper) close() {
	g.stopOnce.Do(func() { close(g.stop) })
	<-g.done
}
