package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/store/sqlstore"
)

// TestInteractiveCommitsBeforeQueuedBulk holds the writer with one
// transaction, queues bulk transactions (log batches) and then one
// interactive transaction (a hook call): when the writer is free, the
// interactive one runs and commits first, in the next commit, ahead of the
// bulk ones queued before it.
func TestInteractiveCommitsBeforeQueuedBulk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, err := openDriver(ctx, filepath.Join(t.TempDir(), "liftoff.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Tx(ctx, func(c sqlstore.Conn) error {
		_, err := c.Exec(ctx, `CREATE TABLE t (who TEXT NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// Bodies run on the writer's goroutine, one at a time, and read which
	// commit they are part of there: the order callers wake up in after
	// their commits says nothing about the order of the commits.
	var mu sync.Mutex
	var ran []string
	commitOf := map[string]int{}
	insert := func(who string) func(sqlstore.Conn) error {
		return func(c sqlstore.Conn) error {
			mu.Lock()
			ran = append(ran, who)
			commitOf[who] = d.w.commits
			mu.Unlock()
			_, err := c.Exec(ctx, `INSERT INTO t (who) VALUES ($1)`, who)
			return err
		}
	}
	done := func(who string, err error) {
		if err != nil {
			t.Errorf("%s: %v", who, err)
		}
	}

	hold, holding := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		done("holder", d.Tx(ctx, func(c sqlstore.Conn) error {
			close(holding)
			<-hold
			return insert("holder")(c)
		}))
	})
	<-holding
	const bulks = 5
	for i := range bulks {
		who := "bulk" + string(rune('0'+i))
		wg.Go(func() { done(who, d.WriteBulk(ctx, insert(who))) })
	}
	queued := func() int { return len(d.w.reqs) + len(d.w.bulk) }
	waitQueued(t, func() bool { return queued() == bulks })
	wg.Go(func() { done("hook", d.Tx(ctx, insert("hook"))) })
	waitQueued(t, func() bool { return queued() == bulks+1 })
	close(hold)
	wg.Wait()

	t.Logf("ran %v; commits %v", ran, commitOf)
	if len(ran) != bulks+2 || ran[1] != "hook" {
		t.Fatalf("ran %v: the hook's transaction should run right after the one holding the writer", ran)
	}
	// The hook commits in the commit right after the holder's, with at
	// most one bulk transaction: before the other bulk ones.
	if commitOf["hook"] != commitOf["holder"]+1 {
		t.Fatalf("commits %v: the hook's transaction should commit in the commit after the holder's", commitOf)
	}
	withHook := 0
	for i := range bulks {
		if commitOf["bulk"+string(rune('0'+i))] <= commitOf["hook"] {
			withHook++
		}
	}
	if withHook > 1 {
		t.Fatalf("commits %v: %d bulk transactions committed with or before the hook's, want at most one", commitOf, withHook)
	}
}

// TestBulkIsNotStarved keeps interactive transactions coming and checks
// that bulk ones still commit, one per commit.
func TestBulkIsNotStarved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, err := openDriver(ctx, filepath.Join(t.TempDir(), "liftoff.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = d.Tx(ctx, func(c sqlstore.Conn) error { _, err := c.Exec(ctx, `SELECT 1`); return err })
			}
		})
	}
	for range 20 {
		if err := d.WriteBulk(ctx, func(c sqlstore.Conn) error { _, err := c.Exec(ctx, `SELECT 1`); return err }); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// waitQueued waits until cond holds: the writer's queues are the signal.
func waitQueued(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("transactions were not queued")
		}
		time.Sleep(time.Millisecond)
	}
}
