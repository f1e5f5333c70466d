package protect

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/testclock"
)

var t0 = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)

// routes is the proxy's route table as the gate sees it.
type routes map[string]target.Instance

func (r routes) InstanceAt(host string) (target.Instance, bool) {
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	inst, ok := r[strings.ToLower(host)]
	return inst, ok
}

// seen is what the service behind the gate received.
type seen struct {
	mu      sync.Mutex
	cookies []string
}

// fixture is a project with production and a preview environment, a gate
// in front of a service that answers "app <path>", and a fake clock.
type fixture struct {
	t          testing.TB
	st         store.Store
	keys       *secretbox.Keyring
	keyFile    string
	clock      *testclock.Clock
	svc        *Service
	gate       *Gate
	routes     routes
	seen       *seen
	project    liftoff.Project
	prod, pv   liftoff.Environment
	pr12       target.Instance
	pr13       target.Instance
	production target.Instance
}

const (
	hostProd = "web.production.localhost"
	host12   = "web.pr-12.preview.localhost"
	host13   = "web.pr-13.preview.localhost"
)

func newFixture(t testing.TB, dialect string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, st: storetest.Open(t, dialect), clock: testclock.New(t0), seen: &seen{}}
	f.keyFile = filepath.Join(t.TempDir(), "secret.key")
	var err error
	if f.keys, _, err = secretbox.LoadOrCreate(f.keyFile); err != nil {
		t.Fatal(err)
	}
	if f.project, err = f.st.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", Slug: "shop",
		RepoURL: "/srv/shop", ConfigPath: "liftoff.json", At: t0}); err != nil {
		t.Fatal(err)
	}
	web := []store.ServiceSpec{{GivenID: "web", Name: "Web", Type: "web"}, {GivenID: "site", Name: "Site", Type: "static"}}
	envs, err := f.st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: f.project.ID, At: t0, NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{
			{GivenID: "production", Name: "Production", Branch: "main", Services: web},
			{GivenID: "preview", Name: "Preview", IsPreview: true, Services: web},
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.prod, f.pv = envs[0], envs[1]
	f.production = target.Instance{ProjectID: f.project.ID, EnvironmentID: f.prod.ID, EnvGivenID: "production"}
	f.pr12 = target.Instance{ProjectID: f.project.ID, EnvironmentID: f.pv.ID, EnvGivenID: "preview", PRNumber: 12}
	f.pr13 = f.pr12
	f.pr13.PRNumber = 13
	f.routes = routes{hostProd: f.production, host12: f.pr12, host13: f.pr13}
	f.svc = NewService(f.st, f.keys)
	f.svc.Now = f.clock.Now
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.seen.mu.Lock()
		f.seen.cookies = append(f.seen.cookies, r.Header.Get("Cookie"))
		f.seen.mu.Unlock()
		_, _ = io.WriteString(w, "app "+r.URL.RequestURI())
	})
	if f.gate, err = NewGate(next, Config{Protection: f.svc, Instances: f.routes}); err != nil {
		t.Fatal(err)
	}
	return f
}

// answer is what the gate answered.
type answer struct {
	status int
	body   string
	header http.Header
	// cookies are those it set, by name.
	cookies map[string]*http.Cookie
}

// do sends a request through the gate.
func (f *fixture) do(method, host, target string, form url.Values, cookies ...*http.Cookie) answer {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	r.Host = host
	r.RemoteAddr = "192.0.2.7:40000"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	f.gate.ServeHTTP(w, r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, body: string(b), header: res.Header, cookies: map[string]*http.Cookie{}}
	for _, c := range res.Cookies() {
		a.cookies[c.Name] = c
	}
	return a
}

func (f *fixture) get(host, target string, cookies ...*http.Cookie) answer {
	f.t.Helper()
	return f.do(http.MethodGet, host, target, nil, cookies...)
}

// set changes an environment's protection.
func (f *fixture) set(env int64, mode liftoff.ProtectionMode, password *string) Setting {
	f.t.Helper()
	c := Change{Password: password}
	if mode != "" {
		c.Mode = &mode
	}
	s, err := f.svc.Set(context.Background(), env, c)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// lastCookies is the Cookie header the service last received.
func (f *fixture) lastCookies() string {
	f.seen.mu.Lock()
	defer f.seen.mu.Unlock()
	if len(f.seen.cookies) == 0 {
		return "<none>"
	}
	return f.seen.cookies[len(f.seen.cookies)-1]
}

// requestWith is a login request to host12 with form and cookies, for
// tests that set more of it.
func (f *fixture) requestWith(form url.Values, cookies ...*http.Cookie) *http.Request {
	f.t.Helper()
	r := httptest.NewRequest(http.MethodPost, LoginPath, strings.NewReader(form.Encode()))
	r.Host = host12
	r.RemoteAddr = "192.0.2.8:40000"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// serve sends r through the gate.
func (f *fixture) serve(r *http.Request) answer {
	f.t.Helper()
	w := httptest.NewRecorder()
	f.gate.ServeHTTP(w, r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, body: string(b), header: res.Header, cookies: map[string]*http.Cookie{}}
	for _, c := range res.Cookies() {
		a.cookies[c.Name] = c
	}
	return a
}

var tlsState = tls.ConnectionState{HandshakeComplete: true}
