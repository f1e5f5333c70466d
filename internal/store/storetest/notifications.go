package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// testNotifications: endpoints are created, listed, resealed and deleted
// (a URL declared in the config is one endpoint); a deployment is untold
// while its events lag its state; recording events is once per
// (deployment, type) even when two callers record at once, with one
// delivery per event to each endpoint that hears its type and each sink;
// deliveries are claimed in order per destination, under a lease, and
// finished only by their owner; deleting an endpoint gives up its
// deliveries.
func testNotifications(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	prod, staging := envs[0], envs[1]

	endpoint := func(env liftoff.Environment, source string, events ...string) liftoff.NotificationEndpoint {
		t.Helper()
		e := liftoff.NotificationEndpoint{ID: cuid.New(), ProjectID: p.ID, EnvironmentID: env.ID, URL: "https://hooks.example.com/" + env.GivenID,
			Events: events, Format: liftoff.NotificationJSON, Source: source, KeyID: "k1", Sealed: []byte{1, 2, 0}, CreatedAt: t0}
		if err := s.CreateNotificationEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	all := endpoint(prod, liftoff.NotificationFromAPI)
	failedOnly := endpoint(prod, liftoff.NotificationFromConfig, "deployment.failed", "deployment.cancelled")
	other := endpoint(staging, liftoff.NotificationFromAPI)
	dup := failedOnly
	dup.ID = cuid.New()
	if err := s.CreateNotificationEndpoint(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a config URL declared twice: %v, want ErrConflict", err)
	}
	got, err := s.ListNotificationEndpoints(ctx, store.ListNotificationEndpointsParams{EnvironmentID: prod.ID})
	if err != nil || len(got) != 2 || got[0].ID != all.ID && got[1].ID != all.ID {
		t.Fatalf("ListNotificationEndpoints = %+v, %v", got, err)
	}
	one, err := s.GetNotificationEndpoint(ctx, store.GetNotificationEndpointParams{ID: failedOnly.ID})
	if err != nil || !slices.Equal(one.Events, failedOnly.Events) || one.Source != liftoff.NotificationFromConfig ||
		!slices.Equal(one.Sealed, failedOnly.Sealed) || !one.CreatedAt.Equal(t0) {
		t.Fatalf("GetNotificationEndpoint = %+v, %v", one, err)
	}
	if ok, err := s.ResealNotificationEndpoint(ctx, store.ResealParams[liftoff.NotificationEndpoint]{Old: other, KeyID: "k2", Sealed: []byte{9}}); err != nil || !ok {
		t.Fatalf("reseal: %v, %v", ok, err)
	}
	if ok, err := s.ResealNotificationEndpoint(ctx, store.ResealParams[liftoff.NotificationEndpoint]{Old: other, KeyID: "k3", Sealed: []byte{8}}); err != nil || ok {
		t.Fatalf("reseal of a row changed since: %v, %v; want false", ok, err)
	}

	untold := func() map[string]int {
		t.Helper()
		us, err := s.UntoldDeployments(ctx, store.UntoldDeploymentsParams{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, u := range us {
			out[u.Deployment.ID] = u.Told
		}
		return out
	}
	d := newDeployment(p, prod, 0, t0)
	if err := s.InsertDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	if u := untold(); len(u) != 1 || u[d.ID] != 0 {
		t.Fatalf("a new deployment: untold %v", u)
	}
	ev := func(typ string, seq int, at time.Time) store.DeploymentEvent {
		return store.DeploymentEvent{ID: d.ID + "." + typ[len("deployment."):], Type: typ, Seq: seq, At: at}
	}
	created := ev("deployment.created", 0, t0)
	record := func(told int, events ...store.DeploymentEvent) int {
		t.Helper()
		n, err := s.RecordDeploymentEvents(ctx, store.RecordDeploymentEventsParams{DeploymentID: d.ID, EnvironmentID: prod.ID,
			Events: events, Told: told, Sinks: []string{"sink:github"}, At: t0})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Two at once record it once.
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i := range counts {
		wg.Go(func() { counts[i] = record(1, created) })
	}
	wg.Wait()
	if counts[0]+counts[1] != 1 {
		t.Fatalf("two callers recorded the created event %v times", counts)
	}
	if u := untold(); len(u) != 0 {
		t.Fatalf("told created, queued: untold %v", u)
	}
	if _, err := s.ClaimDeployment(ctx, store.ClaimParams{Owner: "n1", At: t0.Add(time.Second), LeaseUntil: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if u := untold(); u[d.ID] != 1 {
		t.Fatalf("started: untold %v, want told 1", u)
	}
	if ok, err := s.FinishDeployment(ctx, store.FinishDeploymentParams{ID: d.ID, Status: liftoff.StatusBuildError, At: t0.Add(2 * time.Second)}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if n := record(3, created, ev("deployment.started", 1, t0.Add(time.Second)), ev("deployment.failed", 2, t0.Add(2*time.Second))); n != 2 {
		t.Fatalf("recorded %d events, want 2 (created was already)", n)
	}
	if n := record(3, created); n != 0 {
		t.Fatalf("recorded again: %d", n)
	}
	if u := untold(); len(u) != 0 {
		t.Fatalf("told to the end: untold %v", u)
	}

	list := func(dest string) []liftoff.NotificationDelivery {
		t.Helper()
		ds, err := s.ListNotificationDeliveries(ctx, store.ListNotificationDeliveriesParams{Destination: dest})
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	if n := len(list(all.ID)); n != 3 {
		t.Fatalf("%d deliveries to the endpoint of every type, want 3", n)
	}
	if ds := list(failedOnly.ID); len(ds) != 1 || ds[0].EventType != "deployment.failed" || ds[0].State != liftoff.DeliveryPending {
		t.Fatalf("deliveries to the failed-only endpoint: %+v", ds)
	}
	if n := len(list("sink:github")); n != 3 {
		t.Fatalf("%d deliveries to the sink, want 3", n)
	}
	if n := len(list(other.ID)); n != 0 {
		t.Fatalf("%d deliveries to another environment's endpoint", n)
	}

	// Claims: in order per destination, leased.
	claim := func(owner string, at time.Time) (liftoff.NotificationDelivery, error) {
		return s.ClaimNotificationDelivery(ctx, store.ClaimNotificationDeliveryParams{Owner: owner, At: at, LeaseUntil: at.Add(time.Minute)})
	}
	at := t0.Add(time.Hour)
	seen := map[string][]int{}
	var claimed []liftoff.NotificationDelivery
	for {
		c, err := claim("a", at)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Attempts != 1 {
			t.Fatalf("claimed %+v: attempts %d, want 1", c, c.Attempts)
		}
		seen[c.Destination] = append(seen[c.Destination], c.Seq)
		claimed = append(claimed, c)
	}
	// Only the first of each destination's deployment events is due
	// while it is pending.
	if len(seen[all.ID]) != 1 || seen[all.ID][0] != 0 || len(seen["sink:github"]) != 1 || len(seen[failedOnly.ID]) != 1 {
		t.Fatalf("claimed %v", seen)
	}
	// The lease runs out: due again, for another owner.
	again, err := claim("b", at.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.FinishNotificationDelivery(ctx, store.FinishNotificationDeliveryParams{Destination: again.Destination, EventID: again.EventID,
		Owner: "a", State: liftoff.DeliveryDelivered, At: at}); err != nil || ok {
		t.Fatalf("the old owner finished it: %v, %v", ok, err)
	}
	if ok, err := s.FinishNotificationDelivery(ctx, store.FinishNotificationDeliveryParams{Destination: again.Destination, EventID: again.EventID,
		Owner: "b", State: liftoff.DeliveryPending, NextAttemptAt: at.Add(10 * time.Minute), Status: 500, Error: "HTTP 500", At: at}); err != nil || !ok {
		t.Fatalf("retry later: %v, %v", ok, err)
	}
	for _, c := range claimed {
		if c.Destination == again.Destination {
			continue
		}
		if ok, err := s.FinishNotificationDelivery(ctx, store.FinishNotificationDeliveryParams{Destination: c.Destination, EventID: c.EventID,
			Owner: "a", State: liftoff.DeliveryDelivered, At: at.Add(time.Second)}); err != nil || !ok {
			t.Fatalf("finish %+v: %v, %v", c, ok, err)
		}
	}
	for _, dest := range []string{all.ID, "sink:github"} {
		if dest == again.Destination {
			continue
		}
		next, err := claim("a", at.Add(3*time.Minute))
		if err != nil || next.Seq != 1 {
			t.Fatalf("after the first event was delivered: %+v, %v; want the started event", next, err)
		}
	}
	ds := list(again.Destination)
	last := ds[len(ds)-1]
	if last.Seq != 0 || last.Attempts != 2 || last.LastStatus != 500 || last.LastError != "HTTP 500" || !last.NextAttemptAt.Equal(at.Add(10*time.Minute)) {
		t.Fatalf("the retried delivery: %+v", last)
	}

	// Deleting an endpoint gives its pending deliveries up.
	if err := s.DeleteNotificationEndpoint(ctx, store.DeleteNotificationEndpointParams{ID: failedOnly.ID, At: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNotificationEndpoint(ctx, store.DeleteNotificationEndpointParams{ID: failedOnly.ID, At: at}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted twice: %v", err)
	}
	if _, err := s.GetNotificationEndpoint(ctx, store.GetNotificationEndpointParams{ID: failedOnly.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted endpoint: %v", err)
	}
	for _, dl := range list(failedOnly.ID) {
		if dl.State == liftoff.DeliveryPending {
			t.Fatalf("a deleted endpoint's delivery is still pending: %+v", dl)
		}
	}
	// A config URL deleted may be declared again.
	dup.ID = cuid.New()
	if err := s.CreateNotificationEndpoint(ctx, dup); err != nil {
		t.Fatalf("declared again after a delete: %v", err)
	}
}
