package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// runtimeCases cover what the supervision of releases records: the state
// of each service instance, and its last restarts, bounded.
func runtimeCases() []testCase {
	return []testCase{
		{"ServiceStates", testServiceStates},
		{"ServiceRestarts", testServiceRestarts},
	}
}

func testServiceStates(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, envs := seed(t, s)
	svcs, err := s.ListServices(ctx, store.ListServicesParams{EnvironmentID: envs[0].ID})
	if err != nil || len(svcs) == 0 {
		t.Fatalf("services: %v %v", svcs, err)
	}
	api := svcs[0].ID
	if _, err := s.GetServiceState(ctx, store.GetServiceStateParams{ServiceID: api}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("state of a service never recorded: %v", err)
	}
	running := liftoff.ServiceState{ServiceID: api, ReleaseID: "sd-1", State: liftoff.ServiceRunning, NodeID: "node-a", UpdatedAt: t0}
	if err := s.PutServiceState(ctx, running); err != nil {
		t.Fatal(err)
	}
	// Replaced, and another instance (a pull request's) beside it.
	crashed := running
	crashed.State, crashed.Restarts, crashed.UpdatedAt = liftoff.ServiceCrashed, 3, t0.Add(time.Minute)
	if err := s.PutServiceState(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	pr := liftoff.ServiceState{ServiceID: api, PRNumber: 7, ReleaseID: "sd-2", State: liftoff.ServiceRestarting, Restarts: 1, NodeID: "node-b", UpdatedAt: t0}
	if err := s.PutServiceState(ctx, pr); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetServiceState(ctx, store.GetServiceStateParams{ServiceID: api})
	if err != nil || got != crashed {
		t.Fatalf("GetServiceState = %+v %v, want %+v", got, err, crashed)
	}
	for _, p := range []store.ListServiceStatesParams{{ServiceID: api}, {EnvironmentID: envs[0].ID}} {
		list, err := s.ListServiceStates(ctx, p)
		if err != nil || !slices.Equal(list, []liftoff.ServiceState{crashed, pr}) {
			t.Errorf("ListServiceStates(%+v) = %+v %v", p, list, err)
		}
	}
	if list, err := s.ListServiceStates(ctx, store.ListServiceStatesParams{EnvironmentID: envs[0].ID + 1000}); err != nil || len(list) != 0 {
		t.Errorf("states of another environment: %+v %v", list, err)
	}
}

func testServiceRestarts(t *testing.T, s store.Store) {
	ctx := context.Background()
	const keep = 3
	code := 3
	for i := range 5 {
		r := liftoff.ServiceRestart{ServiceID: "svc", ReleaseID: "sd-1", At: t0.Add(time.Duration(i) * time.Second),
			Reason: fmt.Sprintf("restart %d", i), State: liftoff.ServiceRestarting, LastLines: []string{"line", fmt.Sprint(i)}}
		if i%2 == 0 {
			r.ExitCode = &code
		} else {
			r.HealthCheck = true
		}
		if err := s.RecordServiceRestart(ctx, store.RecordServiceRestartParams{Restart: r, Keep: keep}); err != nil {
			t.Fatal(err)
		}
	}
	// Another instance's restart is kept apart.
	other := liftoff.ServiceRestart{ServiceID: "svc", PRNumber: 4, ReleaseID: "sd-2", At: t0, Reason: "other", State: liftoff.ServiceCrashed}
	if err := s.RecordServiceRestart(ctx, store.RecordServiceRestartParams{Restart: other, Keep: keep}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListServiceRestarts(ctx, store.ListServiceRestartsParams{ServiceID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, r := range got {
		reasons = append(reasons, r.Reason)
	}
	if !slices.Equal(reasons, []string{"restart 4", "restart 3", "restart 2"}) {
		t.Fatalf("restarts kept %q, want the newest %d, newest first", reasons, keep)
	}
	if r := got[0]; r.ExitCode == nil || *r.ExitCode != 3 || r.HealthCheck || !r.At.Equal(t0.Add(4*time.Second)) ||
		!slices.Equal(r.LastLines, []string{"line", "4"}) || r.State != liftoff.ServiceRestarting || r.ReleaseID != "sd-1" {
		t.Errorf("newest restart = %+v", r)
	}
	if r := got[1]; r.ExitCode != nil || !r.HealthCheck {
		t.Errorf("health check restart = %+v", r)
	}
	if got, err := s.ListServiceRestarts(ctx, store.ListServiceRestartsParams{ServiceID: "svc", Limit: 1}); err != nil || len(got) != 1 {
		t.Errorf("with a limit: %+v %v", got, err)
	}
	pr, err := s.ListServiceRestarts(ctx, store.ListServiceRestartsParams{ServiceID: "svc", PRNumber: 4})
	if err != nil || len(pr) != 1 || pr[0].Reason != "other" || pr[0].LastLines == nil || len(pr[0].LastLines) != 0 {
		t.Errorf("the pull request's restarts: %+v %v", pr, err)
	}
}
