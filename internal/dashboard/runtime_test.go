package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

// testNode is the node the dashboard's tests serve from: it has the logs
// of the releases recorded on it.
const testNode = "node-test"

// logStart is the time of the first line every fake log has.
var logStart = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// fakeLogs is the log reader of the tests: every service's log has one
// line naming it; a follower then gets each line sent on more.
type fakeLogs struct {
	more chan local.LogLine
	// left is told each time a follower stops.
	left chan struct{}
}

func newFakeLogs() *fakeLogs {
	return &fakeLogs{more: make(chan local.LogLine), left: make(chan struct{}, 16)}
}

func (f *fakeLogs) ReadLog(ctx context.Context, inst target.Instance, service string, p local.ReadLogParams, emit func([]local.LogLine) error) error {
	if service == "site" {
		return local.ErrNoLog
	}
	first := local.LogLine{Time: logStart, Text: "listening: " + service + " in " + inst.Key()}
	if p.Since.IsZero() || !first.Time.Before(p.Since) {
		if err := emit([]local.LogLine{first}); err != nil {
			return err
		}
	}
	if !p.Follow {
		return nil
	}
	defer func() {
		select {
		case f.left <- struct{}{}:
		default:
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case l := <-f.more:
			if err := emit([]local.LogLine{l}); err != nil {
				return err
			}
		}
	}
}

// runtimeConfig is testConfig with a scheduler in production and, in
// staging, a PostgreSQL database (made only with a managed server) and a
// MySQL one (never run).
var runtimeConfig = strings.Replace(strings.Replace(testConfig,
	`{"id": "site", "name": "Site", "type": "static", "watchPaths": ["site/**"], "buildCommand": "true"}`,
	`{"id": "site", "name": "Site", "type": "static", "watchPaths": ["site/**"], "buildCommand": "true"},
      {"id": "cron", "name": "Cron", "type": "scheduler", "buildCommand": "true", "jobs": {
        "nightly": {"startCommand": "node report.js", "schedule": "0 3 * * *"},
        "backfill": {"startCommand": ["node", "backfill.js"], "schedule": "manual"}}}`, 1),
	`{"id": "api", "name": "API", "type": "web", "startCommand": "./api"}
    ]},
    {"id": "preview"`,
	`{"id": "api", "name": "API", "type": "web", "startCommand": "./api"},
      {"id": "db", "name": "DB", "type": "rds", "engine": "postgres"},
      {"id": "legacy", "name": "Legacy", "type": "rds", "engine": "mysql"}
    ]},
    {"id": "preview"`, 1)

// withRuntime commits runtimeConfig and syncs the project, as an admin.
func (h *harness) withRuntime() {
	h.t.Helper()
	if !strings.Contains(runtimeConfig, `"cron"`) || !strings.Contains(runtimeConfig, `"legacy"`) {
		h.t.Fatal("runtimeConfig did not change testConfig")
	}
	h.repo.Commit("runtime", map[string]string{"liftoff.json": runtimeConfig})
	b := h.signIn("admin@example.com")
	b.get("/projects")
	if status, _, _ := b.post("/projects/"+h.project.Project.ID+"/sync", nil); status != http.StatusSeeOther {
		h.t.Fatalf("sync: %d", status)
	}
}

// serviceIn returns the service given in environment env.
func (h *harness) serviceIn(env, given string) liftoff.Service {
	h.t.Helper()
	svcs, err := h.store.ListServices(context.Background(), store.ListServicesParams{EnvironmentID: h.env[env]})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, s := range svcs {
		if s.GivenID == given {
			return s
		}
	}
	h.t.Fatalf("no service %s in %s: %+v", given, env, svcs)
	return liftoff.Service{}
}

// release records a successful deployment of service svc (in pull
// request pr's preview when pr > 0) at domain, as the engine would leave
// it, and returns the deployment's id.
func (h *harness) release(svc liftoff.Service, pr int, domain string) string {
	h.t.Helper()
	ctx := context.Background()
	now := time.Now()
	d := liftoff.Deployment{ID: cuid.New(), ProjectID: h.project.Project.ID, EnvironmentID: svc.EnvironmentID, PRNumber: pr, RepoURL: h.repo.Dir,
		GitCommit: h.repo.Head(), GitBranch: "main", TriggerType: liftoff.TriggerAPI, Status: liftoff.StatusSuccess, CreatedAt: now,
		StartedAt: now, FinishedAt: now}
	if err := h.store.InsertDeployment(ctx, d); err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.InsertServiceDeployment(ctx, liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: svc.ID,
		ServiceGivenID: svc.GivenID, ServiceName: svc.Name, ServiceType: svc.Type, ServiceDomain: domain, Status: liftoff.StatusSuccess,
		StartedAt: now, FinishedAt: now, EnvironmentID: svc.EnvironmentID, PRNumber: pr, GitCommit: h.repo.Head(), Config: svc.Config,
		BuildDir: h.t.TempDir(), CreatedAt: now}); err != nil {
		h.t.Fatal(err)
	}
	return d.ID
}

// crashed records a crashed release of service id on testNode, as the
// supervision of a node does.
func (h *harness) crashed(id string) {
	h.t.Helper()
	ctx := context.Background()
	for i, st := range []string{liftoff.ServiceRestarting, liftoff.ServiceCrashed} {
		r := liftoff.ServiceRestart{ServiceID: id, ReleaseID: "sd-1", At: logStart.Add(time.Duration(i) * time.Second),
			Reason: "exited with status 1", ExitCode: new(1), LastLines: []string{"panic: boom " + st}, State: st}
		if err := h.store.RecordServiceRestart(ctx, store.RecordServiceRestartParams{Restart: r, Keep: 20}); err != nil {
			h.t.Fatal(err)
		}
	}
	if err := h.store.PutServiceState(ctx, liftoff.ServiceState{ServiceID: id, ReleaseID: "sd-1", State: liftoff.ServiceCrashed,
		Restarts: 1, NodeID: testNode, UpdatedAt: logStart}); err != nil {
		h.t.Fatal(err)
	}
}

// mainOf is the main part of a page.
func mainOf(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		return body[i:]
	}
	return body
}

// TestServices: the settings page lists the services with their state and
// those Liftoff does not run with why; a service's page shows its
// release, address, watch paths and runtime, with its last restarts.
func TestServices(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			h.withRuntime()
			api := h.serviceIn("production", "api")
			b := h.signIn("read@example.com")

			_, body, _ := b.get(envPath(h.env["production"]))
			page := mainOf(body)
			if !strings.Contains(page, `<a href="/services/`+api.ID+`">API</a>`) || !strings.Contains(page, `data-service="cron"`) ||
				strings.Contains(page, `data-state=`) || strings.Contains(page, "Deploy now") {
				t.Fatalf("production's services before any release:\n%s", page)
			}
			_, body, _ = b.get(envPath(h.env["staging"]))
			page = mainOf(body)
			if !strings.Contains(page, "not deployed</span> no managed PostgreSQL configured (liftoff serve --managed-postgres-url)") ||
				!strings.Contains(page, "not deployed</span> engine mysql: Liftoff manages PostgreSQL databases only") {
				t.Fatalf("staging's services not run are not explained:\n%s", page)
			}

			status, body, _ := b.get("/services/" + api.ID)
			page = mainOf(body)
			if status != 200 || !strings.Contains(page, "none yet: it has not deployed successfully") || !strings.Contains(page, "not running here") ||
				!strings.Contains(page, "<code>api/**</code>") || !strings.Contains(page, `data-service-logs="/services/`+api.ID+`/logs/events"`) ||
				strings.Contains(page, `id="jobs"`) {
				t.Fatalf("the service before any release: %d\n%s", status, page)
			}

			dep := h.release(api, 0, "http://api.production.localhost:8000")
			h.crashed(api.ID)
			_, body, _ = b.get(envPath(h.env["production"]))
			if page := mainOf(body); !strings.Contains(page, `<span class="badge bad" data-state="crashed">crashed</span>`) {
				t.Fatalf("the crashed service's state:\n%s", page)
			}
			_, body, _ = b.get("/services/" + api.ID)
			page = mainOf(body)
			for _, want := range []string{
				`deployment <a href="/deployments/` + dep + `">` + dep + `</a>, commit <code>` + h.repo.Head()[:12] + `</code>`,
				`<a href="http://api.production.localhost:8000">http://api.production.localhost:8000</a>`,
				`data-state="crashed">crashed</span>`, "<dt>Restarts</dt><dd>1</dd>", "exited with status 1 · left it crashed",
				"panic: boom crashed", "panic: boom restarting", "<code>node-test</code>",
			} {
				if !strings.Contains(page, want) {
					t.Errorf("the service's page has no %q", want)
				}
			}
			if t.Failed() {
				t.Fatal(page)
			}
			if status, _, _ := b.get("/services/cnope"); status != http.StatusNotFound {
				t.Fatalf("an unknown service: %d", status)
			}
		})
	}
}

// TestServiceLogEvents: a service's page follows its log live: the lines
// kept, then each line as it is written, its time as its id; a
// reconnection goes on after the last line it had; a log this node does
// not have ends the stream saying why.
func TestServiceLogEvents(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			ctx := t.Context()
			api := h.serviceIn("production", "api")
			b := h.signIn("deploy@example.com")
			events, stop := b.events(ctx, "/services/"+api.ID+"/logs/events")
			defer stop()
			first := next(t, events, "the kept line", func(e event) bool { return e.name == "" })
			if first.data != "2026-12-01T10:00:00Z listening: api in production" || first.id != "2026-12-01T10:00:00Z" {
				t.Fatalf("the first line: %+v", first)
			}
			at := logStart.Add(time.Minute)
			select {
			case h.logs.more <- local.LogLine{Time: at, Text: "GET / 200"}:
			case <-time.After(30 * time.Second):
				t.Fatal("the stream does not follow the log")
			}
			line := next(t, events, "the new line", func(e event) bool { return e.name == "" })
			if line.data != "2026-12-01T10:01:00Z GET / 200" || line.id != "2026-12-01T10:01:00Z" {
				t.Fatalf("the new line: %+v", line)
			}
			stop()

			// A reconnection from the last line it had gets none again.
			select {
			case <-h.logs.left: // the first stream's reader
			case <-time.After(30 * time.Second):
				t.Fatal("the first stream's reader did not stop")
			}
			again, stopAgain := b.eventsWith(ctx, "/services/"+api.ID+"/logs/events", http.Header{"Last-Event-ID": {first.id}})
			defer stopAgain()
			select {
			case h.logs.more <- local.LogLine{Time: at.Add(time.Minute), Text: "after"}:
			case <-time.After(30 * time.Second):
				t.Fatal("the reconnected stream does not follow the log")
			}
			if e := next(t, again, "a line", func(e event) bool { return e.name == "" }); e.data != "2026-12-01T10:02:00Z after" {
				t.Fatalf("after a reconnection, %+v", e)
			}

			// The static site has no log here; a release on another node
			// has its log there.
			site := h.serviceIn("production", "site")
			gone, stopGone := b.events(ctx, "/services/"+site.ID+"/logs/events")
			defer stopGone()
			if e := next(t, gone, "the end", func(e event) bool { return e.name == "gone" }); !strings.Contains(e.data, "has no log on this node") {
				t.Fatalf("a service without a log: %+v", e)
			}
			if err := h.store.PutServiceState(ctx, liftoff.ServiceState{ServiceID: api.ID, ReleaseID: "sd-1", State: liftoff.ServiceRunning,
				NodeID: "node-b", UpdatedAt: logStart}); err != nil {
				t.Fatal(err)
			}
			other, stopOther := b.events(ctx, "/services/"+api.ID+"/logs/events")
			defer stopOther()
			if e := next(t, other, "the end", func(e event) bool { return e.name == "gone" }); !strings.Contains(e.data, "runs on node node-b") {
				t.Fatalf("a release on another node: %+v", e)
			}
		})
	}
}

// TestJobs: a scheduler's page lists its jobs and recent runs; Run now
// asks for a run and shows it; a run's page shows its output.
func TestJobs(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			h.withRuntime()
			ctx := t.Context()
			cron := h.serviceIn("production", "cron")
			b := h.signIn("deploy@example.com")
			_, body, _ := b.get("/services/" + cron.ID)
			page := mainOf(body)
			if !strings.Contains(page, `<tr data-job="nightly">`) || !strings.Contains(page, "<code>0 3 * * *</code>") ||
				!strings.Contains(page, "<code>node report.js</code>") || !strings.Contains(page, `aria-label="Run now: backfill">Run now</button>`) ||
				!strings.Contains(page, "No runs yet.") {
				t.Fatalf("the scheduler's page:\n%s", page)
			}
			// Before a release there is nothing to run.
			status, _, hdr := b.post("/services/"+cron.ID+"/jobs/nightly/run", nil)
			if status != http.StatusSeeOther || hdr.Get("Location") != "/services/"+cron.ID+"#jobs" {
				t.Fatalf("run before a release: %d %v", status, hdr)
			}
			if _, body, _ := b.get("/services/" + cron.ID); !strings.Contains(body, "has no successful deployment yet") {
				t.Fatalf("the refusal is not said:\n%s", mainOf(body))
			}

			h.release(cron, 0, "")
			status, _, hdr = b.post("/services/"+cron.ID+"/jobs/nightly/run", nil)
			if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/job-executions/") {
				t.Fatalf("run now: %d %v", status, hdr)
			}
			id := strings.TrimPrefix(hdr.Get("Location"), "/job-executions/")
			x, err := h.jobs.Get(ctx, id)
			if err != nil || x.JobID != "nightly" || x.Status != liftoff.JobInitializing || x.Trigger != liftoff.JobTriggerManual || x.ServiceID != cron.ID {
				t.Fatalf("the run asked for: %+v %v", x, err)
			}
			if err := h.store.AppendLogs(ctx, []liftoff.LogLine{{DeploymentID: id, At: time.Now(), Text: "report <sent>"}}); err != nil {
				t.Fatal(err)
			}
			status, body, _ = b.get("/job-executions/" + id)
			page = mainOf(body)
			if status != 200 || !strings.Contains(page, "Asked for a run of job nightly") || !strings.Contains(page, `data-status="INITIALIZING"`) ||
				!strings.Contains(page, "<code>node report.js</code>") || !strings.Contains(page, "report &lt;sent&gt;") {
				t.Fatalf("the run's page: %d\n%s", status, body)
			}
			_, body, _ = b.get("/services/" + cron.ID)
			if page := mainOf(body); !strings.Contains(page, `<a href="/job-executions/`+id+`">`) || !strings.Contains(page, `data-status="INITIALIZING"`) {
				t.Fatalf("the run is not listed:\n%s", page)
			}
			// A job the release does not have.
			if status, _, _ := b.post("/services/"+cron.ID+"/jobs/weekly/run", nil); status != http.StatusSeeOther {
				t.Fatalf("an unknown job: %d", status)
			}
			if _, body, _ := b.get("/services/" + cron.ID); !strings.Contains(body, `has no job &#34;weekly&#34; in its current release`) {
				t.Fatalf("the unknown job is not said:\n%s", mainOf(body))
			}
			if status, _, _ := b.get("/job-executions/cnope"); status != http.StatusNotFound {
				t.Fatalf("an unknown run: %d", status)
			}
		})
	}
}

// TestPreviewTeardown: the preview environment's settings page lists each
// live preview with its last deployment and addresses; Tear down asks,
// then tears it down.
func TestPreviewTeardown(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			ctx := t.Context()
			env := h.env["preview"]
			c, err := h.hooks.Create(ctx, env, "PRs")
			if err != nil {
				t.Fatal(err)
			}
			u := strings.NewReplacer("{prNumber}", "7", "{commitSHA}", h.repo.Head()).Replace(c.URL)
			if code, answer := callHook(t, u); code != 200 {
				t.Fatalf("the preview hook: %d %s", code, answer)
			}
			// The engine starts the preview when it runs the deployment.
			if _, err := h.store.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: env, PRNumber: 7, HeadBranch: "feature/cart",
				At: time.Now().Add(-time.Second)}); err != nil {
				t.Fatal(err)
			}
			api := h.serviceIn("preview", "api")
			dep := h.release(api, 7, "http://api.pr-7.preview.localhost:8000")
			admin := h.signIn("admin@example.com")
			_, body, _ := admin.get(envPath(env))
			page := mainOf(body)
			if !strings.Contains(page, `<tr data-preview="7">`) || !strings.Contains(page, "PR #7</strong> · feature/cart") || !strings.Contains(page, `<a href="/deployments/`+dep+`">`) ||
				!strings.Contains(page, `<a href="http://api.pr-7.preview.localhost:8000">`) || !strings.Contains(page, `aria-label="Tear down PR #7">Tear down…</button>`) {
				t.Fatalf("the preview's row:\n%s", page)
			}
			// The service's page is about the preview.
			_, body, _ = admin.get("/services/" + api.ID)
			if page := mainOf(body); !strings.Contains(page, "<h3>PR #7</h3>") || !strings.Contains(page, `data-service-logs="/services/`+api.ID+`/logs/events?prNumber=7"`) {
				t.Fatalf("the preview service's page:\n%s", page)
			}

			path := envPath(env) + "/previews/7/teardown"
			status, body, _ := admin.post(path, nil)
			if status != 200 || !strings.Contains(body, "Tear down the preview of PR #7?") || !strings.Contains(body, `href="`+envPath(env)+`#previews">Keep it</a>`) {
				t.Fatalf("teardown, unconfirmed: %d\n%s", status, body)
			}
			if inst, err := h.store.GetPreviewInstance(ctx, store.GetPreviewInstanceParams{EnvironmentID: env, PRNumber: 7}); err != nil || inst.Deleted() {
				t.Fatalf("torn down before the confirmation: %+v %v", inst, err)
			}
			status, _, hdr := admin.post(path, url.Values{"confirm": {"yes"}})
			if status != http.StatusSeeOther || hdr.Get("Location") != envPath(env)+"#previews" {
				t.Fatalf("teardown: %d %v", status, hdr)
			}
			if inst, err := h.store.GetPreviewInstance(ctx, store.GetPreviewInstanceParams{EnvironmentID: env, PRNumber: 7}); err != nil || !inst.Deleted() {
				t.Fatalf("the instance after the teardown: %+v %v", inst, err)
			}
			_, body, _ = admin.get(envPath(env))
			if page := mainOf(body); !strings.Contains(page, "Tore down the preview of PR #7.") || !strings.Contains(page, "No live previews.") {
				t.Fatalf("after the teardown:\n%s", page)
			}
			if status, _, _ := admin.post(path, url.Values{"confirm": {"yes"}}); status != http.StatusSeeOther {
				t.Fatalf("again: %d", status)
			}
			// Only a preview environment has previews.
			if status, _, _ := admin.post(envPath(h.env["production"])+"/previews/7/teardown", nil); status != http.StatusNotFound {
				t.Fatalf("production's previews: %d", status)
			}
		})
	}
}

// TestDeployNow: Deploy now queues a deployment of the branch's head,
// forced when asked, and leads to its live page; a refusal is shown next
// to the form.
func TestDeployNow(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			ctx := t.Context()
			b := h.signIn("deploy@example.com")
			prod := envPath(h.env["production"])
			_, body, _ := b.get(prod)
			if page := mainOf(body); !strings.Contains(page, `action="`+prod+`/deployments"`) || !strings.Contains(page, `<label for="deploy-force">`) {
				t.Fatalf("no Deploy now form:\n%s", page)
			}
			status, _, hdr := b.post(prod+"/deployments", url.Values{"force": {"yes"}})
			if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/deployments/") {
				t.Fatalf("deploy now: %d %v", status, hdr)
			}
			id := strings.TrimPrefix(hdr.Get("Location"), "/deployments/")
			d, err := h.deployments.Get(ctx, id)
			if err != nil || d.EnvironmentID != h.env["production"] || !d.Force || d.GitBranch != "main" || d.TriggerType != liftoff.TriggerAPI ||
				d.Status != liftoff.StatusPending {
				t.Fatalf("the deployment: %+v %v", d, err)
			}
			if _, body, _ := b.get("/deployments/" + id); !strings.Contains(body, "Queued deployment "+id) || !strings.Contains(body, `data-deployment="`+id+`"`) {
				t.Fatalf("the deployment's live page:\n%s", mainOf(body))
			}
			// The same again joins it; clearing the caches upgrades it.
			if _, _, hdr := b.post(prod+"/deployments", url.Values{"force": {"yes"}}); hdr.Get("Location") != "/deployments/"+id {
				t.Fatalf("the same again: %v", hdr)
			}
			if _, _, hdr := b.post(prod+"/deployments", url.Values{"clearCache": {"yes"}}); hdr.Get("Location") != "/deployments/"+id {
				t.Fatalf("the same with clearCache: %v", hdr)
			}
			if d, err := h.deployments.Get(ctx, id); err != nil || !d.ClearCache || !d.Force {
				t.Fatalf("after clearCache: %+v %v", d, err)
			}
			// A preview environment deploys pull requests only.
			admin := h.signIn("admin@example.com")
			preview := envPath(h.env["preview"])
			_, body, _ = admin.get(preview)
			if strings.Contains(mainOf(body), "Deploy now") {
				t.Fatal("the preview environment offers Deploy now")
			}
			status, body, _ = admin.post(preview+"/deployments", nil)
			if status != http.StatusBadRequest || !strings.Contains(body, `id="deploy-now-error"`) || !strings.Contains(body, "is a preview environment") {
				t.Fatalf("deploy now in previews: %d\n%s", status, mainOf(body))
			}
		})
	}
}
