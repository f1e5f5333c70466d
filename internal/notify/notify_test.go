package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/notify"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/testclock"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// fixture is a store with a project and a production environment, keys,
// and the clock.
type fixture struct {
	t     *testing.T
	st    store.Store
	keys  *secretbox.Keyring
	clock *testclock.Clock
	p     liftoff.Project
	env   liftoff.Environment
}

func newFixture(t *testing.T, dialect string, notifications ...config.Notification) *fixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, dialect)
	keys, _, err := secretbox.LoadOrCreate(filepath.Join(t.TempDir(), "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "/srv/shop", ConfigPath: "liftoff.json",
		DefaultBranch: "main", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: t0, NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main",
			Config:   config.Environment{ID: "production", Notifications: notifications},
			Services: []store.ServiceSpec{{GivenID: "api", Name: "API", Type: "web", Config: config.Service{ID: "api"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, st: st, keys: keys, clock: testclock.New(t0), p: p, env: envs[0]}
}

// service makes a Service on the fixture's store.
func (f *fixture) service(node string, allowPrivate bool, sinks map[string]notify.Sink) *notify.Service {
	f.t.Helper()
	s, err := notify.New(notify.Config{Store: f.st, Keys: f.keys, NodeID: node, AllowPrivate: allowPrivate, Now: f.clock.Now, NewID: cuid.New,
		Sinks: sinks, PublicURL: "https://liftoff.example.com/", Timeout: 5 * time.Second})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// deployment inserts a PENDING deployment now.
func (f *fixture) deployment() liftoff.Deployment {
	f.t.Helper()
	d := liftoff.Deployment{ID: cuid.New(), ProjectID: f.p.ID, EnvironmentID: f.env.ID, RepoURL: f.p.RepoURL, GitBranch: "main",
		TriggerType: liftoff.TriggerDeployHook, Status: liftoff.StatusPending, CreatedAt: f.clock.Now()}
	if err := f.st.InsertDeployment(context.Background(), d); err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) start() {
	f.t.Helper()
	now := f.clock.Now()
	if _, err := f.st.ClaimDeployment(context.Background(), store.ClaimParams{Owner: "engine", At: now, LeaseUntil: now.Add(time.Hour)}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) finish(d liftoff.Deployment, status liftoff.Status) {
	f.t.Helper()
	if ok, err := f.st.FinishDeployment(context.Background(), store.FinishDeploymentParams{ID: d.ID, Status: status, At: f.clock.Now()}); err != nil || !ok {
		f.t.Fatalf("finish: %v %v", ok, err)
	}
}

// step derives and delivers what is due, as one round of Run.
func step(t *testing.T, s *notify.Service) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
}

// receiver is a webhook receiver that verifies signatures and records
// each event id it accepts.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	fail   int // answer this status instead of 200 while set
	got    []string
	bodies []notify.Body
	dups   []string
	texts  []string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != 0 {
		w.WriteHeader(r.fail)
		return
	}
	if err := notify.Verify(r.secret, req.Header.Get(notify.HeaderSignature), body, time.Now(), 100*365*24*time.Hour); err != nil {
		r.t.Errorf("signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var b notify.Body
	if err := json.Unmarshal(body, &b); err != nil {
		r.t.Errorf("body: %v", err)
	}
	if b.ID == "" {
		// slack
		var m map[string]string
		_ = json.Unmarshal(body, &m)
		r.texts = append(r.texts, m["text"])
		return
	}
	id := req.Header.Get(notify.HeaderDelivery)
	if id != b.ID || req.Header.Get(notify.HeaderEvent) != b.Type {
		r.t.Errorf("headers %q %q, body %q %q", id, req.Header.Get(notify.HeaderEvent), b.ID, b.Type)
	}
	if slices.Contains(r.got, id) {
		r.dups = append(r.dups, id)
	}
	r.got = append(r.got, id)
	r.bodies = append(r.bodies, b)
}

func (r *receiver) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *receiver) setFail(status int) {
	r.mu.Lock()
	r.fail = status
	r.mu.Unlock()
}

// endpoint makes a webhook to r through the service, and gives r its
// secret.
func (f *fixture) endpoint(s *notify.Service, r *receiver, spec notify.Spec) liftoff.NotificationEndpoint {
	f.t.Helper()
	if spec.URL == "" {
		spec.URL = r.srv.URL + "/hook"
	}
	c, err := s.Create(context.Background(), f.env.ID, spec)
	if err != nil {
		f.t.Fatal(err)
	}
	if !strings.HasPrefix(c.Secret, "whsec_") {
		f.t.Fatalf("secret %q", c.Secret)
	}
	r.mu.Lock()
	r.secret = c.Secret
	r.mu.Unlock()
	return c.Endpoint
}

func ids(d liftoff.Deployment, types ...string) []string {
	var out []string
	for _, t := range types {
		out = append(out, notify.EventID(d.ID, t))
	}
	return out
}

func eachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			fn(t, dialect)
		})
	}
}

// TestEachEventOnceSigned: a receiver sees each event of a deployment
// once, in order, signed, with Get Deployment's body, however often the
// loop runs.
func TestEachEventOnceSigned(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		s := f.service("n1", true, nil)
		r := newReceiver(t)
		f.endpoint(s, r, notify.Spec{})
		d := f.deployment()
		step(t, s)
		step(t, s)
		f.clock.Advance(time.Second)
		f.start()
		step(t, s)
		f.clock.Advance(time.Second)
		f.finish(d, liftoff.StatusSuccess)
		for range 3 {
			step(t, s)
		}
		want := ids(d, notify.EventCreated, notify.EventStarted, notify.EventSucceeded)
		if got := r.events(); !slices.Equal(got, want) {
			t.Fatalf("received %v, want %v", got, want)
		}
		last := r.bodies[2]
		if last.Type != notify.EventSucceeded || last.Deployment.DeploymentID != d.ID || last.Deployment.Status != "SUCCESS" ||
			last.Environment.GivenID != "production" || last.Project.Name != "shop" || last.At != "2026-03-04T05:06:09.000Z" && !strings.HasPrefix(last.At, "2026-03-04T05:06:09") ||
			last.URL == nil || *last.URL != "https://liftoff.example.com/deployments/"+d.ID {
			t.Fatalf("body %+v", last)
		}
	})
}

// TestSkippedStatesAreTold: a deployment that started and ended between
// two scans is told created, started and failed, in that order.
func TestSkippedStatesAreTold(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		s := f.service("n1", true, nil)
		r := newReceiver(t)
		f.endpoint(s, r, notify.Spec{})
		d := f.deployment()
		f.start()
		f.finish(d, liftoff.StatusBuildError)
		cancelled := f.deployment()
		if _, err := f.st.RequestCancel(context.Background(), store.RequestCancelParams{ID: cancelled.ID, At: f.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		step(t, s)
		got := r.events()
		want := append(ids(d, notify.EventCreated, notify.EventStarted, notify.EventFailed), ids(cancelled, notify.EventCreated, notify.EventCancelled)...)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("received %v, want %v", got, want)
		}
		// In order per deployment.
		var mine []string
		for _, id := range r.events() {
			if strings.HasPrefix(id, d.ID) {
				mine = append(mine, id)
			}
		}
		if !slices.Equal(mine, ids(d, notify.EventCreated, notify.EventStarted, notify.EventFailed)) {
			t.Fatalf("out of order: %v", mine)
		}
	})
}

// TestRetriesUntilBack: while the receiver answers 500, then refuses
// connections, the delivery is tried again after a backoff (not before),
// and arrives once it is back; the delivery log says what happened.
func TestRetriesUntilBack(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		f := newFixture(t, dialect)
		s := f.service("n1", true, nil)
		r := newReceiver(t)
		ep := f.endpoint(s, r, notify.Spec{Events: []string{notify.EventCreated}})
		d := f.deployment()
		r.setFail(http.StatusInternalServerError)
		step(t, s)
		log, err := s.Deliveries(ctx, f.env.ID, ep.ID, 0)
		if err != nil || len(log) != 1 || log[0].State != liftoff.DeliveryPending || log[0].Attempts != 1 || log[0].LastStatus != 500 ||
			!strings.Contains(log[0].LastError, "HTTP 500") || !log[0].NextAttemptAt.After(f.clock.Now()) {
			t.Fatalf("after a 500: %+v, %v", log, err)
		}
		// Not due yet: nothing is tried.
		if n, err := s.DeliverDue(ctx); err != nil || n != 0 {
			t.Fatalf("tried %d before the backoff: %v", n, err)
		}
		// Down: connections refused.
		addr := r.srv.Listener.Addr().String()
		r.srv.Close()
		f.clock.Advance(notify.DefaultRetryMax)
		step(t, s)
		log, _ = s.Deliveries(ctx, f.env.ID, ep.ID, 0)
		if log[0].Attempts != 2 || log[0].LastStatus != 0 || !strings.Contains(log[0].LastError, "cannot connect") {
			t.Fatalf("after a refused connection: %+v", log[0])
		}
		// Back, on the same address.
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot listen on %s again: %v", addr, err)
		}
		back := httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
		back.Listener.Close()
		back.Listener = ln
		back.Start()
		defer back.Close()
		r.setFail(0)
		f.clock.Advance(notify.DefaultRetryMax)
		step(t, s)
		step(t, s)
		if got := r.events(); !slices.Equal(got, ids(d, notify.EventCreated)) {
			t.Fatalf("received %v", got)
		}
		log, _ = s.Deliveries(ctx, f.env.ID, ep.ID, 0)
		if log[0].State != liftoff.DeliveryDelivered || log[0].Attempts != 3 || log[0].DeliveredAt.IsZero() {
			t.Fatalf("delivered: %+v", log[0])
		}
	})
}

// TestGivesUp: a delivery failing for longer than GiveUpAfter is given
// up, and says so.
func TestGivesUp(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "sqlite")
	s, err := notify.New(notify.Config{Store: f.st, Keys: f.keys, NodeID: "n1", AllowPrivate: true, Now: f.clock.Now, NewID: cuid.New,
		GiveUpAfter: time.Hour, RetryBase: time.Minute, RetryMax: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	r := newReceiver(t)
	ep := f.endpoint(s, r, notify.Spec{})
	f.deployment()
	r.setFail(http.StatusServiceUnavailable)
	for range 20 {
		step(t, s)
		f.clock.Advance(10 * time.Minute)
	}
	log, _ := s.Deliveries(ctx, f.env.ID, ep.ID, 0)
	if len(log) != 1 || log[0].State != liftoff.DeliveryFailed || !strings.Contains(log[0].LastError, "given up") || log[0].Attempts > 12 {
		t.Fatalf("%+v", log)
	}
}

// TestPrivateAddressRefused: a receiver on 127.0.0.1 is refused by
// default, with the flag that allows it named; allowed, it receives.
func TestPrivateAddressRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "sqlite")
	guarded := f.service("n1", false, nil)
	allowed := f.service("n2", true, nil)
	r := newReceiver(t)
	// Refused when it is made, naming the flag.
	for _, u := range []string{r.srv.URL + "/hook", strings.Replace(r.srv.URL, "127.0.0.1", "localhost", 1) + "/hook", "http://10.1.2.3/hook"} {
		_, err := guarded.Create(ctx, f.env.ID, notify.Spec{URL: u})
		if fail.KindOf(err) != fail.Invalid || !strings.Contains(err.Error(), "--notify-allow-private") {
			t.Fatalf("creating %s: %v, want it refused naming --notify-allow-private", u, err)
		}
	}
	// Made where it is allowed (another replica, or a name that resolved
	// elsewhere then), it is refused when it is dialled.
	ep := f.endpoint(allowed, r, notify.Spec{})
	d := f.deployment()
	step(t, guarded)
	if got := r.events(); len(got) != 0 {
		t.Fatalf("a loopback receiver got %v", got)
	}
	log, _ := guarded.Deliveries(ctx, f.env.ID, ep.ID, 0)
	if len(log) != 1 || !strings.Contains(log[0].LastError, "127.0.0.1 is loopback") || !strings.Contains(log[0].LastError, "--notify-allow-private") ||
		strings.Contains(log[0].LastError, r.srv.URL) {
		t.Fatalf("refused: %+v", log)
	}
	f.clock.Advance(notify.DefaultRetryMax)
	step(t, allowed)
	if got := r.events(); !slices.Equal(got, ids(d, notify.EventCreated)) {
		t.Fatalf("allowed: received %v", got)
	}
	// A name that resolves to loopback is refused as well: the check is
	// on the address dialled.
	c := notify.NewClient(false, time.Second)
	_, err := c.Get(strings.Replace(r.srv.URL, "127.0.0.1", "localhost", 1))
	if !errors.Is(err, notify.ErrForbiddenAddress) {
		t.Fatalf("localhost: %v, want ErrForbiddenAddress", err)
	}
}

// TestTwoReplicas: two services on one store, running at once, record and
// deliver each event once.
func TestTwoReplicas(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		a, b := f.service("a", true, nil), f.service("b", true, nil)
		r := newReceiver(t)
		f.endpoint(a, r, notify.Spec{})
		var want []string
		for range 3 {
			d := f.deployment()
			f.start()
			f.finish(d, liftoff.StatusSuccess)
			want = append(want, ids(d, notify.EventCreated, notify.EventStarted, notify.EventSucceeded)...)
		}
		for range 3 {
			var wg sync.WaitGroup
			for _, s := range []*notify.Service{a, b, a, b} {
				wg.Go(func() {
					ctx := context.Background()
					if _, err := s.Scan(ctx); err != nil {
						t.Error(err)
					}
					if _, err := s.DeliverDue(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		got := r.events()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || len(r.dups) != 0 {
			t.Fatalf("received %v (duplicates %v), want %v", got, r.dups, want)
		}
	})
}

// sinkFunc is a Sink.
type sinkFunc func(ctx context.Context, e notify.Event) error

func (f sinkFunc) Deliver(ctx context.Context, e notify.Event) error { return f(ctx, e) }

// TestSink: a sink hears every event in order with its deployment,
// project and environment; an ErrPermanent gives the event up.
func TestSink(t *testing.T) {
	f := newFixture(t, "sqlite")
	var mu sync.Mutex
	var got []string
	sink := sinkFunc(func(_ context.Context, e notify.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if e.Deployment.ID == "" || e.Project.Name != "shop" || e.Environment.GivenID != "production" {
			t.Errorf("event %+v", e)
		}
		got = append(got, e.ID)
		if e.Type == notify.EventStarted {
			return errors.Join(notify.ErrPermanent, errors.New("nothing to report"))
		}
		return nil
	})
	s := f.service("n1", true, map[string]notify.Sink{"test": sink})
	d := f.deployment()
	f.start()
	f.finish(d, liftoff.StatusNoChange)
	for range 3 {
		step(t, s)
	}
	if want := ids(d, notify.EventCreated, notify.EventStarted, notify.EventNoChange); !slices.Equal(got, want) {
		t.Fatalf("sink heard %v, want %v", got, want)
	}
}

// TestSlackAndConfig: an endpoint declared in liftoff.json appears in the
// list, is not deleted through the API, shows its secret when rotated,
// and receives Slack's text.
func TestSlackAndConfig(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t)
	f := newFixture(t, "sqlite", config.Notification{URL: r.srv.URL + "/slack", Format: "slack", Events: []string{notify.EventSucceeded}})
	s := f.service("n1", true, nil)
	eps, err := s.List(ctx, f.env.ID)
	if err != nil || len(eps) != 1 || eps[0].Source != liftoff.NotificationFromConfig || eps[0].Format != "slack" {
		t.Fatalf("List = %+v, %v", eps, err)
	}
	if err := s.Delete(ctx, f.env.ID, eps[0].ID); err == nil || !strings.Contains(err.Error(), "liftoff.json") {
		t.Fatalf("Delete of a config endpoint: %v", err)
	}
	c, err := s.Rotate(ctx, f.env.ID, eps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	r.secret = c.Secret
	d := f.deployment()
	f.start()
	f.finish(d, liftoff.StatusSuccess)
	step(t, s)
	step(t, s)
	if len(r.texts) != 1 || !strings.Contains(r.texts[0], "succeeded") || !strings.Contains(r.texts[0], "shop / Production") ||
		!strings.Contains(r.texts[0], "SUCCESS") || !strings.Contains(r.texts[0], "https://liftoff.example.com/deployments/"+d.ID) {
		t.Fatalf("slack texts %q", r.texts)
	}
	if again, _ := s.List(ctx, f.env.ID); len(again) != 1 || again[0].ID != eps[0].ID {
		t.Fatalf("listed again: %+v", again)
	}
}

// TestCreateRefuses: what Create refuses, it says how to fix.
func TestCreateRefuses(t *testing.T) {
	f := newFixture(t, "sqlite")
	s := f.service("n1", true, nil)
	for _, tt := range []struct {
		spec notify.Spec
		want string
	}{
		{notify.Spec{}, "url is required"},
		{notify.Spec{URL: "ftp://x.example.com"}, "http or https"},
		{notify.Spec{URL: "https://x.example.com", Events: []string{"deployment.exploded"}}, "unknown event type"},
		{notify.Spec{URL: "https://x.example.com", Format: "xml"}, "json or slack"},
	} {
		if _, err := s.Create(context.Background(), f.env.ID, tt.spec); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Create(%+v) = %v, want %q", tt.spec, err, tt.want)
		}
	}
	if _, err := s.Create(context.Background(), 9999, notify.Spec{URL: "https://x.example.com"}); err == nil || !strings.Contains(err.Error(), "Environment not found") {
		t.Errorf("unknown environment: %v", err)
	}
}

// laterErr is a sink's error that says when to come back, as GitHub's
// reporter's do.
type laterErr struct{ after time.Duration }

func (e laterErr) Error() string             { return "rate limited" }
func (e laterErr) RetryAfter() time.Duration { return e.after }

// TestSinkRetryAfter: a sink's error that says when to come back is not
// retried sooner, though the backoff alone would have.
func TestSinkRetryAfter(t *testing.T) {
	f := newFixture(t, "sqlite")
	var mu sync.Mutex
	calls := 0
	sink := sinkFunc(func(_ context.Context, e notify.Event) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return laterErr{3 * time.Hour}
		}
		return nil
	})
	s := f.service("n1", true, map[string]notify.Sink{"test": sink})
	f.deployment()
	step(t, s)
	called := func() int {
		mu.Lock()
		defer mu.Unlock()
		return calls
	}
	if called() != 1 {
		t.Fatalf("the sink was called %d times, want 1", called())
	}
	f.clock.Advance(notify.DefaultRetryMax + time.Minute)
	step(t, s)
	if called() != 1 {
		t.Fatalf("the sink was called again after %s, before its Retry-After of 3h", notify.DefaultRetryMax)
	}
	f.clock.Advance(2 * time.Hour)
	step(t, s)
	if called() != 2 {
		t.Fatalf("the sink was called %d times after its Retry-After, want 2", called())
	}
}
