package local

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/target"
)

// TestProjectsDoNotCollide: two projects with the same environment and
// service ids deploy side by side. Neither replaces the other's route,
// stops the other's release or writes to the other's log file.
func TestProjectsDoNotCollide(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	shop := production // project p1 holds the short names
	blog := target.Instance{ProjectID: "p2", EnvironmentID: 7, EnvGivenID: "production"}

	a := serverRelease(t, shop, "api", "shop")
	h.deploy(a)
	b := serverRelease(t, blog, "api", "blog")
	_, long := target.HostNames(blog, "api", "blog")
	b.Hosts = []string{long}
	h.deploy(b)

	h.expectBody("api.production.localhost", "shop")
	h.expectBody("api.production.shop.localhost", "shop")
	h.expectBody("api.production.blog.localhost", "blog")
	if got := h.tg.Domain(b.Service, b.Hosts); got != "http://api.production.blog.localhost:8000" {
		t.Errorf("Domain of the second project = %q", got)
	}

	ra, rb := h.current(shop, "api"), h.current(blog, "api")
	if ra == nil || rb == nil || ra == rb {
		t.Fatalf("serving releases: shop %v, blog %v: want one each", ra, rb)
	}
	if err := syscall.Kill(ra.proc().pid, 0); err != nil {
		t.Fatalf("the first project's release was stopped by the second's deploy: %v", err)
	}
	if pa, pb := h.tg.LogPath(shop, "api"), h.tg.LogPath(blog, "api"); pa == pb {
		t.Fatalf("both projects log to %s", pa)
	}

	// Stopping one project's instance leaves the other's alone.
	if err := h.tg.StopInstance(context.Background(), blog); err != nil {
		t.Fatal(err)
	}
	if status, _ := h.mustGet("api.production.blog.localhost", "/"); status != http.StatusNotFound {
		t.Errorf("stopped project still answers: %d", status)
	}
	h.expectBody("api.production.localhost", "shop")
}

// TestStaticOutputThroughSymlinkRefused: a static site whose
// outputDirectory (or a directory on the way to it) is a symbolic link
// leading out of the checkout is refused, not served.
func TestStaticOutputThroughSymlinkRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	secret := filepath.Join(t.TempDir(), "outside")
	if err := os.MkdirAll(secret, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secret, "index.html"), []byte("SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, link, target, outDir string
	}{
		{"absolute link", "public", secret, "public"},
		{"relative link up", "public", "../..", "public"},
		{"link on the way", "build", filepath.Dir(secret), "build/outside"},
		{"link to /etc", "public", "/etc", "public"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkout := t.TempDir()
			if err := os.Symlink(tc.target, filepath.Join(checkout, tc.link)); err != nil {
				t.Fatal(err)
			}
			rel := target.Release{ID: "s-" + tc.link, Instance: production, Root: checkout, Dir: checkout,
				Service: config.Service{ID: "site", Type: config.TypeStatic, OutputDirectory: tc.outDir},
				Hosts:   []string{"site.production.localhost"}}
			err := h.tg.Deploy(context.Background(), rel)
			if err == nil || !strings.Contains(err.Error(), "leads out of the checkout") {
				t.Fatalf("Deploy = %v, want a refusal saying it leads out of the checkout", err)
			}
			if status, body := h.mustGet("site.production.localhost", "/"); status == http.StatusOK || strings.Contains(body, "SECRET") {
				t.Fatalf("the link was served: %d %q", status, body)
			}
		})
	}

	// A link that stays inside the checkout is fine.
	checkout := t.TempDir()
	if err := os.MkdirAll(filepath.Join(checkout, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(checkout, "dist", "index.html"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("dist", filepath.Join(checkout, "public")); err != nil {
		t.Fatal(err)
	}
	h.deploy(target.Release{ID: "inside", Instance: production, Root: checkout, Dir: checkout,
		Service: config.Service{ID: "site", Type: config.TypeStatic, OutputDirectory: "public"},
		Hosts:   []string{"site.production.localhost"}})
	h.expectBody("site.production.localhost", "inside")
}

// TestReleaseDirThroughSymlinkRefused: a release whose directory leads out
// of its checkout through a link never starts there.
func TestReleaseDirThroughSymlinkRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	checkout := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(checkout, "app")); err != nil {
		t.Fatal(err)
	}
	rel := shellRelease(t, production, "jobs", config.TypeWorker, "touch ran; exec sleep 60")
	rel.Root, rel.Dir = checkout, filepath.Join(checkout, "app")
	err := h.tg.Deploy(context.Background(), rel)
	if err == nil || !strings.Contains(err.Error(), "leads out of the checkout") {
		t.Fatalf("Deploy = %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "ran")); err == nil {
		t.Fatal("the start command ran outside the checkout")
	}
}
