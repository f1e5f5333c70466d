package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

// axe-core is the accessibility engine the dashboard's pages are checked
// with: its release tarball is fetched once per machine from the npm
// registry, checked against the registry's integrity hash, and its
// axe.min.js kept in the user's cache directory.
const (
	axeVersion   = "4.14.1"
	axeIntegrity = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)

var axeTool struct {
	once sync.Once
	src  string
	err  error
}

// axeSource returns axe.min.js, fetching it the first time on a machine.
func axeSource(t testing.TB) string {
	t.Helper()
	axeTool.once.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			axeTool.err = err
			return
		}
		file := filepath.Join(cache, "liftoff-e2e-tools", "axe-core-"+axeVersion, "axe.min.js")
		if b, err := os.ReadFile(file); err == nil {
			axeTool.src = string(b)
			return
		}
		b, err := fetchAxe()
		if err != nil {
			axeTool.err = fmt.Errorf("axe-core %s from registry.npmjs.org (the accessibility tests need it once per machine; "+
				"or put its axe.min.js at %s): %w", axeVersion, file, err)
			return
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err == nil {
			_ = os.WriteFile(file+".tmp", b, 0o644)
			_ = os.Rename(file+".tmp", file)
		}
		axeTool.src = string(b)
	})
	if axeTool.err != nil {
		t.Fatal(axeTool.err)
	}
	return axeTool.src
}

// fetchAxe downloads axe-core's tarball, checks its integrity and returns
// its axe.min.js.
func fetchAxe() ([]byte, error) {
	c := &http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Get("https://registry.npmjs.org/axe-core/-/axe-core-" + axeVersion + ".tgz")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the registry answered %s", resp.Status)
	}
	tgz, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	sum := sha512.Sum512(tgz)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != axeIntegrity {
		return nil, fmt.Errorf("the tarball's integrity is %s, want %s", got, axeIntegrity)
	}
	gz, err := gzip.NewReader(strings.NewReader(string(tgz)))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the tarball has no package/axe.min.js")
		}
		if err != nil {
			return nil, err
		}
		if h.Name == "package/axe.min.js" {
			return io.ReadAll(tr)
		}
	}
}

// axeViolation is one rule a page breaks, as axe reports it.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// axeCheck runs axe-core on the page the tab shows and returns its serious
// and critical violations.
func axeCheck(t testing.TB, tab context.Context) []axeViolation {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](axeSource(t))); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	out, err := chromedp.Run(tab, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(
		r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
			ID: v.id, Impact: v.impact, Help: v.help, Nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary)}))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe-core's answer %q: %v", out, err)
	}
	return vs
}

// viewports are the widths every page is checked and shot at.
var viewports = []struct {
	name          string
	width, height int64
}{{"desktop", 1280, 800}, {"phone", 390, 844}}

// a11yConfig deploys one service of each kind the dashboard shows: a web
// service that runs, a static site, a scheduler with a job run by hand.
func a11yConfig() string {
	return `{"environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
    {"id": "site", "name": "Site", "type": "static", "basePath": "site", "watchPaths": ["site/**"],
     "buildCommand": "mkdir -p public && cp index.html public/", "outputDirectory": "public"},
    {"id": "api", "name": "API", "type": "web", "startCommand": "` + webserver + `", "healthCheckPath": "/health", "watchPaths": ["api/**"]},
    {"id": "cron", "name": "Cron", "type": "scheduler", "buildCommand": "true",
     "jobs": {"by-hand": {"startCommand": "echo by hand", "schedule": "manual"}}}
  ]},
  {"id": "preview", "name": "Previews", "source": {"pr": true}, "services": [
    {"id": "site", "name": "Site", "type": "static", "basePath": "site", "watchPaths": ["site/**"],
     "buildCommand": "mkdir -p public && cp index.html public/", "outputDirectory": "public"}
  ]}
]}`
}

// dashboardSite is a liftoff serve with an admin user signed in in a
// headless chromium, and a project whose production and a pull request's
// preview were deployed.
type dashboardSite struct {
	base, env, preview, deployment string
	// api and cron are the production services' ids; run a run of
	// cron's job.
	api, cron, run string
	tab            context.Context
}

func newDashboardSite(t testing.TB, ctx context.Context) dashboardSite {
	t.Helper()
	flags := storeFlags(t, "sqlite", t.TempDir())
	const email, password = "ada@example.com", "correct horse battery"
	createUser(t, flags, email, password)
	key := bootstrapKey(t, flags)
	srv := start(t, flags, &logLines{})
	c := client.New(srv.url(), key)
	repo := gittest.New(t)
	repo.Commit("site", map[string]string{"liftoff.json": a11yConfig(), "site/index.html": "<h1>hi</h1>"})
	p, err := c.CreateProjectWith(ctx, client.NewProject{Name: "shop", RepoURL: repo.Dir})
	if err != nil {
		t.Fatal(err)
	}
	s := dashboardSite{base: srv.url(), env: strconv.FormatInt(p.Environments[0].EnvironmentID, 10),
		preview: strconv.FormatInt(p.Environments[1].EnvironmentID, 10)}
	prod, err := c.CreateHook(ctx, p.Environments[0].EnvironmentID, "CI")
	if err != nil {
		t.Fatal(err)
	}
	prev, err := c.CreateHook(ctx, p.Environments[1].EnvironmentID, "GitHub Actions")
	if err != nil {
		t.Fatal(err)
	}
	hookURL := func(h client.CreatedHook) string { return srv.url() + h.URL[strings.Index(h.URL, "/api/"):] }
	s.deployment = callHook(t, hookURL(prod))
	previewDeployment := callHook(t, strings.NewReplacer("{prNumber}", "7", "{commitSHA}", repo.Head()).Replace(hookURL(prev)))
	for _, id := range []string{s.deployment, previewDeployment} {
		for {
			d, err := c.Deployment(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if isFinal(d.Status) {
				if d.Status != "SUCCESS" {
					t.Fatalf("deployment %s ended %s", id, d.Status)
				}
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("deployment %s: %v", id, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	d, err := c.Deployment(ctx, s.deployment)
	if err != nil {
		t.Fatal(err)
	}
	for _, sd := range d.ServiceDeployments {
		switch sd.Service.ServiceGivenID {
		case "api":
			s.api = sd.Service.ServiceID
		case "cron":
			s.cron = sd.Service.ServiceID
		}
	}
	run, err := c.RunJob(ctx, s.cron, "by-hand", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.run = run.JobExecutionID
	s.tab = newBrowser(t, ctx)
	if err := chromedp.Do(s.tab, chromedp.Navigate(s.base+"/login"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), password+"\r"),
		chromedp.WaitVisible(chromedp.ID("create-project"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	return s
}

// idSegment is a path segment that names one thing: a number, or an id.
var idSegment = regexp.MustCompile(`^([0-9]+|[a-z0-9_]{20,})$`)

// pageShape is a dashboard path with its ids made "*": pages of one shape
// are one template.
func pageShape(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if idSegment.MatchString(p) {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, "/")
}

// crawlable says whether a link of a page is a dashboard page to check:
// not a static file, the API, an event stream, or a page that leaves the
// dashboard.
func crawlable(path string) bool {
	for _, prefix := range []string{"/static/", "/api/", "/v1/", "/healthz"} {
		if strings.HasPrefix(path, prefix) {
			return false
		}
	}
	return !strings.HasSuffix(path, "/events") && !strings.HasSuffix(path, "/open")
}

// TestDashboardAccessibility checks every page of the dashboard a signed-in
// admin can reach by its links, one of each kind, and the pages only a
// form leads to (a hook's URL shown once, a confirmation, a refusal, the
// sign-in page): axe-core finds no serious or critical violation at a
// desktop's and at a phone's width, and no page is wider than a phone's
// screen. With LIFTOFF_SCREENSHOTS=dir, it saves a screenshot of each page
// at both widths there (docs/screenshots is made so).
func TestDashboardAccessibility(t *testing.T) {
	t.Parallel()
	chromium(t)
	axeSource(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := newDashboardSite(t, ctx)
	shots := os.Getenv("LIFTOFF_SCREENSHOTS")
	checked := 0
	// check checks the page the tab shows, as name.
	check := func(name string) {
		t.Helper()
		checked++
		for _, vp := range viewports {
			if err := chromedp.Do(s.tab, chromedp.EmulateViewport(vp.width, vp.height)); err != nil {
				t.Fatal(err)
			}
			for _, v := range axeCheck(t, s.tab) {
				t.Errorf("%s at a %s's width: %s (%s): %s\n  %s", name, vp.name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
			}
			if wide, _ := chromedp.Run(s.tab, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); wide {
				t.Errorf("%s is wider than a %s's screen", name, vp.name)
			}
			if shots != "" && screenshotPage(name) {
				png, err := chromedp.Run(s.tab, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(shots, name+"-"+vp.name+".png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	open := func(path string) {
		t.Helper()
		resp, err := chromedp.Run(s.tab, chromedp.NavigateResponse(s.base+path))
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		if resp.Status != http.StatusOK {
			t.Fatalf("%s answered %d", path, resp.Status)
		}
	}

	// Every kind of page its links reach, from the projects.
	seen := map[string]bool{"/projects": true, "/": true} // "/" sends to the projects
	queue := []string{"/projects"}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		open(path)
		check(screenshotName(path))
		links, err := chromedp.Run(s.tab, chromedp.Evaluate[[]string](
			`[...document.querySelectorAll("a[href]")].map(a => a.getAttribute("href")).filter(h => h.startsWith("/"))`))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			u, err := url.Parse(l)
			if err != nil {
				t.Fatalf("%s links to %q: %v", path, l, err)
			}
			if shape := pageShape(u.Path); crawlable(u.Path) && !seen[shape] {
				seen[shape] = true
				queue = append(queue, u.RequestURI())
			}
		}
	}
	for _, want := range []string{"/projects/*", "/environments/*", "/deployments", "/deployments/*"} {
		if !seen[want] {
			t.Errorf("no link leads to a page %s: %v", want, seen)
		}
	}

	// Pages of a kind seen, whose content differs: a preview environment's
	// settings (its previews), a running web service (its live log), a
	// scheduler (its jobs), a job's run.
	for name, path := range map[string]string{"preview-environment": "/environments/" + s.preview, "service-web": "/services/" + s.api,
		"service-scheduler": "/services/" + s.cron, "job-execution": "/job-executions/" + s.run} {
		open(path)
		check(name)
	}

	// The pages only forms lead to.
	open("/environments/" + s.env)
	if err := chromedp.Do(s.tab, chromedp.SendKeys(chromedp.ID("hook-name"), "Nightly"), chromedp.Click(`//button[text()="Create Deploy Hook"]`),
		chromedp.WaitVisible(chromedp.ID("hook-url"))); err != nil {
		t.Fatalf("create a deploy hook: %v", err)
	}
	check("deploy-hook-created")
	if err := chromedp.Do(s.tab, chromedp.Navigate(s.base+"/environments/"+s.env), chromedp.Click(chromedp.CSS(`button[aria-label="Delete Nightly"]`)),
		chromedp.WaitVisible(`//button[text()="Delete hook"]`)); err != nil {
		t.Fatalf("ask to delete a hook: %v", err)
	}
	check("confirm")
	// The server's refusal, past the browser's own check of the field.
	if err := chromedp.Do(s.tab, chromedp.Navigate(s.base+"/environments/"+s.env),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("hook-name").removeAttribute("required")`),
		chromedp.SendKeys(chromedp.ID("hook-name"), "   "), chromedp.Click(`//button[text()="Create Deploy Hook"]`),
		chromedp.WaitVisible(chromedp.CSS(".field-error"))); err != nil {
		t.Fatalf("create a hook without a name: %v", err)
	}
	check("form-error")
	if err := chromedp.Do(s.tab, chromedp.Navigate(s.base+"/deployments/nosuchdeployment")); err != nil {
		t.Fatal(err)
	}
	check("not-found")
	if _, err := chromedp.Call(s.tab, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	open("/login")
	check("sign-in")
	t.Logf("%d pages checked with axe-core %s at %d widths; the kinds its links reach: %s", checked, axeVersion, len(viewports),
		strings.Join(slices.Sorted(maps.Keys(seen)), " "))
}

// TestAxeFindsViolations: the check above can fail. A page with an image
// without a text alternative and a button without a name is refused.
func TestAxeFindsViolations(t *testing.T) {
	t.Parallel()
	chromium(t)
	axeSource(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `<!doctype html><html lang="en"><title>bad</title><main><img src="/x.png"><button></button></main></html>`)
	}))
	defer srv.Close()
	tab := newBrowser(t, ctx)
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range axeCheck(t, tab) {
		ids = append(ids, v.ID)
	}
	if !slices.Contains(ids, "image-alt") || !slices.Contains(ids, "button-name") {
		t.Fatalf("axe-core found %v, want image-alt and button-name", ids)
	}
}

// screenshotPage says whether docs/screenshots keeps a page's
// screenshots: the main pages.
func screenshotPage(name string) bool {
	switch name {
	case "projects", "project", "environment", "preview-environment", "environment-variables", "deploy-hook-created", "deployments",
		"deployment", "service-web", "service-scheduler", "job-execution", "api-keys", "users", "sign-in":
		return true
	}
	return false
}

// screenshotName names a page's screenshot by its path's shape:
// /environments/* is "environment".
func screenshotName(path string) string {
	shape := strings.Trim(pageShape(path), "/")
	var words []string
	for i, part := range strings.Split(shape, "/") {
		switch {
		case part == "*" && i > 0:
			words[len(words)-1] = strings.TrimSuffix(words[len(words)-1], "s")
		case part != "*":
			words = append(words, part)
		}
	}
	return strings.Join(words, "-")
}

// BenchmarkDashboardDeploymentPage measures the deployment page as a
// browser on the same machine loads it, its cache off: the bytes it
// transfers (the page and every file it loads), the time to its first
// contentful paint and the server's part of it (request sent to the first
// byte of the answer), beside a bare page (a heading and a paragraph from a
// plain net/http server) loaded the same way in the same run, as a ratio.
func BenchmarkDashboardDeploymentPage(b *testing.B) {
	chromium(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := newDashboardSite(b, ctx)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `<!doctype html><html lang="en"><title>bare</title><h1>Deployment</h1><p>SUCCESS</p></html>`)
	}))
	defer bare.Close()
	if err := chromedp.Do(s.tab, chromedp.EmulateViewport(1280, 800)); err != nil {
		b.Fatal(err)
	}
	if _, err := chromedp.Call(s.tab, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		b.Fatal(err)
	}
	type load struct{ Paint, Server, Bytes float64 }
	measure := func(u string) load {
		b.Helper()
		if err := chromedp.Do(s.tab, chromedp.Navigate(u)); err != nil {
			b.Fatal(err)
		}
		// The first contentful paint is reported once it happened.
		l, err := chromedp.Run(s.tab, chromedp.Evaluate[load](`new Promise(done => new PerformanceObserver((list, obs) => {
			const p = list.getEntriesByName("first-contentful-paint")[0];
			if (!p) return;
			obs.disconnect();
			const n = performance.getEntriesByType("navigation")[0];
			const res = performance.getEntriesByType("resource").reduce((sum, r) => sum + r.transferSize, 0);
			done({Paint: p.startTime, Server: n.responseStart - n.requestStart, Bytes: n.transferSize + res});
		}).observe({type: "paint", buffered: true}))`, chromedp.EvalAwaitPromise))
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	page := s.base + "/deployments/" + s.deployment
	measure(page) // the first load warms chromium itself up
	var dash, base load
	b.ResetTimer()
	for b.Loop() {
		d, r := measure(page), measure(bare.URL)
		dash.Paint += d.Paint
		dash.Server += d.Server
		dash.Bytes = d.Bytes
		base.Paint += r.Paint
		base.Bytes = r.Bytes
	}
	n := float64(b.N)
	b.ReportMetric(dash.Paint/n, "ms-first-paint")
	b.ReportMetric(base.Paint/n, "ms-first-paint-bare")
	b.ReportMetric(dash.Paint/base.Paint, "first-paint-ratio")
	b.ReportMetric(dash.Server/n, "ms-server")
	b.ReportMetric(dash.Bytes, "page-bytes")
	b.ReportMetric(base.Bytes, "page-bytes-bare")
}
