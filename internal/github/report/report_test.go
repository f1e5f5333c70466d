package report_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/github/report"
	"github.com/liftoffhq/liftoff/internal/github/report/reporttest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/notify"
	"github.com/liftoffhq/liftoff/internal/testclock"
)

const (
	sha1st   = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
	sha2nd   = "5c3f0e9d1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d"
	patToken = "ghp_R2bX9cZ1eT7qL0mN4vW8yA3sD6fG5hJ2kP1o"
	public   = "https://liftoff.example.com"
)

var t0 = time.Date(2026, 11, 26, 18, 43, 17, 0, time.UTC)

var (
	// shop's repository is on github.com; the fake GitHub is on another
	// host, so the project is linked by name.
	shop       = liftoff.Project{ID: "prj1", Name: "Shop", RepoURL: "https://github.com/octo-org/shop.git", GitHubRepository: "octo-org/shop"}
	production = liftoff.Environment{ID: 3, ProjectID: "prj1", GivenID: "production", Name: "Production", Branch: "main"}
	preview    = liftoff.Environment{ID: 4, ProjectID: "prj1", GivenID: "preview", Name: "Preview", IsPreview: true}
)

// services are a deployment's services with the status st.
func services(prefix string, st liftoff.Status) []liftoff.ServiceDeployment {
	return []liftoff.ServiceDeployment{
		{ServiceGivenID: "worker", ServiceName: "Worker", ServiceType: config.TypeWorker, Status: st},
		{ServiceGivenID: "api", ServiceName: "API", ServiceType: config.TypeWeb, ServiceDomain: "https://api." + prefix + ".shop.example.com", Status: st},
		{ServiceGivenID: "site", ServiceName: "Site", ServiceType: config.TypeStatic, ServiceDomain: "https://site." + prefix + ".shop.example.com", Status: st},
	}
}

// events are the created, started and end events of one deployment.
func events(env liftoff.Environment, id, sha string, pr int, end string, at time.Time) []notify.Event {
	d := liftoff.Deployment{ID: id, ProjectID: shop.ID, EnvironmentID: env.ID, EnvironmentGivenID: env.GivenID, IsPreview: env.IsPreview,
		PRNumber: pr, RepoURL: shop.RepoURL, RequestedCommit: sha, Status: liftoff.StatusPending, CreatedAt: at}
	created := d
	started := d
	started.GitCommit, started.Status, started.StartedAt = sha, liftoff.StatusBuilding, at.Add(time.Second)
	prefix := env.GivenID
	if pr > 0 {
		prefix = fmt.Sprintf("pr-%d.%s", pr, env.GivenID)
	}
	started.Services = services(prefix, liftoff.StatusBuilding)
	ended := started
	ended.FinishedAt = at.Add(73 * time.Second)
	switch end {
	case notify.EventSucceeded:
		ended.Status, ended.Services = liftoff.StatusSuccess, services(prefix, liftoff.StatusSuccess)
	case notify.EventFailed:
		ended.Status, ended.Services = liftoff.StatusBuildError, services(prefix, liftoff.StatusBuildError)
		ended.Errors = []liftoff.ErrorEntry{{Status: liftoff.StatusBuildError, Message: "api: npm run build exited with status 1"}}
	}
	ev := func(typ string, d liftoff.Deployment, at time.Time) notify.Event {
		return notify.Event{ID: notify.EventID(d.ID, typ), Type: typ, At: at, Deployment: d, Project: shop, Environment: env}
	}
	return []notify.Event{ev(notify.EventCreated, created, at), ev(notify.EventStarted, started, started.StartedAt),
		ev(end, ended, ended.FinishedAt)}
}

func newReporter(t *testing.T, f *reporttest.Server, cfg report.Config) *report.Reporter {
	t.Helper()
	cfg.BaseURL = f.URL()
	if cfg.PublicURL == "" {
		cfg.PublicURL = public
	}
	if cfg.Token == "" && cfg.AppID == 0 {
		cfg.Token = patToken
		f.SetToken(patToken)
	}
	r, err := report.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func deliver(t *testing.T, r *report.Reporter, evs ...notify.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := r.Deliver(context.Background(), ev); err != nil {
			t.Fatalf("Deliver %s: %v", ev.ID, err)
		}
	}
}

func str(v any) string { return fmt.Sprint(v) }

func TestCommitStatusPerEvent(t *testing.T) {
	t.Parallel()
	f := reporttest.New(t, "")
	r := newReporter(t, f, report.Config{})
	deliver(t, r, events(production, "dep1", sha1st, 0, notify.EventSucceeded, t0)...)

	posts := f.CallsTo("POST", "/repos/octo-org/shop/statuses/"+sha1st)
	var got []string
	for _, c := range posts {
		got = append(got, str(c.Body["state"])+" "+str(c.Body["description"]))
		if c.Body["context"] != "liftoff/production" || c.Body["target_url"] != public+"/deployments/dep1" {
			t.Errorf("status %v: want context liftoff/production and the deployment's page", c.Body)
		}
		if c.Auth != "Bearer "+patToken {
			t.Errorf("status sent with Authorization %q", c.Auth)
		}
	}
	want := []string{"pending Queued", "pending Deploying", "success Deployed in 1m12s"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("statuses %q, want %q", got, want)
	}

	f2 := reporttest.New(t, "")
	r2 := newReporter(t, f2, report.Config{})
	deliver(t, r2, events(production, "dep2", sha1st, 0, notify.EventFailed, t0)...)
	posts = f2.CallsTo("POST", "/repos/octo-org/shop/statuses/"+sha1st)
	if len(posts) != 3 || posts[2].Body["state"] != "failure" ||
		posts[2].Body["description"] != "Failed: api: npm run build exited with status 1" || posts[2].Body["target_url"] != public+"/deployments/dep2" {
		t.Errorf("a failed deployment's statuses: %+v", posts)
	}
}

func TestDeploymentAndStatuses(t *testing.T) {
	t.Parallel()
	f := reporttest.New(t, "")
	r := newReporter(t, f, report.Config{})
	deliver(t, r, events(production, "dep1", sha1st, 0, notify.EventSucceeded, t0)...)

	made := f.CallsTo("POST", "/repos/octo-org/shop/deployments")
	if len(made) != 1 {
		t.Fatalf("%d deployments made, want 1", len(made))
	}
	b := made[0].Body
	if b["ref"] != sha1st || b["environment"] != "production" || b["auto_merge"] != false || b["production_environment"] != true ||
		b["transient_environment"] != false || fmt.Sprint(b["required_contexts"]) != "[]" {
		t.Errorf("deployment made with %v", b)
	}
	lists := f.CallsTo("GET", "/repos/octo-org/shop/deployments")
	if len(lists) == 0 || lists[0].Query.Get("sha") != sha1st || lists[0].Query.Get("environment") != "production" {
		t.Errorf("deployments looked up with %+v, want by sha and environment", lists)
	}
	stats := f.CallsTo("POST", `/repos/octo-org/shop/deployments/\d+/statuses`)
	var got []string
	for _, c := range stats {
		got = append(got, str(c.Body["state"]))
		if c.Body["log_url"] != public+"/deployments/dep1" {
			t.Errorf("deployment status log_url %v", c.Body["log_url"])
		}
	}
	if strings.Join(got, ",") != "queued,in_progress,success" {
		t.Errorf("deployment statuses %v, want queued, in_progress, success", got)
	}
	if u := stats[2].Body["environment_url"]; u != "https://api.production.shop.example.com" {
		t.Errorf("environment_url %v, want the web service's URL", u)
	}

	// A preview's deployment is transient and named after the PR.
	f2 := reporttest.New(t, "")
	r2 := newReporter(t, f2, report.Config{})
	deliver(t, r2, events(preview, "dep2", sha1st, 7, notify.EventFailed, t0)...)
	made = f2.CallsTo("POST", "/repos/octo-org/shop/deployments")
	if len(made) != 1 || made[0].Body["environment"] != "preview (PR #7)" || made[0].Body["transient_environment"] != true ||
		made[0].Body["production_environment"] != false {
		t.Errorf("preview deployment made with %+v", made)
	}
	stats = f2.CallsTo("POST", `/repos/octo-org/shop/deployments/\d+/statuses`)
	if len(stats) != 3 || stats[2].Body["state"] != "failure" {
		t.Errorf("preview deployment statuses %+v, want the last failure", stats)
	}
}

func TestPreviewCommentEditedInPlace(t *testing.T) {
	t.Parallel()
	f := reporttest.New(t, "")
	// 130 comments before Liftoff's: its comment is on the second page.
	for i := range 130 {
		f.AddComment("octo-org", "shop", 7, fmt.Sprintf("LGTM %d", i))
	}
	r := newReporter(t, f, report.Config{})
	deliver(t, r, events(preview, "dep1", sha1st, 7, notify.EventSucceeded, t0)...)
	deliver(t, r, events(preview, "dep2", sha2nd, 7, notify.EventFailed, t0.Add(time.Hour))...)

	created := f.CallsTo("POST", "/repos/octo-org/shop/issues/7/comments")
	if len(created) != 1 {
		t.Fatalf("%d comments made, want 1", len(created))
	}
	edits := f.CallsTo("PATCH", `/repos/octo-org/shop/issues/comments/\d+`)
	if len(edits) == 0 {
		t.Fatal("the comment was never edited")
	}
	list := f.Comments(7)
	var ours []map[string]any
	for _, c := range list {
		if strings.Contains(str(c["body"]), "liftoff:preview") {
			ours = append(ours, c)
		}
	}
	if len(ours) != 1 {
		t.Fatalf("%d Liftoff comments on the PR, want 1", len(ours))
	}
	for _, e := range edits {
		if !strings.HasSuffix(e.Path, fmt.Sprint(ours[0]["id"])) {
			t.Errorf("edited %s, not the comment %v", e.Path, ours[0]["id"])
		}
	}
	body := str(ours[0]["body"])
	for _, want := range []string{
		"<!-- liftoff:preview env=4 pr=7 -->",
		"commit `5c3f0e9`",
		"[deployment dep2](" + public + "/deployments/dep2)",
		"| API (`api`) | [https://api.pr-7.preview.shop.example.com](https://api.pr-7.preview.shop.example.com) | BUILD_ERROR |",
		"| Worker (`worker`) | — | BUILD_ERROR |",
		"npm run build exited with status 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "dep1") || strings.Contains(body, "SUCCESS") {
		t.Errorf("the comment still shows the first deployment:\n%s", body)
	}
	// The comments were read page by page.
	pages := f.CallsTo("GET", "/repos/octo-org/shop/issues/7/comments")
	if len(pages) < 2 || pages[1].Query.Get("page") != "2" {
		t.Errorf("comment lists %+v: want the second page read", pages)
	}
}

func TestRepeatedEventChangesNothing(t *testing.T) {
	t.Parallel()
	f := reporttest.New(t, "")
	r := newReporter(t, f, report.Config{})
	evs := events(preview, "dep1", sha1st, 7, notify.EventSucceeded, t0)
	deliver(t, r, evs...)
	before := len(f.Writes())
	// At least once: each event again, then the older ones late.
	deliver(t, r, evs[2], evs[2], evs[0], evs[1])
	if w := f.Writes(); len(w) != before {
		for _, c := range w[before:] {
			t.Errorf("repeated events made %s %s %v", c.Method, c.Path, c.Body)
		}
	}
	n := len(f.Statuses(sha1st))
	if n != 3 {
		t.Errorf("%d commit statuses, want 3", n)
	}
	if len(f.CallsTo("POST", "/repos/octo-org/shop/deployments")) != 1 {
		t.Error("a repeated event made a second deployment")
	}
	// A redeploy of the same commit is a deployment of its own.
	deliver(t, r, events(preview, "dep2", sha1st, 7, notify.EventSucceeded, t0.Add(time.Hour))...)
	if n := len(f.CallsTo("POST", "/repos/octo-org/shop/deployments")); n != 2 {
		t.Errorf("%d deployments after a redeploy, want 2", n)
	}
	if n := len(f.CallsTo("POST", "/repos/octo-org/shop/statuses/"+sha1st)); n != 6 {
		t.Errorf("%d commit statuses after a redeploy, want 6", n)
	}
}

func TestNothingToReport(t *testing.T) {
	t.Parallel()
	f := reporttest.New(t, "")
	r := newReporter(t, f, report.Config{})
	evs := events(production, "dep1", sha1st, 0, notify.EventSucceeded, t0)
	gitlab := evs[2]
	gitlab.Project.RepoURL, gitlab.Project.GitHubRepository = "https://gitlab.com/octo-org/shop.git", ""
	noCommit := evs[0]
	noCommit.Deployment.RequestedCommit = "" // the branch head, not resolved yet
	deliver(t, r, gitlab, noCommit)
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("%d calls for events with nothing to report: %+v", len(calls), calls)
	}
	// The start of a branch head's deployment, its commit not resolved
	// yet, is told again later; once it ended without one, never.
	started := evs[1]
	started.Deployment.RequestedCommit, started.Deployment.GitCommit, started.Deployment.Status = "", "", liftoff.StatusInProgress
	if err := r.Deliver(context.Background(), started); !errors.Is(err, report.ErrNoCommitYet) || errors.Is(err, report.ErrPermanent) {
		t.Errorf("the start without a commit: %v, want ErrNoCommitYet, worth retrying", err)
	}
	started.Deployment.Status = liftoff.StatusError
	deliver(t, r, started)
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("%d calls for events with nothing to report: %+v", len(calls), calls)
	}
	// A project linked to a GitHub repository by name reports there.
	linked := evs[2]
	linked.Project.RepoURL, linked.Project.GitHubRepository = "/srv/git/shop", "octo-org/shop"
	deliver(t, r, linked)
	if len(f.CallsTo("POST", "/repos/octo-org/shop/statuses/"+sha1st)) != 1 {
		t.Error("no status for a project linked with githubRepository")
	}
}

func TestEnterpriseServer(t *testing.T) {
	t.Parallel()
	f := reporttest.New(t, "/api/v3")
	r := newReporter(t, f, report.Config{})
	host := f.Host()
	evs := events(production, "dep1", sha1st, 0, notify.EventSucceeded, t0)
	for i := range evs {
		evs[i].Project.RepoURL, evs[i].Project.GitHubRepository = "http://"+host+"/platform/shop.git", ""
	}
	deliver(t, r, evs...)
	if n := len(f.CallsTo("POST", "/repos/platform/shop/statuses/"+sha1st)); n != 3 {
		t.Errorf("%d statuses on the Enterprise server, want 3", n)
	}
}

// newKey makes an App's key pair and its PEM (PKCS#1, as GitHub gives it).
func newKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func TestAppAuth(t *testing.T) {
	t.Parallel()
	key, pemKey := newKey(t)
	f := reporttest.New(t, "")
	clk := testclock.New(time.Now())
	f.SetApp(&key.PublicKey, 123456, 987654, clk.Now)
	r := newReporter(t, f, report.Config{AppID: 123456, AppPrivateKey: pemKey, Now: clk.Now})
	deliver(t, r, events(preview, "dep1", sha1st, 7, notify.EventSucceeded, t0)...)

	if n := len(f.CallsTo("GET", "/repos/octo-org/shop/installation")); n != 1 {
		t.Errorf("installation looked up %d times, want 1", n)
	}
	if n := len(f.CallsTo("POST", "/app/installations/987654/access_tokens")); n != 1 {
		t.Errorf("%d token exchanges, want 1 (the token is kept)", n)
	}
	for _, c := range f.Writes() {
		if c.Auth != "token ghs_16C7e42F292c6912E7710c838347Ae170001" {
			t.Errorf("%s %s with Authorization %q, want the installation token", c.Method, c.Path, c.Auth)
		}
	}
	// Near its expiry the token is replaced; the installation is kept.
	clk.Advance(56 * time.Minute)
	deliver(t, r, events(preview, "dep2", sha2nd, 7, notify.EventSucceeded, t0.Add(time.Hour))[0])
	if n := len(f.CallsTo("POST", "/app/installations/987654/access_tokens")); n != 2 {
		t.Errorf("%d token exchanges after 56 minutes, want 2", n)
	}
	if n := len(f.CallsTo("GET", "/repos/octo-org/shop/installation")); n != 1 {
		t.Errorf("installation looked up %d times, want 1", n)
	}
	// A token GitHub revoked is replaced once, and the call made again.
	f.SetToken("ghs_revoked")
	deliver(t, r, events(preview, "dep2", sha2nd, 7, notify.EventSucceeded, t0.Add(time.Hour))[1])
	if n := len(f.CallsTo("POST", "/app/installations/987654/access_tokens")); n != 3 {
		t.Errorf("%d token exchanges after a revocation, want 3", n)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	_, pemKey := newKey(t)
	for name, cfg := range map[string]report.Config{
		"nothing":          {},
		"token and app":    {Token: patToken, AppID: 1, AppPrivateKey: pemKey},
		"app without key":  {AppID: 1},
		"app with garbage": {AppID: 1, AppPrivateKey: []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")},
		"bad url":          {Token: patToken, BaseURL: "ftp://github.example"},
	} {
		if _, err := report.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		} else if strings.Contains(err.Error(), patToken) {
			t.Errorf("%s: the error shows the token", name)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ev := events(production, "dep1", sha1st, 0, notify.EventSucceeded, t0)[2]
	clk := testclock.New(time.Unix(1_800_000_000, 0))
	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		permanent bool
		wait      time.Duration
	}{
		{"not found", 404, nil, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}`, true, 0},
		{"bad credentials", 401, nil, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`, true, 0},
		{"no permission", 403, nil, `{"message":"Resource not accessible by personal access token","status":"403"}`, true, 0},
		{"refused", 422, nil, `{"message":"Validation Failed","errors":[{"resource":"Status","code":"custom","message":"This SHA and context has reached the maximum number of statuses."}],"status":"422"}`, true, 0},
		{"server error", 502, nil, `<html>bad gateway</html>`, false, 0},
		{"too many", 429, http.Header{"Retry-After": {"30"}}, `{"message":"You have exceeded a secondary rate limit"}`, false, 30 * time.Second},
		{"primary rate limit", 403, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1800000090"}},
			`{"message":"API rate limit exceeded for user ID 1.","status":"403"}`, false, 90 * time.Second},
		{"secondary rate limit", 403, http.Header{"Retry-After": {"60"}}, `{"message":"You have exceeded a secondary rate limit."}`, false, 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := reporttest.New(t, "")
			f.SetFail(func(*http.Request) (int, http.Header, string) { return tt.status, tt.header, tt.body })
			var logs bytes.Buffer
			r := newReporter(t, f, report.Config{Now: clk.Now, Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			err := r.Deliver(context.Background(), ev)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, report.ErrPermanent); got != tt.permanent {
				t.Errorf("errors.Is(%v, ErrPermanent) = %v, want %v", err, got, tt.permanent)
			}
			var ae *report.APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || ae.RetryAfter() != tt.wait {
				t.Errorf("error %v: want an APIError %d waiting %s", err, tt.status, tt.wait)
			}
			if strings.Contains(err.Error(), patToken) || strings.Contains(logs.String(), patToken) {
				t.Error("the token shows in the error or the log")
			}
		})
	}
	t.Run("network", func(t *testing.T) {
		t.Parallel()
		f := reporttest.New(t, "")
		r := newReporter(t, f, report.Config{})
		f.Close()
		err := r.Deliver(context.Background(), ev)
		if err == nil || errors.Is(err, report.ErrPermanent) {
			t.Errorf("a closed server: error %v, want a retryable one", err)
		}
		if err != nil && strings.Contains(err.Error(), patToken) {
			t.Error("the token shows in the error")
		}
	})
}

// inProcess is a transport that serves requests with h in process; it
// holds a request hold says to hold until release is closed, saying so
// on held.
type inProcess struct {
	h       http.Handler
	hold    func(r *http.Request, body string) bool
	held    chan struct{}
	release chan struct{}
}

func (p *inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if p.hold(r, string(body)) {
		close(p.held)
		<-p.release
	}
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// Two deployments' events of one preview delivered at once (notify's
// workers deliver different deployments' events side by side) leave the
// comment showing the later one: the older event's edit cannot land
// after the newer's.
func TestConcurrentEventsKeepTheLatestComment(t *testing.T) {
	f := reporttest.New(t, "")
	f.SetToken(patToken)
	synctest.Test(t, func(t *testing.T) {
		tr := &inProcess{h: f.Handler(), held: make(chan struct{}), release: make(chan struct{})}
		tr.hold = func(r *http.Request, body string) bool {
			return r.Method == "PATCH" && strings.Contains(body, "deployment=dep1 ")
		}
		r, err := report.New(report.Config{BaseURL: f.URL(), Token: patToken, PublicURL: public, HTTPClient: &http.Client{Transport: tr}})
		if err != nil {
			t.Fatal(err)
		}
		deliver(t, r, events(preview, "dep0", sha1st, 7, notify.EventSucceeded, t0)...)
		older := events(preview, "dep1", sha1st, 7, notify.EventSucceeded, t0.Add(time.Hour))
		newer := events(preview, "dep2", sha2nd, 7, notify.EventFailed, t0.Add(2*time.Hour))
		olderDone := make(chan error, 1)
		go func() { olderDone <- r.Deliver(context.Background(), older[len(older)-1]) }()
		<-tr.held // dep1's edit read the comment and is about to write it
		newerDone := make(chan error, 1)
		go func() { newerDone <- r.Deliver(context.Background(), newer[len(newer)-1]) }()
		// dep2's delivery has written the comment, or waits for dep1's to end.
		synctest.Wait()
		close(tr.release)
		if err := <-olderDone; err != nil {
			t.Fatal(err)
		}
		if err := <-newerDone; err != nil {
			t.Fatal(err)
		}
	})
	var body string
	for _, c := range f.Comments(7) {
		if strings.Contains(str(c["body"]), "liftoff:preview") {
			body = str(c["body"])
		}
	}
	if !strings.Contains(body, "deployment=dep2 ") {
		t.Errorf("the comment shows an older deployment than dep2:\n%s", body)
	}
}
