package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// readoutCases cover what the API reads of deployments: lists
// with their service deployments, and a preview's branch learnt once it
// runs.
func readoutCases() []testCase {
	return []testCase{
		{"ListCarriesServiceDeployments", testListCarriesServiceDeployments},
		{"RunningDeploymentLearnsItsBranch", testRunningDeploymentLearnsItsBranch},
	}
}

func testListCarriesServiceDeployments(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	svcs, err := s.ListServices(ctx, store.ListServicesParams{EnvironmentID: envs[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	// Three deployments: two services (inserted out of order), none, one.
	var ids []string
	for i, n := range []int{2, 0, 1} {
		d := newDeployment(p, envs[0], 0, t0.Add(time.Duration(i)*time.Second))
		d.Status = liftoff.StatusSuccess
		if err := s.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
		for j := n - 1; j >= 0; j-- {
			sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: svcs[j].ID, ServiceGivenID: svcs[j].GivenID,
				ServiceName: svcs[j].Name, ServiceType: svcs[j].Type, Status: liftoff.StatusSuccess, Reason: "forced",
				EnvironmentID: envs[0].ID, Position: j, CreatedAt: t0}
			if err := s.InsertServiceDeployment(ctx, sd); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A service Liftoff does not run has no service record.
	notRun := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: ids[2], ServiceGivenID: "db", ServiceName: "DB", ServiceType: "rds",
		Status: liftoff.StatusNoChange, Reason: "not deployed: type rds does not run on Liftoff", FinishedAt: t0, EnvironmentID: envs[0].ID,
		Position: 5, CreatedAt: t0}
	if err := s.InsertServiceDeployment(ctx, notRun); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListDeployments(ctx, store.ListDeploymentsParams{Limit: 10})
	if err != nil || len(list) != 3 {
		t.Fatalf("ListDeployments = %d deployments, %v", len(list), err)
	}
	for _, d := range list {
		got, err := s.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d.Services, got.Services) {
			t.Errorf("deployment %s: listed with services %+v, GetDeployment has %+v", d.ID, d.Services, got.Services)
		}
	}
	if n := []int{len(list[2].Services), len(list[1].Services), len(list[0].Services)}; !reflect.DeepEqual(n, []int{2, 0, 2}) {
		t.Errorf("services per deployment, oldest first = %v, want [2 0 2]", n)
	}
	if got := list[2].Services; len(got) == 2 && (got[0].ServiceGivenID != "api" || got[1].ServiceGivenID != "site") {
		t.Errorf("services of the first deployment are not in their order: %s, %s", got[0].ServiceGivenID, got[1].ServiceGivenID)
	}
	if got := list[0].Services; len(got) == 2 && (got[1].ServiceID != "" || got[1].Reason != notRun.Reason) {
		t.Errorf("the service Liftoff does not run = %+v", got[1])
	}
}

func testRunningDeploymentLearnsItsBranch(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	d := newDeployment(p, envs[2], 7, t0) // a preview: no branch
	if err := s.InsertDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	running, ok := claim(t, s, "n1", t0)
	if !ok || running.ID != d.ID || running.GitBranch != "" {
		t.Fatalf("claimed %+v (%v)", running, ok)
	}
	if err := s.UpdateRunningDeployment(ctx, store.UpdateRunningParams{ID: d.ID, GitBranch: "feature/login"}); err != nil {
		t.Fatal(err)
	}
	// Other updates leave it as it is.
	if err := s.UpdateRunningDeployment(ctx, store.UpdateRunningParams{ID: d.ID, Status: liftoff.StatusBuilding, GitCommit: "abc"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
	if err != nil || got.GitBranch != "feature/login" || got.GitCommit != "abc" || got.Status != liftoff.StatusBuilding {
		t.Fatalf("after the updates: %+v, %v", got, err)
	}
}
