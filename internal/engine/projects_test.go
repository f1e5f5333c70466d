package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
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

// TestDeleteProjectRemovesItsContainersAndImages: on the real container
// CLI, deleting a project removes, on the node, every container labelled
// with it and its image tags (localhost/liftoff/<slug>/...), and nothing
// of another project, one with a similar slug included. A deleted
// project whose slug a live project took meanwhile keeps its tags: they
// are the live one's now.
func TestDeleteProjectRemovesItsContainersAndImages(t *testing.T) {
	cli := containertest.CLI(t)
	run := strings.ToLower(cuid.New())
	cfg := `{"environments": [{"id": "production", "source": {"branch": "main"}, "services": [
		{"id": "web", "type": "worker", "buildType": "docker"}]}]}`
	files := map[string]string{"Dockerfile": "FROM " + containertest.BaseImage + "\nCOPY run.txt /run.txt\n", "run.txt": run}
	h := newEngineHarness(t, cfg, files, newFakeTarget(), func(d *Deps, _ *Config) { d.Containers = cli })
	containertest.Cleanup(t, cli, LabelProject, h.p.ID)
	containertest.Cleanup(t, cli, "liftoff.test", run)
	slug := "del-" + run
	if err := h.st.SetProjectSlug(h.ctx, store.SetProjectSlugParams{ID: h.p.ID, Slug: slug}); err != nil {
		t.Fatal(err)
	}
	if d := h.deploy(liftoff.Deployment{}); d.Status != liftoff.StatusSuccess {
		t.Fatalf("deployment ended %s: %+v\n%s", d.Status, d.Errors, logText(t, h, d.ID))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// What other projects have: a similar slug's image, and one whose
	// slug a live project will take.
	tag := func(project string) string {
		ref := "localhost/liftoff/" + project + "/production/web:" + run
		if err := cli.Build(ctx, container.BuildSpec{Context: t.TempDir(), Dockerfile: writeDockerfile(t, "FROM "+containertest.BaseImage+"\n"),
			Labels: map[string]string{"liftoff.test": run}, Tags: []string{ref}}); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	similar := tag(slug + "-2")
	taken := "taken-" + run
	takenTag := tag(taken)
	gone, err := h.st.CreateProject(h.ctx, store.CreateProjectParams{ID: cuid.New(), Name: "gone", Slug: taken, RepoURL: h.repo.Dir,
		ConfigPath: "liftoff.json", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.DeleteProject(h.ctx, store.DeleteProjectParams{ID: gone.ID, Message: "deleted", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.CreateProject(h.ctx, store.CreateProjectParams{ID: cuid.New(), Name: "taker", Slug: taken, RepoURL: h.repo.Dir,
		ConfigPath: "liftoff.json", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// A container of the project a release or a job left behind.
	if _, err := cli.Run(ctx, container.RunSpec{Name: "liftoff-test-" + run, Image: containertest.BaseImage, Command: []string{"sleep", "300"},
		Labels: map[string]string{LabelProject: h.p.ID, "liftoff.test": run}}); err != nil {
		t.Fatal(err)
	}
	own := func() []string { return tagsWith(t, cli, "localhost/liftoff/"+slug+"/") }
	if len(own()) != 1 {
		t.Fatalf("the project's images before its deletion: %v", own())
	}

	if _, err := h.deployments().DeleteProject(h.ctx, h.p.ID); err != nil {
		t.Fatal(err)
	}
	// The janitor was woken; the same sweep, run here, is over when it
	// returns, whoever did the work.
	h.e.sweepDeletedProjects(ctx, map[string]bool{})
	if left, err := cli.List(ctx, map[string]string{LabelProject: h.p.ID}); err != nil || len(left) != 0 {
		t.Errorf("containers of the deleted project are left: %+v, %v", left, err)
	}
	if left := own(); len(left) != 0 {
		t.Errorf("images of the deleted project are left: %v", left)
	}
	for _, ref := range []string{similar, takenTag} {
		if !slices.Contains(tagsWith(t, cli, ref), ref) {
			t.Errorf("the image %s of another project was removed", ref)
		}
	}
}

// writeDockerfile writes text as a Dockerfile of its own and returns its path.
func writeDockerfile(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// tagsWith lists the image tags that start with prefix.
func tagsWith(t *testing.T, cli *container.CLI, prefix string) []string {
	t.Helper()
	images, err := cli.ListImages(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, im := range images {
		for _, tag := range im.Tags {
			if strings.HasPrefix(tag, prefix) {
				tags = append(tags, tag)
			}
		}
	}
	return tags
}
