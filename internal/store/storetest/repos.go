package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// reposCases cover repository credentials, GitHub deliveries and the last
// deployed commit.
func reposCases() []testCase {
	return []testCase{
		{"RepoCredentialKeptApart", testRepoCredential},
		{"GitHubDeliveriesOnce", testGitHubDeliveries},
		{"ConcurrentGitHubDeliveries", testConcurrentGitHubDeliveries},
		{"LastDeployedCommit", testLastDeployedCommit},
	}
}

// testRepoCredential: the credential is stored, read only through
// GetRepoCredential, and part of no Project.
func testRepoCredential(t *testing.T, s store.Store) {
	ctx := context.Background()
	const secret = "x-access-token:ghp_c2VjcmV0"
	p, err := s.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "private", RepoURL: "https://github.com/acme/private.git",
		ConfigPath: "liftoff.json", RepoCredential: liftoff.RepoCredential{Userinfo: secret}, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	open, _ := seed(t, s)
	got, err := s.GetProject(ctx, store.GetProjectParams{ID: p.ID})
	if err != nil || got.RepoURL != "https://github.com/acme/private.git" {
		t.Fatalf("GetProject = %+v, %v", got, err)
	}
	list, err := s.ListProjects(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListProjects = %+v, %v", list, err)
	}
	if shown := fmt.Sprintf("%+v %#v %+v", got, got, list); strings.Contains(shown, "ghp_") {
		t.Fatalf("a project record holds the credential: %s", shown)
	}
	cred, err := s.GetRepoCredential(ctx, store.GetRepoCredentialParams{ProjectID: p.ID})
	if err != nil || cred.Userinfo != secret {
		t.Fatalf("GetRepoCredential = %v, %v", cred.IsZero(), err)
	}
	if shown := fmt.Sprintf("%v %+v %#v %s", cred, cred, cred, cred); strings.Contains(shown, "ghp_") {
		t.Fatalf("the credential prints itself: %s", shown)
	}
	if none, err := s.GetRepoCredential(ctx, store.GetRepoCredentialParams{ProjectID: open.ID}); err != nil || !none.IsZero() {
		t.Fatalf("GetRepoCredential of a project without one = %v, %v", none.IsZero(), err)
	}
	if _, err := s.GetRepoCredential(ctx, store.GetRepoCredentialParams{ProjectID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRepoCredential(nope): %v", err)
	}
	// Replaced only while it is what the caller read.
	sealed := liftoff.RepoCredential{Userinfo: "sealed:v1:k:AAAA"}
	if ok, err := s.ReplaceRepoCredential(ctx, store.ReplaceRepoCredentialParams{ProjectID: p.ID, Old: cred, New: sealed}); err != nil || !ok {
		t.Fatalf("ReplaceRepoCredential = %v, %v", ok, err)
	}
	if ok, err := s.ReplaceRepoCredential(ctx, store.ReplaceRepoCredentialParams{ProjectID: p.ID, Old: cred, New: cred}); err != nil || ok {
		t.Fatalf("ReplaceRepoCredential of a changed credential = %v, %v; want false", ok, err)
	}
	if got, err := s.GetRepoCredential(ctx, store.GetRepoCredentialParams{ProjectID: p.ID}); err != nil || got != sealed {
		t.Fatalf("after ReplaceRepoCredential: %v, %v", got.Userinfo == sealed.Userinfo, err)
	}
}

func testGitHubDeliveries(t *testing.T, s store.Store) {
	ctx := context.Background()
	day := 24 * time.Hour
	record := func(id, body string, at time.Time) bool {
		t.Helper()
		fresh, err := s.RecordGitHubDelivery(ctx, store.RecordDeliveryParams{ID: id, BodySHA256: body, At: at, ExpiredBefore: at.Add(-day)})
		if err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	if !record("d1", "b1", t0) {
		t.Fatal("a new delivery was taken for a replay")
	}
	if record("d1", "b1", t0.Add(time.Hour)) {
		t.Fatal("the same delivery was recorded twice")
	}
	if record("d2", "b1", t0.Add(time.Hour)) {
		t.Fatal("the same body under a new delivery id was recorded twice")
	}
	if record("d1", "b2", t0.Add(time.Hour)) {
		t.Fatal("a known delivery id with another body was recorded twice")
	}
	if !record("d3", "b3", t0.Add(time.Hour)) {
		t.Fatal("another delivery was taken for a replay")
	}
	// Kept a day, forgotten after.
	if record("d1", "b1", t0.Add(day-time.Millisecond)) {
		t.Fatal("a delivery was forgotten within a day")
	}
	if !record("d1", "b1", t0.Add(day+time.Millisecond)) {
		t.Fatal("a delivery older than a day is still remembered")
	}
	if err := s.ForgetGitHubDelivery(ctx, store.ForgetGitHubDeliveryParams{ID: "d3"}); err != nil {
		t.Fatal(err)
	}
	if !record("d3", "b3", t0.Add(day+time.Millisecond)) {
		t.Fatal("a forgotten delivery is still remembered")
	}
}

// testConcurrentGitHubDeliveries: of concurrent calls recording one
// delivery, exactly one records it.
func testConcurrentGitHubDeliveries(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	results := make(chan bool, n)
	for range n {
		wg.Go(func() {
			fresh, err := s.RecordGitHubDelivery(ctx, store.RecordDeliveryParams{ID: "72d3162e", BodySHA256: "abc", At: t0,
				ExpiredBefore: t0.Add(-24 * time.Hour)})
			if err != nil {
				t.Error(err)
			}
			results <- fresh
		})
	}
	wg.Wait()
	close(results)
	recorded := 0
	for fresh := range results {
		if fresh {
			recorded++
		}
	}
	if recorded != 1 {
		t.Fatalf("%d of %d concurrent calls recorded the delivery, want 1", recorded, n)
	}
}

func testLastDeployedCommit(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	svcs, err := s.ListServices(ctx, store.ListServicesParams{EnvironmentID: envs[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(svc liftoff.Service, pr int, status liftoff.Status, finished time.Duration, commit string) {
		t.Helper()
		d := newDeployment(p, envs[0], 0, t0)
		d.Status = liftoff.StatusSuccess
		if err := s.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
		sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: svc.ID, ServiceGivenID: svc.GivenID,
			ServiceName: svc.Name, ServiceType: svc.Type, Status: liftoff.StatusBuilding, EnvironmentID: envs[0].ID, PRNumber: pr,
			GitCommit: commit, CreatedAt: t0}
		if err := s.InsertServiceDeployment(ctx, sd); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateServiceDeployment(ctx, store.UpdateServiceDeploymentParams{ID: sd.ID, Status: status,
			FinishedAt: t0.Add(finished)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.LastDeployedCommit(ctx, store.LastDeployedCommitParams{EnvironmentID: envs[0].ID, PRNumber: 0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastDeployedCommit of an environment that never deployed: %v", err)
	}
	mk(svcs[0], 0, liftoff.StatusSuccess, time.Minute, "aaa")
	mk(svcs[1], 0, liftoff.StatusSuccess, 2*time.Minute, "bbb")
	mk(svcs[0], 0, liftoff.StatusBuildError, 3*time.Minute, "ccc")
	mk(svcs[0], 3, liftoff.StatusSuccess, 4*time.Minute, "ddd")
	if got, err := s.LastDeployedCommit(ctx, store.LastDeployedCommitParams{EnvironmentID: envs[0].ID, PRNumber: 0}); err != nil || got != "bbb" {
		t.Fatalf("LastDeployedCommit = %q, %v; want bbb (the newest success, failures and previews aside)", got, err)
	}
	if got, err := s.LastDeployedCommit(ctx, store.LastDeployedCommitParams{EnvironmentID: envs[0].ID, PRNumber: 3}); err != nil || got != "ddd" {
		t.Fatalf("LastDeployedCommit of PR 3 = %q, %v", got, err)
	}
	if _, err := s.LastDeployedCommit(ctx, store.LastDeployedCommitParams{EnvironmentID: envs[1].ID, PRNumber: 0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another environment shares it: %v", err)
	}
}
