package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// Deleting a project cancels what it has queued, revokes its hooks, frees
// its name, and keeps its history readable.
func TestDeleteProject(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks(func(c *hook.Config) { c.TargetCacheTTL = -1 }))
			ctx := t.Context()
			secret, _ := h.createHook("production")
			hookPath := fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], secret)
			pending := h.trigger(hookPath, nil)

			if err := h.c.DeleteProject(ctx, h.project.ProjectID); err != nil {
				t.Fatal(err)
			}
			d, err := h.c.Deployment(ctx, pending)
			if err != nil || d.Status != "CANCELLED" || len(d.Error) != 1 || d.Error[0]["CANCELLED"] != "the project was deleted" {
				t.Errorf("the PENDING deployment of a deleted project: %+v %v", d, err)
			}
			if status, _, body := h.call("GET", hookPath, nil); status != http.StatusNotFound {
				t.Errorf("a hook of a deleted project answers %d %s", status, body)
			}
			var ae *client.Error
			if _, err := h.c.Project(ctx, h.project.ProjectID); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
				t.Errorf("get a deleted project: %v", err)
			}
			if _, err := h.c.StartDeployment(ctx, h.env["production"], false, "", ""); !errors.As(err, &ae) || ae.Status != http.StatusConflict {
				t.Errorf("deploy an environment of a deleted project: %v", err)
			}
			if ps, err := h.c.Projects(ctx); err != nil || len(ps) != 0 {
				t.Errorf("projects after the delete: %+v %v", ps, err)
			}
			// Its name and slug are free again; its environments get new ids.
			p, err := h.c.CreateProject(ctx, "shop", h.repo.Dir, "")
			if err != nil || p.Environments[0].EnvironmentID == h.env[p.Environments[0].GivenID] {
				t.Errorf("a new project of the same name: %+v %v", p, err)
			}
		})
	}
}
