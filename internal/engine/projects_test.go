package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Deleting a project stops the deployment of it this node runs at once,
// and its releases once that deployment has ended: no process outlives it.
func TestDeleteProjectStopsItsReleases(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newPreviewHarness(t, dialect)
		pgid := h.release("production", 0, "r1", t.TempDir())
		run := h.insert("production", 0, liftoff.StatusPending, p0)
		h.claim(run.ID, p0)
		runCtx := h.running("production", 0)

		if _, err := h.deployments().DeleteProject(h.ctx, h.p.ID); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(context.Cause(runCtx), errProjectDeleted) {
			t.Errorf("the running deployment was not cancelled: %v", context.Cause(runCtx))
		}
		// While the deployment stops, the release stays: the deployment
		// could still be replacing it.
		h.e.sweepDeleted(h.ctx)
		if !groupAlive(pgid) {
			t.Fatal("the release was stopped while a deployment of it runs")
		}
		if ok, err := h.st.FinishDeployment(h.ctx, store.FinishDeploymentParams{ID: run.ID, Status: liftoff.StatusCancelled,
			At: p0.Add(time.Minute)}); err != nil || !ok {
			t.Fatalf("FinishDeployment = %v, %v", ok, err)
		}
		h.e.sweepDeleted(h.ctx)
		if groupAlive(pgid) {
			t.Error("the release of a deleted project still runs")
		}
		if insts := h.tg.Instances(); len(insts) != 0 {
			t.Errorf("the target still has %+v", insts)
		}
	})
}

// An environment that left the project's config stops its releases too;
// the others keep theirs.
func TestSweepStopsReleasesOfEnvironmentsThatLeftTheConfig(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newPreviewHarness(t, dialect)
		gone := h.release("production", 0, "r1", t.TempDir())
		kept := h.release("preview", 3, "r2", t.TempDir())
		var specs []store.EnvironmentSpec
		for _, given := range []string{"preview", "ttl"} {
			e := h.env[given]
			specs = append(specs, store.EnvironmentSpec{GivenID: e.GivenID, Name: e.Name, IsPreview: true, Config: e.Config,
				Services: []store.ServiceSpec{{GivenID: "api", Name: "API", Type: "worker", Config: fromJSON[config.Service](apiService)}}})
		}
		if _, err := h.st.SyncEnvironments(h.ctx, store.SyncEnvironmentsParams{ProjectID: h.p.ID, At: p0.Add(time.Hour),
			NewServiceID: cuid.New, Environments: specs}); err != nil {
			t.Fatal(err)
		}
		h.e.sweepDeleted(h.ctx)
		if groupAlive(gone) {
			t.Error("the release of an environment that left the config still runs")
		}
		if !groupAlive(kept) {
			t.Error("the release of a live environment was stopped")
		}
	})
}
