package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestObserved: a store opened with Observe reports its reads, writes and
// transactions, each with the time it took.
func TestObserved(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			seen := map[string]int{}
			s := storetest.OpenObserved(t, dialect, func(op string, took time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				if took < 0 {
					t.Errorf("%s took %s", op, took)
				}
				seen[op]++
			})
			count := func() map[string]int {
				mu.Lock()
				defer mu.Unlock()
				c := map[string]int{}
				for k, v := range seen {
					c[k] = v
				}
				clear(seen)
				return c
			}
			ctx := context.Background()
			count() // whatever opening the store did
			if _, err := s.QueueStats(ctx); err != nil {
				t.Fatal(err)
			}
			if c := count(); c["read"] != 2 || c["write"] != 0 || c["tx"] != 0 {
				t.Errorf("QueueStats (two queries) reported %v", c)
			}
			if err := s.Tx(ctx, func(q store.Queries) error {
				_, err := q.QueueStats(ctx)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if c := count(); c["tx"] != 1 || c["read"] != 0 {
				t.Errorf("a transaction reported %v, want one tx and its statements inside it", c)
			}
			if _, err := s.CreateProject(ctx, store.CreateProjectParams{ID: "p1", Name: "shop", RepoURL: "https://example.com/shop.git",
				ConfigPath: "liftoff.json", DefaultBranch: "main", At: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if c := count(); c["write"]+c["tx"] == 0 {
				t.Errorf("creating a project reported %v, want a write", c)
			}
		})
	}
}
