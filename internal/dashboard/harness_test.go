package dashboard_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/dashboard"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/job"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/protect"
	"github.com/liftoffhq/liftoff/internal/repoaccess"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/pgnote"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/supervision"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/user"
	"github.com/liftoffhq/liftoff/internal/variables"
)

func TestMain(m *testing.M) { pgnote.Main(m) }

// testConfig has two environments and a preview environment.
const testConfig = `{
  "environments": [
    {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
      {"id": "api", "name": "API", "type": "web", "watchPaths": ["api/**"], "startCommand": "./api"},
      {"id": "site", "name": "Site", "type": "static", "watchPaths": ["site/**"], "buildCommand": "true"}
    ]},
    {"id": "staging", "name": "Staging", "source": {"branch": "develop"}, "services": [
      {"id": "api", "name": "API", "type": "web", "startCommand": "./api"}
    ]},
    {"id": "preview", "name": "Preview", "source": {"pr": true}, "services": [
      {"id": "api", "name": "API", "type": "web", "startCommand": "./api"}
    ]}
  ]
}`

const password = "correct horse battery"

// harness is the dashboard and the API on one mux, as liftoff serve has
// them, on a real store, over real HTTP, with a project made from a real
// git repository and a user of each role (deploy on production only).
type harness struct {
	t           *testing.T
	store       store.Store
	srv         *httptest.Server
	hooks       *hook.Service
	rec         *hook.Recorder
	deployments *deployment.Service
	users       *user.Service
	protection  *protect.Service
	jobs        *job.Service
	logs        *fakeLogs
	apiKeys     *apikey.Service
	vars        *variables.Service
	project     project.View
	repo        *gittest.Repo
	env         map[string]int64 // given id → environment id
}

func newHarness(t *testing.T, dialect string) *harness {
	t.Helper()
	return newHarnessWith(t, dialect, options{})
}

// options change the harness.
type options struct {
	// serve serves the handler: httptest.NewServer by default,
	// httptest.NewTLSServer for HTTPS.
	serve func(http.Handler) *httptest.Server
	// users tunes the users domain; by default sign-ins are not limited
	// (every test browser signs in from 127.0.0.1).
	users user.Config
	// instanceAt, when set, is which instance serves a host (the proxy's
	// routes), for opening protected environments.
	instanceAt func(host string) (target.Instance, bool)
}

// newHarnessWith is newHarness as opts change it.
func newHarnessWith(t *testing.T, dialect string, opts options) *harness {
	t.Helper()
	serve := opts.serve
	if serve == nil {
		serve = httptest.NewServer
	}
	if opts.users.LoginsPerMinute == 0 {
		opts.users.LoginsPerMinute = 1 << 20
	}
	ctx := context.Background()
	h := &harness{t: t, store: storetest.Open(t, dialect), env: map[string]int64{}}
	log := slog.New(slog.NewTextHandler(testLogOut(), nil))
	policy, err := repoaccess.New(repoaccess.Config{Patterns: []string{filepath.Join(os.TempDir(), "**")}})
	if err != nil {
		t.Fatal(err)
	}
	git := gitsource.NewManager(filepath.Join(t.TempDir(), "mirrors"), log, policy)
	h.rec = hook.NewRecorder(h.store, 0, log)
	if err := h.rec.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.rec.Stop)
	h.deployments = &deployment.Service{Store: h.store, NewID: cuid.New, Now: time.Now, Runner: deployment.NoRunner{}}
	vars, _, err := variables.Open(h.store, filepath.Join(t.TempDir(), "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	projects := project.NewService(h.store, git, vars.Keys, log, cuid.New)
	h.users = user.NewService(h.store, cuid.New, opts.users)

	mux := http.NewServeMux()
	// The hook URLs name the server, known once it listens.
	h.srv = serve(mux)
	t.Cleanup(h.srv.Close)
	h.hooks, err = hook.NewService(h.store, h.rec, h.deployments,
		hook.Config{PublicURL: h.srv.URL, PerHookPerMinute: 60, FailuresPerMinute: 20}, log, cuid.New)
	if err != nil {
		t.Fatal(err)
	}
	h.apiKeys, h.vars = apikey.NewService(h.store, cuid.New), vars
	h.protection = protect.NewService(h.store, vars.Keys)
	h.jobs = &job.Service{Store: h.store, NewID: cuid.New, Now: time.Now}
	h.logs = newFakeLogs()
	supervised := &supervision.Service{Store: h.store, Reader: h.logs, NodeID: testNode}
	a := api.New(api.Deps{Projects: projects, Hooks: h.hooks, APIKeys: h.apiKeys, Deployments: h.deployments,
		Variables: vars, Jobs: h.jobs, Supervision: supervised, Log: log})
	mux.Handle("/", a)
	ui, err := dashboard.New(dashboard.Deps{Projects: projects, Hooks: h.hooks, Deployments: h.deployments, Users: h.users, Log: log,
		Protection: h.protection, InstanceAt: opts.instanceAt, Supervision: supervised, Jobs: h.jobs, APIKeys: h.apiKeys, Variables: vars})
	if err != nil {
		t.Fatal(err)
	}
	ui.Mount(mux)

	h.repo = gittest.New(t)
	h.repo.Commit("init", map[string]string{"liftoff.json": testConfig, "api/main.go": "package main", "site/index.html": "hi"})
	if h.project, err = projects.Create(ctx, project.CreateParams{Name: "shop", RepoURL: h.repo.Dir}); err != nil {
		t.Fatal(err)
	}
	for _, e := range h.project.Environments {
		h.env[e.GivenID] = e.ID
	}
	for _, u := range []user.CreateParams{
		{Email: "admin@example.com", Password: password, Role: apikey.Admin},
		{Email: "read@example.com", Password: password, Role: apikey.Read},
		{Email: "deploy@example.com", Password: password, Role: apikey.Deploy, EnvironmentIDs: []int64{h.env["production"]}},
	} {
		if _, err := h.users.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// browser is a client with its own cookies that does not follow
// redirects, so tests see them.
type browser struct {
	h    *harness
	c    *http.Client
	csrf string // the session's, from the last page read
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *h.srv.Client() // a client of its own: the server's is shared
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{h: h, c: &c}
}

// signIn is a browser signed in as email.
func (h *harness) signIn(email string) *browser {
	h.t.Helper()
	b := h.browser()
	if status, loc := b.login(email, password, "/"); status != http.StatusSeeOther || loc != "/" {
		h.t.Fatalf("sign in as %s: %d, to %q", email, status, loc)
	}
	return b
}

// login fills and sends the sign-in form; it returns the status and where
// it redirects.
func (b *browser) login(email, pass, next string) (int, string) {
	b.h.t.Helper()
	_, body, _ := b.get("/login")
	resp, _ := b.send("/login", url.Values{"email": {email}, "password": {pass}, "next": {next}, "csrf": {field(body, "csrf")}}, nil)
	return resp.StatusCode, resp.Header.Get("Location")
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// field is the value of the first hidden csrf field of a page.
func field(body, name string) string {
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// get reads a page; it remembers the page's CSRF token.
func (b *browser) get(path string) (int, string, http.Header) {
	b.h.t.Helper()
	resp, err := b.c.Get(b.h.srv.URL + path)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(body)); m != nil && path != "/login" {
		b.csrf = m[1]
	}
	return resp.StatusCode, string(body), resp.Header
}

// post sends a form with the session's CSRF token.
func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.h.t.Helper()
	form = maps.Clone(form)
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	resp, body := b.send(path, form, nil)
	return resp.StatusCode, body, resp.Header
}

// send posts a form as it is, with more headers.
func (b *browser) send(path string, form url.Values, header http.Header) (*http.Response, string) {
	b.h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// event is one Server-Sent Event.
type event struct {
	name, id, data string
}

// events opens an event stream of the browser's session.
func (b *browser) events(ctx context.Context, path string) (<-chan event, func()) {
	b.h.t.Helper()
	return b.eventsWith(ctx, path, nil)
}

// eventsWith opens an event stream with more headers (Last-Event-ID).
func (b *browser) eventsWith(ctx context.Context, path string, header http.Header) (<-chan event, func()) {
	b.h.t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.h.srv.URL+path, nil)
	if err != nil {
		b.h.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b.h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan event)
	go func() {
		defer close(ch)
		defer func() { _ = resp.Body.Close() }()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var e event
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if data != nil {
					e.data = strings.Join(data, "\n")
					select {
					case ch <- e:
					case <-ctx.Done():
						return
					}
				}
				e, data = event{}, nil
			case strings.HasPrefix(line, "event: "):
				e.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				e.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return ch, cancel
}

// next waits for the next event that pick takes, failing after 30 s.
func next(t *testing.T, ch <-chan event, what string, pick func(event) bool) event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("the stream ended before %s", what)
			}
			if pick(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s within 30s", what)
		}
	}
}

// callHook calls a hook URL as CI does and returns the status and body.
func callHook(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Post(u, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var hookURL = regexp.MustCompile(`id="hook-url" class="mono" readonly value="([^"]+)"`)

// shownURL is the hook URL a page shows in full, or "".
func shownURL(body string) string {
	m := hookURL.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.NewReplacer("&#43;", "+", "&amp;", "&").Replace(m[1])
}

func envPath(id int64) string { return "/environments/" + strconv.FormatInt(id, 10) }

// testLogOut is where the harness logs: nowhere, unless LIFTOFF_TEST_LOG
// is set.
func testLogOut() io.Writer {
	if os.Getenv("LIFTOFF_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
