package engine

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// TestDockerServiceBuildsItsImage: a buildType docker service is built
// from its Dockerfile and context with the container CLI, its output in
// the stored logs, its variables as build arguments, its image tagged and
// labelled and recorded; its release is skipped (NO_CHANGE, saying so)
// until Liftoff runs containers, without holding back a service that
// depends on it; and images beyond versionHistoryCount are removed.
func TestDockerServiceBuildsItsImage(t *testing.T) {
	cli := containertest.CLI(t)
	cfg := `{"envVariables": {"GREETING": "bonjour"}, "environments": [{"id": "production", "source": {"branch": "main"}, "services": [
		{"id": "App_1", "type": "web", "buildType": "docker", "dockerfilePath": "docker/app.Dockerfile", "dockerContext": "app",
		 "dockerTarget": "final", "versionHistoryCount": 2,
		 "preDeployCommand": ["/bin/sh", "-c", "echo predeploy in the image sees $(cat /greeting) and $GREETING"]},
		{"id": "api", "type": "worker", "startCommand": "./api", "dependsOn": ["App_1"]}]}]}`
	files := map[string]string{
		"docker/app.Dockerfile": "FROM " + containertest.BaseImage + " AS final\nARG GREETING\nARG LIFTOFF_DEPLOYMENT_ID\nCOPY hello.txt /hello.txt\n" +
			"RUN echo \"build $LIFTOFF_DEPLOYMENT_ID says $GREETING, from $(cat /hello.txt)\" && echo \"$GREETING\" > /greeting\n" +
			"FROM final AS unused\nRUN false\n",
		"app/hello.txt": "the context",
	}
	tg := newFakeTarget()
	h := newEngineHarness(t, cfg, files, tg, func(d *Deps, _ *Config) { d.Containers = cli })
	labels := map[string]string{LabelProject: h.p.ID, LabelService: "App_1"}
	containertest.Cleanup(t, cli, LabelProject, h.p.ID)

	var refs []string
	for i := range 3 {
		d := h.deploy(liftoff.Deployment{TriggerType: liftoff.TriggerAPI, Force: true})
		if d.Status != liftoff.StatusSuccess {
			t.Fatalf("deployment %d ended %s: %+v\n%s", i, d.Status, d.Errors, logText(t, h, d.ID))
		}
		app := service(t, d, "App_1")
		project := h.p.Slug
		if project == "" {
			project = h.p.ID
		}
		want := "localhost/liftoff/" + refPart(project) + "/production/app-1:" + app.ID
		if app.Status != liftoff.StatusSuccess || app.Image != want {
			t.Fatalf("App_1 = %s %q image %q, want SUCCESS with image %s", app.Status, app.Reason, app.Image, want)
		}
		if api := service(t, d, "api"); api.Status != liftoff.StatusSuccess {
			t.Errorf("api, which depends on App_1, ended %s", api.Status)
		}
		text := logText(t, h, d.ID)
		for _, line := range []string{"==> Building image " + want, "build " + d.ID + " says bonjour, from the context", "==> Built image " + want,
			"predeploy in the image sees bonjour and bonjour"} {
			if !strings.Contains(text, line) {
				t.Errorf("the stored output lacks %q:\n%s", line, text)
			}
		}
		refs = append(refs, want)
	}
	// Each deployment released its own image, and only the docker service
	// as a container.
	var released []string
	for _, rel := range tg.released() {
		if rel.Service.ID == "App_1" {
			released = append(released, rel.Image)
		} else if rel.Image != "" {
			t.Errorf("%s was released with an image %s", rel.Service.ID, rel.Image)
		}
	}
	if !slices.Equal(released, refs) {
		t.Errorf("App_1 released %v, want %v", released, refs)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	images, err := cli.ListImages(ctx, labels)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, im := range images {
		for _, tag := range im.Tags {
			// Another test process's identical build may share the image.
			if repositoryOf(tag) == repositoryOf(refs[0]) {
				tags = append(tags, tag)
			}
		}
		if len(im.Tags) > 0 && (im.Labels[LabelEnvironment] != "production" || im.Labels[LabelPR] != "0" || im.Labels[LabelServiceDeployment] == "") {
			t.Errorf("image %v has labels %v", im.Tags, im.Labels)
		}
	}
	slices.Sort(tags)
	want := slices.Sorted(slices.Values(refs[1:]))
	if !slices.Equal(tags, want) {
		t.Errorf("images kept = %v, want the 2 newest (versionHistoryCount) %v", tags, want)
	}
}

// TestDockerServiceWithoutContainerCLI: without a container CLI a docker
// service is not deployed, saying why, and the others deploy.
func TestDockerServiceWithoutContainerCLI(t *testing.T) {
	cfg := `{"environments": [{"id": "production", "source": {"branch": "main"}, "services": [
		{"id": "app", "type": "web", "buildType": "docker"},
		{"id": "api", "type": "worker", "startCommand": "./api"}]}]}`
	h := newEngineHarness(t, cfg, nil, newFakeTarget())
	d := h.deploy(liftoff.Deployment{TriggerType: liftoff.TriggerAPI})
	if d.Status != liftoff.StatusSuccess {
		t.Fatalf("deployment ended %s: %+v", d.Status, d.Errors)
	}
	if app := service(t, d, "app"); app.Status != liftoff.StatusNoChange || !strings.Contains(app.Reason, "no container CLI") || app.Image != "" {
		t.Errorf("app = %s %q, want NO_CHANGE for want of a container CLI", app.Status, app.Reason)
	}
}

// TestDockerBuildFailure: a failing Dockerfile ends BUILD_ERROR with the
// step's output stored.
func TestDockerBuildFailure(t *testing.T) {
	cli := containertest.CLI(t)
	cfg := `{"environments": [{"id": "production", "source": {"branch": "main"}, "services": [
		{"id": "app", "type": "web", "buildType": "docker"}]}]}`
	files := map[string]string{"Dockerfile": "FROM " + containertest.BaseImage + "\nRUN echo step runs && false\n"}
	h := newEngineHarness(t, cfg, files, newFakeTarget(), func(d *Deps, _ *Config) { d.Containers = cli })
	containertest.Cleanup(t, cli, LabelProject, h.p.ID)
	d := h.deploy(liftoff.Deployment{TriggerType: liftoff.TriggerAPI})
	app := service(t, d, "app")
	if d.Status != liftoff.StatusBuildError || app.Status != liftoff.StatusBuildError || app.Image != "" {
		t.Fatalf("deployment %s, app %s image %q: want BUILD_ERROR and no image", d.Status, app.Status, app.Image)
	}
	if text := logText(t, h, d.ID); !strings.Contains(text, "step runs") || !strings.Contains(text, "image build failed") {
		t.Errorf("the stored output lacks the step's output or the failure:\n%s", text)
	}
}

// TestStaleTags: only the instance's own repository's tags count, the
// newest keep stay; another preview's tags on the same image (the layer
// cache's doing) are never removed.
func TestStaleTags(t *testing.T) {
	t.Parallel()
	own := "localhost/liftoff/shop/preview-pr-1/web"
	other := "localhost/liftoff/shop/preview-pr-2/web"
	tags := []string{own + ":c3", other + ":c9", own + ":c1", own + ":c2", other + ":c8", own + ":c2"}
	if got, want := staleTags(tags, own, 2), []string{own + ":c1"}; !slices.Equal(got, want) {
		t.Errorf("staleTags keep 2 = %v, want %v", got, want)
	}
	if got := staleTags(tags, own, 0); !slices.Equal(got, []string{own + ":c2", own + ":c1"}) {
		t.Errorf("staleTags keep 0 = %v, want all but the newest", got)
	}
	if got := staleTags(tags, "localhost/liftoff/shop/production/web", 1); len(got) != 0 {
		t.Errorf("staleTags of a repository with no tags = %v", got)
	}
}

// TestSplitBuildVariables: every variable is a build secret; with
// injectEnvVariablesInDockerfile a plain one is also an argument, a
// secret one only when the Dockerfile declares its ARG.
func TestSplitBuildVariables(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"PLAIN": "p", "TOKEN": "t", "DB_URL": "d"}
	secret := map[string]bool{"TOKEN": true, "DB_URL": true}
	args, secrets := splitBuildVariables(vars, secret, map[string]bool{"DB_URL": true}, true)
	if want := map[string]string{"PLAIN": "p", "DB_URL": "d"}; !maps.Equal(args, want) {
		t.Errorf("args = %v, want %v", args, want)
	}
	if !maps.Equal(secrets, vars) {
		t.Errorf("secrets = %v, want every variable", secrets)
	}
	if args, _ := splitBuildVariables(vars, secret, map[string]bool{"DB_URL": true}, false); len(args) != 0 {
		t.Errorf("args without injectEnvVariablesInDockerfile = %v, want none", args)
	}
}

func TestDeclaredArgs(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(f, []byte("ARG BASE=x\nFROM scratch\n  arg token\nRUN echo ARG NOT_ME\nARG DB_URL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := declaredArgs(f)
	if err != nil || !maps.Equal(got, map[string]bool{"BASE": true, "token": true, "DB_URL": true}) {
		t.Fatalf("declaredArgs = %v, %v", got, err)
	}
}
