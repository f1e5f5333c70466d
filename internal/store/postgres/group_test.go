package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/liftoffhq/liftoff/internal/store"
)

// groupHarness is a grouper on a pool of 16 connections (four lanes) in
// a schema of its own, with a table of unique keys, and a way to hold
// every lane: a lane inserting a key that another transaction inserted
// and has not committed waits for that transaction.
type groupHarness struct {
	t    *testing.T
	ctx  context.Context
	url  string
	pool *pgxpool.Pool
	g    *grouper
	// holders[i] holds lane i (hold).
	holders []pgx.Tx
	held    sync.WaitGroup
}

func newGroupHarness(t *testing.T) *groupHarness {
	t.Helper()
	base := os.Getenv("LIFTOFF_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("set LIFTOFF_TEST_DATABASE_URL to run the PostgreSQL tests")
	}
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "liftoff_group_" + hex.EncodeToString(b[:])
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	h := &groupHarness{t: t, ctx: ctx, url: u.String()}
	cfg, err := pgxpool.ParseConfig(h.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = DefaultMaxConns
	if h.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.pool.Close)
	if _, err := h.pool.Exec(ctx, `CREATE TABLE g (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	h.g = newGrouper(h.pool, 10*time.Second)
	t.Cleanup(func() {
		for _, tx := range h.holders {
			_ = tx.Rollback(context.Background())
		}
		h.held.Wait()
		h.g.close()
	})
	return h
}

// hold makes every lane wait, one after another, on a transaction of the
// test's; release(i) lets lane i go.
func (h *groupHarness) hold() {
	h.t.Helper()
	for i := range groupLanes(h.pool.Config().MaxConns) {
		conn, err := pgx.Connect(h.ctx, h.url)
		if err != nil {
			h.t.Fatal(err)
		}
		h.t.Cleanup(func() { _ = conn.Close(context.Background()) })
		tx, err := conn.Begin(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		k := fmt.Sprintf("hold-%d", i)
		if _, err := tx.Exec(h.ctx, `INSERT INTO g (k) VALUES ($1)`, k); err != nil {
			h.t.Fatal(err)
		}
		var pid int
		if err := conn.QueryRow(h.ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			h.t.Fatal(err)
		}
		h.holders = append(h.holders, tx)
		h.held.Go(func() {
			if _, err := h.g.exec(h.ctx, k, `INSERT INTO g (k) VALUES ($1) ON CONFLICT (k) DO NOTHING`, k); err != nil {
				h.t.Errorf("lane %d: %v", i, err)
			}
		})
		// Lane i is held once its statement waits for the transaction.
		h.waitFor(func() bool {
			var n int
			err := h.pool.QueryRow(h.ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, pid).Scan(&n)
			return err == nil && n == 1
		}, "lane %d to wait", i)
	}
}

func (h *groupHarness) release(i int) {
	h.t.Helper()
	if err := h.holders[i].Commit(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

// waitFor polls cond, which reads the database or the queue, until it
// holds.
func (h *groupHarness) waitFor(cond func() bool, what string, args ...any) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for "+what, args...)
		}
		time.Sleep(time.Millisecond)
	}
}

// queue starts one grouped insert of each key, in the order given, and
// returns once they are all queued; wait gives their outcomes.
func (h *groupHarness) queue(ctxs []context.Context, stmts ...string) (wait func() []error) {
	h.t.Helper()
	errs := make([]error, len(stmts))
	var wg sync.WaitGroup
	for i, k := range stmts {
		ctx := h.ctx
		if ctxs != nil {
			ctx = ctxs[i]
		}
		before := len(h.g.reqs)
		wg.Go(func() {
			query := `INSERT INTO g (k) VALUES ($1)`
			n, err := h.g.exec(ctx, k, query, k)
			if err == nil && n != 1 {
				err = fmt.Errorf("%d rows inserted", n)
			}
			errs[i] = err
		})
		// One at a time, so that the queue holds them in this order.
		h.waitFor(func() bool { return len(h.g.reqs) == before+1 }, "%s to be queued", k)
	}
	return func() []error {
		wg.Wait()
		return errs
	}
}

// keysByID lists the keys of the table in the order they were inserted.
func (h *groupHarness) keysByID() []string {
	h.t.Helper()
	rows, err := h.pool.Query(h.ctx, `SELECT k FROM g WHERE k NOT LIKE 'hold-%' ORDER BY id`)
	if err != nil {
		h.t.Fatal(err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		h.t.Fatal(err)
	}
	return keys
}

// TestGroupCommit queues statements while every lane is busy: the first
// lane to be free sends them all in one group, which commits them in the
// order of their keys; a caller that gave up while queued is answered
// with its context's error and its statement is not run.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	h := newGroupHarness(t)
	h.hold()
	gaveUp, cancel := context.WithCancel(h.ctx)
	ctxs := []context.Context{h.ctx, h.ctx, gaveUp, h.ctx, h.ctx}
	wait := h.queue(ctxs, "e", "c", "gave up", "a", "d")
	cancel()
	h.release(0)
	errs := wait()
	for i, err := range errs {
		if i == 2 {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("the caller that gave up: %v, want context.Canceled", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("statement %d: %v", i, err)
		}
	}
	if n := h.g.groups.Load(); n != 1 {
		t.Errorf("%d groups committed, want 1", n)
	}
	// Committed, and read through another connection.
	if got, want := fmt.Sprint(h.keysByID()), "[a c d e]"; got != want {
		t.Errorf("keys in the order inserted: %s, want %s", got, want)
	}
}

// TestGroupFailure: a statement that fails in a group rolls the group
// back; each statement then runs alone, so only the failing one fails.
func TestGroupFailure(t *testing.T) {
	t.Parallel()
	h := newGroupHarness(t)
	if _, err := h.pool.Exec(h.ctx, `INSERT INTO g (k) VALUES ('taken')`); err != nil {
		t.Fatal(err)
	}
	h.hold()
	wait := h.queue(nil, "a", "taken", "b")
	h.release(0)
	errs := wait()
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("the statements beside the failing one: %v, %v", errs[0], errs[2])
	}
	if !errors.Is(errs[1], store.ErrConflict) {
		t.Errorf("the failing statement: %v, want ErrConflict", errs[1])
	}
	if n := h.g.groups.Load(); n != 0 {
		t.Errorf("%d groups committed, want none (the group rolled back)", n)
	}
	if got, want := fmt.Sprint(h.keysByID()), "[taken a b]"; got != want {
		t.Errorf("keys: %s, want %s", got, want)
	}
}

// TestGroupCloseCommitsQueued: statements queued when the store closes
// are committed before Close returns.
func TestGroupCloseCommitsQueued(t *testing.T) {
	t.Parallel()
	h := newGroupHarness(t)
	h.hold()
	wait := h.queue(nil, "a", "b")
	closed := make(chan struct{})
	go func() {
		h.g.close()
		close(closed)
	}()
	for i := range h.holders {
		h.release(i)
	}
	<-closed
	for i, err := range wait() {
		if err != nil {
			t.Errorf("statement %d: %v", i, err)
		}
	}
	keys := h.keysByID()
	slices.Sort(keys) // the lanes left may take them in either order
	if got, want := fmt.Sprint(keys), "[a b]"; got != want {
		t.Errorf("keys: %s, want %s", got, want)
	}
	if _, err := h.g.exec(h.ctx, "c", `INSERT INTO g (k) VALUES ('c')`); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a statement after close: %v, want ErrUnavailable", err)
	}
}
