package dispatch_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/liftoffhq/liftoff/internal/github/dispatch"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// finishAll ends every PENDING deployment of a project, as the engine
// would, so that a second delivery could only queue a new one.
func (h *harness) finishAll(projectID string) {
	h.t.Helper()
	for _, d := range h.deployments(projectID) {
		if d.Status != liftoff.StatusPending {
			continue
		}
		if _, err := h.st.FinishPendingDeployment(h.ctx, store.FinishDeploymentParams{ID: d.ID, Status: liftoff.StatusCancelled,
			At: t0}); err != nil {
			h.t.Fatal(err)
		}
	}
}

// TestReplayedDeliveryQueuesNothing: a delivery is acted on once; the same
// delivery again (GitHub's Redeliver), or its payload under another id (a
// captured delivery sent again), does nothing and says so.
func TestReplayedDeliveryQueuesNothing(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		p, _ := h.project("https://github.com/octo-org/shop.git", "", normal("production", "main", "push"))
		body := fixtureBody(t, "push.main.json")
		ev := parse(t, "push.main.json", body)
		first, err := h.d.Deliver(h.ctx, dispatch.Delivery{ID: "72d3162e-0001", Body: []byte(body), Event: ev})
		if err != nil || first.Duplicate || len(first.Queued) != 1 {
			t.Fatalf("first delivery: %+v, %v", first, err)
		}
		h.finishAll(p.ID)
		for name, id := range map[string]string{"same delivery": "72d3162e-0001", "same payload, new id": "72d3162e-0002"} {
			res, err := h.d.Deliver(h.ctx, dispatch.Delivery{ID: id, Body: []byte(body), Event: ev})
			if err != nil || !res.Duplicate || len(res.Queued) != 0 || len(res.Ignored) != 1 {
				t.Errorf("%s: %+v, %v; want a duplicate that queued nothing", name, res, err)
			}
		}
		if ds := h.deployments(p.ID); len(ds) != 1 {
			t.Errorf("%d deployments after replays, want 1", len(ds))
		}
		h.expectQueuedCalls(1)
	})
}

// TestConcurrentDeliveriesQueueOnce: deliveries of one id arriving at once
// queue one deployment.
func TestConcurrentDeliveriesQueueOnce(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		p, _ := h.project("https://github.com/octo-org/shop.git", "", normal("production", "main", "push"))
		body := fixtureBody(t, "push.main.json")
		ev := parse(t, "push.main.json", body)
		const n = 6
		var wg sync.WaitGroup
		results := make([]dispatch.Result, n)
		for i := range n {
			wg.Go(func() {
				res, err := h.d.Deliver(h.ctx, dispatch.Delivery{ID: "72d3162e-concurrent", Body: []byte(body), Event: ev})
				if err != nil {
					t.Error(err)
				}
				results[i] = res
			})
		}
		wg.Wait()
		acted := 0
		for _, r := range results {
			if !r.Duplicate {
				acted++
			}
		}
		if acted != 1 {
			t.Errorf("%d of %d concurrent deliveries of one id acted, want 1", acted, n)
		}
		if ds := h.deployments(p.ID); len(ds) != 1 {
			t.Errorf("%d deployments, want 1", len(ds))
		}
	})
}

// TestFailedDeliveryIsForgotten: a delivery that could not be acted on is
// not remembered, so GitHub's redelivery of it acts.
func TestFailedDeliveryIsForgotten(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		_, envs := h.project("https://github.com/octo-org/shop.git", "", preview("preview", "push", ""))
		h.upsert(envs["preview"].ID, 42, t0)
		fail := true
		h.d.Deployments.Store = failingTx{Store: h.st, fail: &fail}
		body := fixtureBody(t, "pull_request.closed.merged.json")
		dl := dispatch.Delivery{ID: "72d3162e-merged", Body: []byte(body), Event: parse(t, "pull_request.closed.merged.json", body)}
		if _, err := h.d.Deliver(h.ctx, dl); err == nil {
			t.Fatal("the failing teardown did not fail the delivery")
		}
		fail = false
		res, err := h.d.Deliver(h.ctx, dl)
		if err != nil || res.Duplicate || len(res.TornDown) != 1 {
			t.Fatalf("redelivery after a failure: %+v, %v; want it acted on", res, err)
		}
	})
}

// failingTx is a store whose transactions fail while *fail is set.
type failingTx struct {
	store.Store
	fail *bool
}

func (s failingTx) Tx(ctx context.Context, fn func(store.Queries) error) error {
	if *s.fail {
		return errors.New("the store could not tear it down")
	}
	return s.Store.Tx(ctx, fn)
}
