package local

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/target"
)

func staticRelease(t *testing.T, id string, spa bool) target.Release {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"dist/index.html":      "<h1>home</h1>",
		"dist/app.js":          "console.log(1)",
		"dist/style.css":       "body{}",
		"dist/docs/index.html": "<h1>docs</h1>",
		"dist/empty/.keep":     "",
		"secret.txt":           "outside the output directory",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "secret.txt"), filepath.Join(dir, "dist", "link.txt")); err != nil {
		t.Fatal(err)
	}
	return target.Release{
		ID:       id,
		Instance: production,
		Service:  config.Service{ID: "site", Type: config.TypeStatic, OutputDirectory: "dist", SinglePageApp: spa},
		Dir:      dir,
		Hosts:    hostsOf(production, "site"),
	}
}

func TestStaticSite(t *testing.T) {
	t.Parallel()
	type req struct {
		path, body, contentType, location string
		status                            int
	}
	common := []req{
		{path: "/", status: 200, body: "<h1>home</h1>", contentType: "text/html"},
		{path: "/index.html", status: 200, body: "<h1>home</h1>", contentType: "text/html"},
		{path: "/app.js", status: 200, body: "console.log(1)", contentType: "javascript"},
		{path: "/style.css", status: 200, body: "body{}", contentType: "text/css"},
		{path: "/docs/", status: 200, body: "<h1>docs</h1>"},
		{path: "/docs", status: 301, location: "docs/"},
		{path: "/missing.js", status: 404},
		{path: "/../secret.txt", status: 404},
		{path: "/link.txt", status: 404}, // a symlink out of the output directory
	}
	for _, tc := range []struct {
		name string
		spa  bool
		reqs []req
	}{
		{"plain", false, append(common,
			req{path: "/about", status: 404},
			req{path: "/empty/", status: 404},
		)},
		{"single page app", true, append(common,
			req{path: "/about", status: 200, body: "<h1>home</h1>", contentType: "text/html"},
			req{path: "/users/42/edit", status: 200, body: "<h1>home</h1>"},
		)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			h.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			h.deploy(staticRelease(t, "s1", tc.spa))
			for _, r := range tc.reqs {
				req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+r.path, nil)
				req.Host = "site.production.localhost"
				resp, err := h.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body := string(b)
				if resp.StatusCode != r.status {
					t.Errorf("GET %s: status %d, want %d", r.path, resp.StatusCode, r.status)
					continue
				}
				if r.body != "" && body != r.body {
					t.Errorf("GET %s: body %q, want %q", r.path, body, r.body)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, r.contentType) {
					t.Errorf("GET %s: Content-Type %q, want %q", r.path, ct, r.contentType)
				}
				if loc := resp.Header.Get("Location"); loc != r.location {
					t.Errorf("GET %s: Location %q, want %q", r.path, loc, r.location)
				}
			}
		})
	}
}

func TestStaticRedeployAndErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.deploy(staticRelease(t, "s1", false))
	if got := h.tg.Domain(config.Service{ID: "site", Type: config.TypeStatic}, hostsOf(production, "site")); got != "http://site.production.localhost:8000" {
		t.Errorf("Domain = %q", got)
	}

	missing := staticRelease(t, "s2", false)
	missing.Service.OutputDirectory = "build"
	err := h.tg.Deploy(context.Background(), missing)
	want := "static output directory " + filepath.Join(missing.Dir, "build") + " does not exist"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Deploy = %v, want %q", err, want)
	}

	file := staticRelease(t, "s3", false)
	file.Service.OutputDirectory = "secret.txt"
	if err := h.tg.Deploy(context.Background(), file); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Fatalf("Deploy = %v, want not a directory", err)
	}

	// The first release still serves; then a new one replaces it.
	status, body := h.mustGet("site.production.localhost", "/")
	if status != 200 || body != "<h1>home</h1>" {
		t.Fatalf("GET / = %d %q", status, body)
	}
	next := staticRelease(t, "s4", false)
	if err := os.WriteFile(filepath.Join(next.Dir, "dist", "index.html"), []byte("<h1>new</h1>"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.deploy(next)
	if _, body := h.mustGet("site.production.localhost", "/"); body != "<h1>new</h1>" {
		t.Errorf("after redeploy GET / = %q", body)
	}
}
