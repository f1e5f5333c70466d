package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// TestDockerStaticSiteIsCopiedOutOfItsImage: a static site built from a
// Dockerfile is released as the directory its outputDirectory names in
// the image (relative to the image's WORKDIR, or absolute), copied into
// its build, with no image to run; a restart restores the same release;
// an outputDirectory the image lacks fails the build, saying so; and no
// container is left.
func TestDockerStaticSiteIsCopiedOutOfItsImage(t *testing.T) {
	cli := containertest.CLI(t)
	run := cuid.New()
	cfg := `{"environments": [{"id": "production", "source": {"branch": "main"}, "services": [
		{"id": "site", "type": "static", "buildType": "docker", "dockerfilePath": "site/Dockerfile", "dockerContext": "site", "outputDirectory": "dist"},
		{"id": "abs", "type": "static", "buildType": "docker", "dockerfilePath": "site/Dockerfile", "dockerContext": "site", "outputDirectory": "/srv/www/dist"},
		{"id": "none", "type": "static", "buildType": "docker", "dockerfilePath": "site/Dockerfile", "dockerContext": "site"}]}]}`
	files := map[string]string{
		"site/Dockerfile": "FROM " + containertest.BaseImage + "\nWORKDIR /srv/www\nCOPY index.html dist/index.html\nRUN mkdir -p dist/docs && echo docs > dist/docs/index.html\n",
		"site/index.html": "<h1>" + run + "</h1>",
	}
	tg := newFakeTarget()
	h := newEngineHarness(t, cfg, files, tg, func(d *Deps, _ *Config) { d.Containers = cli })
	containertest.Cleanup(t, cli, LabelProject, h.p.ID)
	d := h.deploy(liftoff.Deployment{})
	text := logText(t, h, d.ID)
	if d.Status != liftoff.StatusBuildError {
		t.Fatalf("deployment ended %s, want BUILD_ERROR for none: %+v\n%s", d.Status, d.Errors, text)
	}
	none := service(t, d, "none")
	if none.Status != liftoff.StatusBuildError || len(none.Errors) != 1 ||
		!strings.Contains(none.Errors[0].Message, `outputDirectory "public" is not a directory in the image (/srv/www/public)`) {
		t.Errorf("none = %s %+v, want BUILD_ERROR naming /srv/www/public", none.Status, none.Errors)
	}
	released := map[string]bool{}
	for _, rel := range tg.released() {
		released[rel.Service.ID] = true
		sd := service(t, d, rel.Service.ID)
		if sd.Status != liftoff.StatusSuccess || !strings.HasPrefix(sd.Image, "localhost/liftoff/") {
			t.Errorf("%s = %s, image %q", rel.Service.ID, sd.Status, sd.Image)
		}
		if rel.Image != "" || rel.Root != sd.BuildDir || rel.Dir != filepath.Join(sd.BuildDir, imageSiteDir) || rel.Service.OutputDirectory != "." {
			t.Errorf("%s released image %q root %s dir %s output %q, want the site copied into its build", rel.Service.ID, rel.Image,
				rel.Root, rel.Dir, rel.Service.OutputDirectory)
		}
		if b, err := os.ReadFile(filepath.Join(rel.Dir, "index.html")); err != nil || !strings.Contains(string(b), run) {
			t.Errorf("%s: the site's index.html = %q, %v", rel.Service.ID, b, err)
		}
		if b, err := os.ReadFile(filepath.Join(rel.Dir, "docs", "index.html")); err != nil || string(b) != "docs\n" {
			t.Errorf("%s: docs/index.html = %q, %v", rel.Service.ID, b, err)
		}
		// A restart serves the same.
		again, err := h.e.releaseOf(h.ctx, sd)
		if err != nil || again.Dir != rel.Dir || again.Image != "" || again.Service.OutputDirectory != "." {
			t.Errorf("%s restored as dir %s image %q output %q, %v", rel.Service.ID, again.Dir, again.Image, again.Service.OutputDirectory, err)
		}
	}
	if !released["site"] || !released["abs"] || released["none"] {
		t.Errorf("released %v, want site and abs", released)
	}
	if !strings.Contains(text, "==> Copied /srv/www/dist out of the image") {
		t.Errorf("the log does not say what was copied:\n%s", text)
	}
	if left, err := cli.List(h.ctx, map[string]string{LabelProject: h.p.ID}); err != nil || len(left) != 0 {
		t.Errorf("containers left: %+v, %v", left, err)
	}
}
