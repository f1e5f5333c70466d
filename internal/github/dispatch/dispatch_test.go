package dispatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/github"
	"github.com/liftoffhq/liftoff/internal/github/dispatch"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// The placeholder values of internal/github/testdata/README.md.
const (
	headSHA  = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
	mergeSHA = "ad2d5075e2c1c95e8c82c8360b2c9f2c5100d127"
	// newSHA replaces headSHA where a test needs another head commit.
	newSHA = "5c3f0e9d1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d"
)

// t0 is the dispatcher's clock.
var t0 = time.Date(2026, 11, 26, 18, 43, 17, 123_000_000, time.UTC)

// event parses a fixture of internal/github/testdata after rewriting it with
// the old, new pairs of rewrite (strings.ReplaceAll, as the README says).
func event(t *testing.T, file string, rewrite ...string) github.Event {
	t.Helper()
	return parse(t, file, fixtureBody(t, file, rewrite...))
}

// forkEvent is event with the pull request's head repository a fork,
// ana-lima/shop: only pull_request.head.repo.full_name changes.
func forkEvent(t *testing.T, file string, rewrite ...string) github.Event {
	t.Helper()
	body := fixtureBody(t, file, rewrite...)
	const name = `"full_name": "octo-org/shop"`
	i := strings.Index(body, name)
	if i < 0 || i < strings.Index(body, `"head": {`) || i > strings.Index(body, `"base": {`) {
		t.Fatalf("%s: the first repository full_name is not the head's", file)
	}
	ev := parse(t, file, body[:i]+`"full_name": "ana-lima/shop"`+body[i+len(name):])
	if !ev.PR.Fork || ev.PR.HeadRepo != "ana-lima/shop" || ev.Repository.FullName != "octo-org/shop" {
		t.Fatalf("%s rewritten as a fork: Fork %v, HeadRepo %q, repository %q", file, ev.PR.Fork, ev.PR.HeadRepo, ev.Repository.FullName)
	}
	return ev
}

func fixtureBody(t *testing.T, file string, rewrite ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	if len(rewrite)%2 != 0 {
		t.Fatalf("rewrite %q: want old, new pairs", rewrite)
	}
	body := string(b)
	for i := 0; i < len(rewrite); i += 2 {
		if !strings.Contains(body, rewrite[i]) {
			t.Fatalf("%s does not contain %q", file, rewrite[i])
		}
		body = strings.ReplaceAll(body, rewrite[i], rewrite[i+1])
	}
	return body
}

// parse parses a fixture's body with the event its file name starts with.
func parse(t *testing.T, file, body string) github.Event {
	t.Helper()
	name, _, _ := strings.Cut(file, ".")
	ev, err := github.Parse(name, []byte(body))
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	return ev
}

// The environments of the tests, as liftoff.json has them (after Parse:
// source.trigger is always set).

const apiService = `{"id":"api","name":"API","type":"web","startCommand":"node server.js","port":3000,` +
	`"healthCheckPath":"/health","target":{"type":"local"}}`

func services() []store.ServiceSpec {
	return []store.ServiceSpec{{GivenID: "api", Name: "API", Type: "web", Config: fromJSON[config.Service](apiService)}}
}

// preview is a preview environment whose source is {"pr":true, ...extra}.
func preview(id, trigger, filter string, extra ...string) store.EnvironmentSpec {
	source := `{"pr":true,"trigger":"` + trigger + `"`
	if filter != "" {
		source += `,"filter":` + filter
	}
	source += `}`
	cfg := `{"id":"` + id + `","name":"Preview ` + id + `","source":` + source
	for _, e := range extra {
		cfg += "," + e
	}
	cfg += `,"services":[` + apiService + `]}`
	return store.EnvironmentSpec{GivenID: id, Name: "Preview " + id, IsPreview: true, Config: fromJSON[config.Environment](cfg), Services: services()}
}

// normal is an environment that follows branch.
func normal(id, branch, trigger string) store.EnvironmentSpec {
	cfg := `{"id":"` + id + `","name":"` + id + `","source":{"branch":"` + branch + `","trigger":"` + trigger + `"},"services":[` + apiService + `]}`
	return store.EnvironmentSpec{GivenID: id, Name: id, Branch: branch, Config: fromJSON[config.Environment](cfg), Services: services()}
}

type harness struct {
	t      *testing.T
	ctx    context.Context
	st     store.Store
	d      *dispatch.Dispatcher
	queued atomic.Int32 // calls of the Queued callback
}

func newHarness(t *testing.T, dialect string) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), st: storetest.Open(t, dialect)}
	now := func() time.Time { return t0 }
	h.d = &dispatch.Dispatcher{
		Store: h.st,
		Log:   slog.New(slog.DiscardHandler),
		Deployments: &deployment.Service{Store: h.st, NewID: cuid.New, Now: now,
			Runner: queueCounter{queued: &h.queued}},
	}
	return h
}

// queueCounter counts the deployments the dispatcher says it queued.
type queueCounter struct {
	deployment.NoRunner
	queued *atomic.Int32
}

func (c queueCounter) Queued() { c.queued.Add(1) }

// queueRefuser fails the test if the dispatcher says it queued something.
type queueRefuser struct {
	deployment.NoRunner
	t *testing.T
}

func (r queueRefuser) Queued() { r.t.Error("Queued called") }

// project creates a project and its environments, returned by given id.
func (h *harness) project(repoURL, githubRepo string, envs ...store.EnvironmentSpec) (liftoff.Project, map[string]liftoff.Environment) {
	h.t.Helper()
	p, err := h.st.CreateProject(h.ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop " + cuid.New(), RepoURL: repoURL,
		ConfigPath: "liftoff.json", DefaultBranch: "main", ConfigCommit: mergeSHA, GitHubRepository: githubRepo, At: t0})
	if err != nil {
		h.t.Fatal(err)
	}
	list, err := h.st.SyncEnvironments(h.ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, Environments: envs, At: t0, NewServiceID: cuid.New})
	if err != nil {
		h.t.Fatal(err)
	}
	byID := map[string]liftoff.Environment{}
	for _, e := range list {
		byID[e.GivenID] = e
	}
	if len(byID) != len(envs) {
		h.t.Fatalf("SyncEnvironments returned %d environments, want %d", len(byID), len(envs))
	}
	return p, byID
}

func (h *harness) handle(ev github.Event) dispatch.Result {
	h.t.Helper()
	res, err := h.d.Handle(h.ctx, ev)
	if err != nil {
		h.t.Fatalf("Handle(%s %s): %v", ev.Name, ev.Action, err)
	}
	return res
}

// deployments lists a project's deployments, newest first.
func (h *harness) deployments(projectID string) []liftoff.Deployment {
	h.t.Helper()
	ds, err := h.st.ListDeployments(h.ctx, store.ListDeploymentsParams{ProjectID: projectID, Limit: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	return ds
}

func (h *harness) deployment(id string) liftoff.Deployment {
	h.t.Helper()
	d, err := h.st.GetDeployment(h.ctx, store.GetDeploymentParams{ID: id})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) upsert(envID int64, pr int, at time.Time) {
	h.t.Helper()
	if _, err := h.st.UpsertPreviewInstance(h.ctx, store.UpsertPreviewParams{EnvironmentID: envID, PRNumber: pr,
		HeadBranch: "feature/checkout", At: at}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) instance(envID int64, pr int) liftoff.PreviewInstance {
	h.t.Helper()
	inst, err := h.st.GetPreviewInstance(h.ctx, store.GetPreviewInstanceParams{EnvironmentID: envID, PRNumber: pr})
	if err != nil {
		h.t.Fatal(err)
	}
	return inst
}

// expectIgnored fails unless the result ignored exactly want, in order.
func expectIgnored(t *testing.T, res dispatch.Result, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !reflect.DeepEqual(res.Ignored, want) {
		t.Errorf("Ignored = %q\nwant      %q", res.Ignored, want)
	}
}

// expectQueuedCalls fails unless the Queued callback ran n times.
func (h *harness) expectQueuedCalls(n int) {
	h.t.Helper()
	if got := h.queued.Load(); got != int32(n) {
		h.t.Errorf("Queued callback called %d times, want %d", got, n)
	}
}

// eachDialect runs fn as a parallel subtest per store dialect.
func eachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			fn(t, dialect)
		})
	}
}

// prDetail is the trigger detail of a deployment of PR #42 as the fixtures
// show it.
func prDetail(action, sender string, watchPaths ...string) liftoff.TriggerDetail {
	return liftoff.TriggerDetail{Event: "pull_request", Action: action, Sender: sender, BaseBranch: "main",
		HeadBranch: "feature/checkout", FilterWatchPaths: watchPaths}
}

const (
	manualReason = `its source.trigger is "manual": only deploy hooks and people deploy it`
	forkReason   = "pull requests from forks are not deployed automatically; deploy one with the preview deploy hook once its code is reviewed"
)

func TestPullRequestDeploys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fixture string
		rewrite []string
		fork    bool // the head repository is a fork
		envs    []store.EnvironmentSpec
		// want maps the environments that get a deployment to its detail.
		want    map[string]liftoff.TriggerDetail
		wantSHA string // default headSHA
		ignored []string
	}{
		{
			name: "opened deploys the head commit", fixture: "pull_request.opened.json",
			envs: []store.EnvironmentSpec{preview("preview", "push", `{"toBranches":["main"],"fromBranches":["feature/**"]}`)},
			want: map[string]liftoff.TriggerDetail{"preview": prDetail("opened", "ana-lima")},
		},
		{
			name: "opened with an empty filter", fixture: "pull_request.opened.json",
			envs: []store.EnvironmentSpec{preview("preview", "push", `{}`)},
			want: map[string]liftoff.TriggerDetail{"preview": prDetail("opened", "ana-lima")},
		},
		{
			name: "synchronize deploys the new head commit", fixture: "pull_request.synchronize.json", rewrite: []string{headSHA, newSHA},
			envs:    []store.EnvironmentSpec{preview("preview", "push", "")},
			want:    map[string]liftoff.TriggerDetail{"preview": prDetail("synchronize", "ana-lima")},
			wantSHA: newSHA,
		},
		{
			name: "reopened deploys", fixture: "pull_request.reopened.json",
			envs: []store.EnvironmentSpec{preview("preview", "push", `{"toBranches":["main"]}`)},
			want: map[string]liftoff.TriggerDetail{"preview": prDetail("reopened", "ana-lima")},
		},
		{
			name: "trigger manual is ignored", fixture: "pull_request.opened.json",
			envs:    []store.EnvironmentSpec{preview("preview", "manual", "")},
			ignored: []string{"preview PR #42: " + manualReason},
		},
		{
			name: "toBranches not matching", fixture: "pull_request.opened.json",
			envs:    []store.EnvironmentSpec{preview("preview", "push", `{"toBranches":["release/*"]}`)},
			ignored: []string{"preview PR #42: base branch main is not in toBranches [release/*]"},
		},
		{
			name: "toBranches matching a rewritten base branch", fixture: "pull_request.opened.json", rewrite: []string{`"ref": "main"`, `"ref": "release/2.0"`},
			envs: []store.EnvironmentSpec{preview("preview", "push", `{"toBranches":["release/*"]}`)},
			want: map[string]liftoff.TriggerDetail{"preview": {Event: "pull_request", Action: "opened", Sender: "ana-lima",
				BaseBranch: "release/2.0", HeadBranch: "feature/checkout"}},
		},
		{
			name: "fromBranches not matching", fixture: "pull_request.opened.json", rewrite: []string{"feature/checkout", "fix/checkout"},
			envs:    []store.EnvironmentSpec{preview("preview", "push", `{"fromBranches":["feature/**"]}`)},
			ignored: []string{"preview PR #42: head branch fix/checkout is not in fromBranches [feature/**]"},
		},
		{
			name: "labels not matching", fixture: "pull_request.opened.json",
			envs:    []store.EnvironmentSpec{preview("preview", "push", `{"labels":["preview"]}`)},
			ignored: []string{"preview PR #42: the pull request has none of the labels [preview] (it has [enhancement])"},
		},
		{
			name: "labels matching without regard to case", fixture: "pull_request.opened.json",
			envs: []store.EnvironmentSpec{preview("preview", "push", `{"labels":["Enhancement"]}`)},
			want: map[string]liftoff.TriggerDetail{"preview": prDetail("opened", "ana-lima")},
		},
		{
			name: "watchPaths pass through to the deployment", fixture: "pull_request.opened.json",
			envs: []store.EnvironmentSpec{preview("preview", "push", `{"toBranches":["main"],"watchPaths":["apps/**","!apps/docs/**"]}`)},
			want: map[string]liftoff.TriggerDetail{"preview": prDetail("opened", "ana-lima", "apps/**", "!apps/docs/**")},
		},
		{
			name: "labeled deploys when the label makes the filter match", fixture: "pull_request.labeled.json",
			envs: []store.EnvironmentSpec{preview("preview", "push", `{"labels":["preview"]}`)},
			want: map[string]liftoff.TriggerDetail{"preview": prDetail("labeled", "kenji-sato")},
		},
		{
			name: "labeled when the PR already had a matching label", fixture: "pull_request.labeled.json",
			envs:    []store.EnvironmentSpec{preview("preview", "push", `{"labels":["preview","enhancement"]}`)},
			ignored: []string{`preview PR #42: label "preview" does not make its filter match for the first time`},
		},
		{
			name: "labeled with a filter without labels", fixture: "pull_request.labeled.json",
			envs:    []store.EnvironmentSpec{preview("preview", "push", `{"toBranches":["main"]}`)},
			ignored: []string{`preview PR #42: label "preview" does not make its filter match for the first time`},
		},
		{
			name: "labeled with another label than the filter's", fixture: "pull_request.labeled.json",
			envs:    []store.EnvironmentSpec{preview("preview", "push", `{"labels":["deploy-me"]}`)},
			ignored: []string{"preview PR #42: the pull request has none of the labels [deploy-me] (it has [enhancement, preview])"},
		},
		{
			name: "labeled on a closed PR does not deploy", fixture: "pull_request.labeled.json", rewrite: []string{`"state": "open"`, `"state": "closed"`},
			envs:    []store.EnvironmentSpec{preview("preview", "push", `{"labels":["preview"]}`)},
			ignored: []string{"preview PR #42: the pull request is closed: only an open pull request's events deploy"},
		},
		{
			name: "labeled on a merged PR does not deploy", fixture: "pull_request.labeled.json",
			rewrite: []string{`"state": "open"`, `"state": "closed"`, `"merged": false`, `"merged": true`},
			envs:    []store.EnvironmentSpec{preview("preview", "push", `{"labels":["preview"]}`)},
			ignored: []string{"preview PR #42: the pull request is merged: only an open pull request's events deploy"},
		},
		{
			name: "synchronize on a closed PR does not deploy", fixture: "pull_request.synchronize.json", rewrite: []string{`"state": "open"`, `"state": "closed"`},
			envs:    []store.EnvironmentSpec{preview("preview", "push", "")},
			ignored: []string{"preview PR #42: the pull request is closed: only an open pull request's events deploy"},
		},
		{
			name: "an action that does not deploy", fixture: "pull_request.opened.json", rewrite: []string{`"action": "opened"`, `"action": "assigned"`},
			envs:    []store.EnvironmentSpec{preview("preview", "push", "")},
			ignored: []string{`preview PR #42: action "assigned" does not deploy`},
		},
		{
			name: "a pull request from a fork is not deployed", fixture: "pull_request.opened.json", fork: true,
			envs:    []store.EnvironmentSpec{preview("preview", "push", `{"toBranches":["main"]}`)},
			ignored: []string{"preview PR #42: " + forkReason},
		},
		{
			name: "a fork's new commits are not deployed either", fixture: "pull_request.synchronize.json", fork: true,
			envs:    []store.EnvironmentSpec{preview("preview", "push", "")},
			ignored: []string{"preview PR #42: " + forkReason},
		},
		{
			name: "a fork's label does not deploy it", fixture: "pull_request.labeled.json", fork: true,
			envs:    []store.EnvironmentSpec{preview("preview", "push", `{"labels":["preview"]}`)},
			ignored: []string{"preview PR #42: " + forkReason},
		},
		{
			name: "every preview environment decides for itself", fixture: "pull_request.opened.json",
			envs: []store.EnvironmentSpec{
				normal("production", "main", "push"),
				preview("preview", "push", `{"fromBranches":["feature/**"]}`),
				preview("releases", "push", `{"toBranches":["release/*"]}`),
				preview("labelled", "manual", `{"labels":["enhancement"]}`),
				preview("frontend", "push", `{"watchPaths":["apps/web/**"]}`),
			},
			want: map[string]liftoff.TriggerDetail{
				"preview":  prDetail("opened", "ana-lima"),
				"frontend": prDetail("opened", "ana-lima", "apps/web/**"),
			},
			ignored: []string{
				"releases PR #42: base branch main is not in toBranches [release/*]",
				"labelled PR #42: " + manualReason,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eachDialect(t, func(t *testing.T, dialect string) {
				h := newHarness(t, dialect)
				p, envs := h.project("https://github.com/octo-org/shop.git", "", tc.envs...)
				ev := event(t, tc.fixture, tc.rewrite...)
				if tc.fork {
					ev = forkEvent(t, tc.fixture, tc.rewrite...)
				}
				res := h.handle(ev)
				if res.Event != "pull_request" || res.Action != ev.Action {
					t.Errorf("Result event %q action %q, want pull_request %q", res.Event, res.Action, ev.Action)
				}
				expectIgnored(t, res, tc.ignored...)
				if len(res.TornDown) != 0 || len(res.Scheduled) != 0 {
					t.Errorf("TornDown %+v, Scheduled %+v: want none", res.TornDown, res.Scheduled)
				}
				wantSHA := tc.wantSHA
				if wantSHA == "" {
					wantSHA = headSHA
				}
				// The answer and the store agree, one deployment per
				// environment that wanted one.
				ds := h.deployments(p.ID)
				if len(res.Queued) != len(tc.want) || len(ds) != len(tc.want) {
					t.Fatalf("queued %+v, stored %d deployments; want %d", res.Queued, len(ds), len(tc.want))
				}
				byID := map[string]liftoff.Deployment{}
				for _, d := range ds {
					byID[d.ID] = d
				}
				for _, q := range res.Queued {
					d, ok := byID[q.DeploymentID]
					if !ok {
						t.Fatalf("queued %+v is not in the store", q)
					}
					env := envs[d.EnvironmentGivenID]
					want, ok := tc.want[env.GivenID]
					if !ok {
						t.Errorf("environment %s got a deployment", env.GivenID)
						continue
					}
					if q.EnvironmentID != env.ID || q.PRNumber == nil || *q.PRNumber != 42 {
						t.Errorf("queued %+v, want environment %d PR 42", q, env.ID)
					}
					if d.EnvironmentID != env.ID || d.ProjectID != p.ID || d.PRNumber != 42 || !d.IsPreview ||
						d.RequestedCommit != wantSHA || d.TriggerType != liftoff.TriggerGitHub || d.Status != liftoff.StatusPending ||
						d.RepoURL != p.RepoURL || d.GitBranch != "" || d.Force || d.HookID != "" || d.CreatedAt != t0 {
						t.Errorf("deployment = %+v\nwant a PENDING github deployment of %s to %s #42", d, wantSHA, env.GivenID)
					}
					if got := d.TriggerDetail; !reflect.DeepEqual(got, want) {
						t.Errorf("%s: trigger detail = %+v\nwant %+v", env.GivenID, got, want)
					}
				}
				if len(tc.want) > 0 {
					h.expectQueuedCalls(1)
				} else {
					h.expectQueuedCalls(0)
				}
			})
		})
	}
}

// The detail is stored as the JSON the API shows.
func TestTriggerDetailJSON(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		p, _ := h.project("https://github.com/octo-org/shop.git", "", preview("preview", "push", `{"watchPaths":["apps/**"]}`))
		h.handle(event(t, "pull_request.opened.json"))
		ds := h.deployments(p.ID)
		if len(ds) != 1 {
			t.Fatalf("%d deployments", len(ds))
		}
		b, err := json.Marshal(ds[0].TriggerDetail)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("trigger detail %s: %v", b, err)
		}
		want := map[string]any{"event": "pull_request", "action": "opened", "sender": "ana-lima", "baseBranch": "main",
			"headBranch": "feature/checkout", "filterWatchPaths": []any{"apps/**"}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trigger detail = %v\nwant %v", got, want)
		}
	})
}

func TestSameEventJoinsThePendingDeployment(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		p, envs := h.project("https://github.com/octo-org/shop.git", "", preview("preview", "push", ""))
		first := h.handle(event(t, "pull_request.opened.json"))
		second := h.handle(event(t, "pull_request.opened.json")) // a redelivery
		if len(first.Queued) != 1 || len(second.Queued) != 1 || first.Queued[0].DeploymentID != second.Queued[0].DeploymentID {
			t.Fatalf("first %+v, second %+v: want the same deployment", first.Queued, second.Queued)
		}
		if ds := h.deployments(p.ID); len(ds) != 1 || ds[0].Status != liftoff.StatusPending {
			t.Fatalf("deployments = %+v, want one PENDING", ds)
		}

		// A new head commit supersedes it.
		third := h.handle(event(t, "pull_request.synchronize.json", headSHA, newSHA))
		if len(third.Queued) != 1 || third.Queued[0].DeploymentID == first.Queued[0].DeploymentID {
			t.Fatalf("synchronize queued %+v, want a new deployment", third.Queued)
		}
		old := h.deployment(first.Queued[0].DeploymentID)
		if old.Status != liftoff.StatusCancelled || len(old.Errors) != 1 || old.Errors[0].Message != "superseded by "+third.Queued[0].DeploymentID {
			t.Fatalf("superseded deployment = %+v", old)
		}
		pending, err := h.st.GetPendingDeployment(h.ctx, store.GetPendingDeploymentParams{EnvironmentID: envs["preview"].ID, PRNumber: 42})
		if err != nil || pending.ID != third.Queued[0].DeploymentID || pending.RequestedCommit != newSHA {
			t.Fatalf("pending = %+v, %v", pending, err)
		}
		h.expectQueuedCalls(3)
	})
}

func TestPullRequestClosed(t *testing.T) {
	t.Parallel()
	t.Run("merged tears the live instances down", func(t *testing.T) {
		t.Parallel()
		eachDialect(t, func(t *testing.T, dialect string) {
			h := newHarness(t, dialect)
			_, envs := h.project("https://github.com/octo-org/shop.git", "",
				normal("production", "main", "push"), preview("preview", "push", ""), preview("manual", "manual", ""))
			pv, manual := envs["preview"], envs["manual"]
			h.upsert(pv.ID, 42, t0.Add(-time.Hour))
			h.upsert(manual.ID, 42, t0.Add(-time.Hour))
			h.upsert(pv.ID, 43, t0.Add(-time.Hour))
			opened := h.handle(event(t, "pull_request.opened.json"))
			if len(opened.Queued) != 1 {
				t.Fatalf("opened queued %+v", opened.Queued)
			}

			res := h.handle(event(t, "pull_request.closed.merged.json"))
			want := []dispatch.Preview{{EnvironmentID: pv.ID, PRNumber: 42}, {EnvironmentID: manual.ID, PRNumber: 42}}
			if !sameElements(res.TornDown, want) {
				t.Errorf("TornDown = %+v, want %+v", res.TornDown, want)
			}
			expectIgnored(t, res)
			if res.Action != "closed" || len(res.Queued) != 0 || len(res.Scheduled) != 0 {
				t.Errorf("result = %+v", res)
			}
			for _, env := range []liftoff.Environment{pv, manual} {
				if inst := h.instance(env.ID, 42); inst.DeletedAt != t0 || !inst.TeardownAt.IsZero() {
					t.Errorf("%s #42 = %+v, want torn down at %s", env.GivenID, inst, t0)
				}
			}
			if inst := h.instance(pv.ID, 43); inst.Deleted() {
				t.Errorf("PR 43 was torn down too: %+v", inst)
			}
			d := h.deployment(opened.Queued[0].DeploymentID)
			if d.Status != liftoff.StatusCancelled || len(d.Errors) != 1 || d.Errors[0].Message != "the preview instance was torn down" {
				t.Errorf("the PENDING deployment after the teardown = %+v", d)
			}
			h.expectQueuedCalls(1) // the opened event's only

			// A second delivery finds nothing live.
			again := h.handle(event(t, "pull_request.closed.merged.json"))
			if len(again.TornDown) != 0 {
				t.Errorf("second delivery tore down %+v", again.TornDown)
			}
			expectIgnored(t, again, "preview PR #42: no live preview to tear down", "manual PR #42: no live preview to tear down")
		})
	})
	t.Run("merged without an instance", func(t *testing.T) {
		t.Parallel()
		eachDialect(t, func(t *testing.T, dialect string) {
			h := newHarness(t, dialect)
			p, _ := h.project("https://github.com/octo-org/shop.git", "", preview("preview", "push", ""))
			res := h.handle(event(t, "pull_request.closed.merged.json"))
			if len(res.TornDown) != 0 || len(res.Queued) != 0 || len(res.Scheduled) != 0 {
				t.Errorf("result = %+v", res)
			}
			expectIgnored(t, res, "preview PR #42: no live preview to tear down")
			if ds := h.deployments(p.ID); len(ds) != 0 {
				t.Errorf("deployments = %+v", ds)
			}
			h.expectQueuedCalls(0)
		})
	})
	t.Run("merged: the runner hears of the teardown", func(t *testing.T) {
		t.Parallel()
		eachDialect(t, func(t *testing.T, dialect string) {
			h := newHarness(t, dialect)
			_, envs := h.project("https://github.com/octo-org/shop.git", "", preview("preview", "push", ""), preview("other", "push", ""))
			h.upsert(envs["preview"].ID, 42, t0)
			runner := &tornDownRecorder{}
			h.d.Deployments.Runner = runner
			res := h.handle(event(t, "pull_request.closed.merged.json"))
			if want := []tornDown{{envs["preview"].ID, 42}}; !reflect.DeepEqual(runner.calls, want) {
				t.Errorf("InstanceTornDown calls = %+v, want %+v", runner.calls, want)
			}
			if want := []dispatch.Preview{{EnvironmentID: envs["preview"].ID, PRNumber: 42}}; !reflect.DeepEqual(res.TornDown, want) {
				t.Errorf("TornDown = %+v, want %+v", res.TornDown, want)
			}
			expectIgnored(t, res, "other PR #42: no live preview to tear down")

			h.upsert(envs["preview"].ID, 43, t0)
			fail := true
			h.d.Deployments.Store = failingTx{Store: h.st, fail: &fail}
			if _, err := h.d.Handle(h.ctx, event(t, "pull_request.closed.merged.json")); err == nil {
				t.Error("Handle with a failing teardown succeeded")
			}
		})
	})
	t.Run("unmerged schedules the teardown, reopened cancels it", func(t *testing.T) {
		t.Parallel()
		eachDialect(t, func(t *testing.T, dialect string) {
			h := newHarness(t, dialect)
			p, envs := h.project("https://github.com/octo-org/shop.git", "", preview("preview", "push", ""), preview("manual", "manual", ""))
			pv, manual := envs["preview"], envs["manual"]
			h.upsert(pv.ID, 42, t0.Add(-time.Hour))
			h.upsert(manual.ID, 42, t0.Add(-time.Hour))

			res := h.handle(event(t, "pull_request.closed.unmerged.json"))
			at := t0.Add(30 * time.Minute)
			want := []dispatch.Preview{{EnvironmentID: pv.ID, PRNumber: 42, At: client.FormatTime(at)}, {EnvironmentID: manual.ID, PRNumber: 42, At: client.FormatTime(at)}}
			if !sameElements(res.Scheduled, want) {
				t.Errorf("Scheduled = %+v, want %+v", res.Scheduled, want)
			}
			if client.FormatTime(at) != "2026-11-26T19:13:17.123Z" {
				t.Errorf("scheduled at %s", at)
			}
			expectIgnored(t, res)
			if len(res.TornDown) != 0 || len(res.Queued) != 0 {
				t.Errorf("result = %+v", res)
			}
			for _, env := range []liftoff.Environment{pv, manual} {
				if inst := h.instance(env.ID, 42); inst.TeardownAt != at || inst.Deleted() {
					t.Errorf("%s #42 = %+v, want a teardown scheduled at %s", env.GivenID, inst, at)
				}
			}
			due, err := h.st.PreviewsDue(h.ctx, store.PreviewsDueParams{Now: at, EnvironmentIDs: nil, StaleBefore: nil})
			if err != nil || len(due) != 2 {
				t.Errorf("PreviewsDue at the scheduled time = %+v, %v", due, err)
			}

			// Reopened within the 30 minutes: the previews stay, and the push
			// environment deploys the head commit again.
			h.d.Deployments.Now = func() time.Time { return t0.Add(10 * time.Minute) }
			res = h.handle(event(t, "pull_request.reopened.json"))
			for _, env := range []liftoff.Environment{pv, manual} {
				if inst := h.instance(env.ID, 42); !inst.TeardownAt.IsZero() || inst.Deleted() {
					t.Errorf("%s #42 after reopened = %+v, want no teardown scheduled", env.GivenID, inst)
				}
			}
			if due, _ := h.st.PreviewsDue(h.ctx, store.PreviewsDueParams{Now: at.Add(time.Hour), EnvironmentIDs: nil, StaleBefore: nil}); len(due) != 0 {
				t.Errorf("still due after reopened: %+v", due)
			}
			if len(res.Queued) != 1 || res.Queued[0].EnvironmentID != pv.ID {
				t.Errorf("reopened queued %+v, want a deployment of preview", res.Queued)
			}
			expectIgnored(t, res, "manual PR #42: "+manualReason)
			if ds := h.deployments(p.ID); len(ds) != 1 || ds[0].RequestedCommit != headSHA || ds[0].CreatedAt != t0.Add(10*time.Minute) {
				t.Errorf("deployments = %+v", ds)
			}
			h.expectQueuedCalls(1)
		})
	})
	t.Run("unmerged without a live instance schedules nothing", func(t *testing.T) {
		t.Parallel()
		eachDialect(t, func(t *testing.T, dialect string) {
			h := newHarness(t, dialect)
			_, envs := h.project("https://github.com/octo-org/shop.git", "", preview("preview", "push", ""), preview("gone", "push", ""))
			h.upsert(envs["gone"].ID, 42, t0.Add(-2*time.Hour))
			if _, err := deployment.TearDownPreview(h.ctx, h.st, envs["gone"].ID, 42, t0.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			res := h.handle(event(t, "pull_request.closed.unmerged.json"))
			if len(res.Scheduled)+len(res.TornDown)+len(res.Queued) != 0 {
				t.Errorf("result = %+v", res)
			}
			expectIgnored(t, res, "preview PR #42: no live preview to tear down", "gone PR #42: no live preview to tear down")
			if _, err := h.st.GetPreviewInstance(h.ctx, store.GetPreviewInstanceParams{EnvironmentID: envs["preview"].ID, PRNumber: 42}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetPreviewInstance: %v, want ErrNotFound", err)
			}
			if inst := h.instance(envs["gone"].ID, 42); !inst.TeardownAt.IsZero() || inst.DeletedAt != t0.Add(-time.Hour) {
				t.Errorf("torn down instance = %+v, want it unchanged", inst)
			}
			h.expectQueuedCalls(0)
		})
	})
	t.Run("a fork's preview is torn down too", func(t *testing.T) {
		t.Parallel()
		eachDialect(t, func(t *testing.T, dialect string) {
			// One deployed with the preview hook, say.
			h := newHarness(t, dialect)
			_, envs := h.project("https://github.com/octo-org/shop.git", "", preview("preview", "push", ""))
			h.upsert(envs["preview"].ID, 42, t0.Add(-time.Hour))
			res := h.handle(forkEvent(t, "pull_request.closed.merged.json"))
			if want := []dispatch.Preview{{EnvironmentID: envs["preview"].ID, PRNumber: 42}}; !reflect.DeepEqual(res.TornDown, want) {
				t.Errorf("TornDown = %+v, want %+v", res.TornDown, want)
			}
			expectIgnored(t, res)
		})
	})
}

func TestPush(t *testing.T) {
	t.Parallel()
	pushDetail := liftoff.TriggerDetail{Event: "push", Sender: "kenji-sato"}
	tests := []struct {
		name    string
		fixture string
		rewrite []string
		envs    []store.EnvironmentSpec
		want    []string // environments that get a deployment of mergeSHA
		ignored []string
	}{
		{
			name: "a push to the branch deploys its environments", fixture: "push.main.json",
			envs: []store.EnvironmentSpec{normal("production", "main", "push"), normal("canary", "main", "push"),
				normal("staging", "develop", "push"), preview("preview", "push", "")},
			want:    []string{"production", "canary"},
			ignored: []string{"staging: it follows branch develop, not main", "preview: a preview environment deploys pull requests, not pushes"},
		},
		{
			name: "a manual environment is ignored", fixture: "push.main.json",
			envs:    []store.EnvironmentSpec{normal("production", "main", "manual"), normal("staging", "main", "push")},
			want:    []string{"staging"},
			ignored: []string{"production: " + manualReason},
		},
		{
			name: "another branch", fixture: "push.main.json", rewrite: []string{`"ref": "refs/heads/main"`, `"ref": "refs/heads/develop"`},
			envs:    []store.EnvironmentSpec{normal("production", "main", "push"), normal("staging", "develop", "push")},
			want:    []string{"staging"},
			ignored: []string{"production: it follows branch main, not develop"},
		},
		{
			name: "a branch no environment follows", fixture: "push.main.json", rewrite: []string{`"ref": "refs/heads/main"`, `"ref": "refs/heads/hotfix"`},
			envs:    []store.EnvironmentSpec{normal("production", "main", "push"), preview("preview", "push", "")},
			ignored: []string{"production: it follows branch main, not hotfix", "preview: a preview environment deploys pull requests, not pushes"},
		},
		{
			name: "a tag", fixture: "push.tag.json",
			envs: []store.EnvironmentSpec{normal("production", "main", "push"), normal("tagged", "v1.4.0", "push")},
			ignored: []string{"production: the push is of tag v1.4.0; it follows branch main",
				"tagged: the push is of tag v1.4.0; it follows branch v1.4.0"},
		},
		{
			name: "a deleted branch", fixture: "push.deleted.json",
			envs:    []store.EnvironmentSpec{normal("production", "main", "push"), normal("checkout", "feature/checkout", "push")},
			ignored: []string{"production: it follows branch main, not feature/checkout", "checkout: the branch was deleted"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eachDialect(t, func(t *testing.T, dialect string) {
				h := newHarness(t, dialect)
				p, envs := h.project("https://github.com/octo-org/shop.git", "", tc.envs...)
				res := h.handle(event(t, tc.fixture, tc.rewrite...))
				if res.Event != "push" || res.Action != "" || len(res.TornDown) != 0 || len(res.Scheduled) != 0 {
					t.Errorf("result = %+v", res)
				}
				expectIgnored(t, res, tc.ignored...)
				ds := h.deployments(p.ID)
				if len(res.Queued) != len(tc.want) || len(ds) != len(tc.want) {
					t.Fatalf("queued %+v, stored %d deployments; want %v", res.Queued, len(ds), tc.want)
				}
				var got []string
				for _, q := range res.Queued {
					d := h.deployment(q.DeploymentID)
					env := envs[d.EnvironmentGivenID]
					got = append(got, env.GivenID)
					if q.EnvironmentID != env.ID || q.PRNumber != nil {
						t.Errorf("queued %+v, want environment %d without a PR", q, env.ID)
					}
					if d.PRNumber != 0 || d.IsPreview || d.RequestedCommit != mergeSHA || d.GitBranch != env.Branch ||
						d.TriggerType != liftoff.TriggerGitHub || d.Status != liftoff.StatusPending || d.RepoURL != p.RepoURL || d.CreatedAt != t0 {
						t.Errorf("deployment = %+v\nwant a PENDING github deployment of %s to %s", d, mergeSHA, env.GivenID)
					}
					if detail := d.TriggerDetail; !reflect.DeepEqual(detail, pushDetail) {
						t.Errorf("trigger detail = %+v, want %+v", detail, pushDetail)
					}
				}
				if !sameElements(got, tc.want) {
					t.Errorf("deployed %v, want %v", got, tc.want)
				}
				if len(tc.want) > 0 {
					h.expectQueuedCalls(1)
				} else {
					h.expectQueuedCalls(0)
				}
			})
		})
	}
}

func TestRepositoryMatching(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		repoURL, githubRepo string
		match               bool
	}{
		{"https://github.com/octo-org/shop.git", "", true},
		{"https://github.com/octo-org/shop", "", true},
		{"https://github.com/Octo-Org/Shop/", "", true},
		{"https://x-access-token:secret@github.com/octo-org/shop.git", "", true},
		{"git@github.com:octo-org/shop.git", "", true},
		{"ssh://git@github.com:22/octo-org/shop.git", "", true},
		{"github.com/octo-org/shop", "", true},
		{"/srv/git/shop.git", "octo-org/shop", true},
		{"https://git.internal.example/mirrors/shop.git", "https://github.com/octo-org/shop", true},
		{"/srv/git/shop.git", "", false},
		{"/srv/git/shop.git", "octo-org/storefront", false},
		{"https://github.com/octo-org/shop-admin.git", "", false},
		{"https://gitlab.com/octo-org/shop.git", "", false},
		{"git@github-work:octo-org/shop.git", "", false},
	} {
		name := tc.repoURL
		if tc.githubRepo != "" {
			name += " with githubRepository " + tc.githubRepo
		}
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			t.Parallel()
			eachDialect(t, func(t *testing.T, dialect string) {
				h := newHarness(t, dialect)
				p, envs := h.project(tc.repoURL, tc.githubRepo, normal("production", "main", "push"))
				res := h.handle(event(t, "push.main.json"))
				ds := h.deployments(p.ID)
				if !tc.match {
					expectIgnored(t, res, "no project uses the repository octo-org/shop")
					if len(res.Queued) != 0 || len(ds) != 0 {
						t.Errorf("queued %+v, stored %+v", res.Queued, ds)
					}
					h.expectQueuedCalls(0)
					return
				}
				expectIgnored(t, res)
				if len(res.Queued) != 1 || len(ds) != 1 || ds[0].EnvironmentID != envs["production"].ID || ds[0].RepoURL != tc.repoURL {
					t.Errorf("queued %+v, stored %+v", res.Queued, ds)
				}
				h.expectQueuedCalls(1)
			})
		})
	}
}

func TestEveryMatchingProjectActs(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		byURL, _ := h.project("git@github.com:octo-org/shop.git", "", normal("production", "main", "push"), preview("preview", "push", `{"labels":["preview"]}`))
		byRepo, _ := h.project("/srv/mirrors/shop.git", "octo-org/shop", preview("preview", "push", `{"labels":["preview"]}`))
		other, _ := h.project("https://github.com/octo-org/storefront.git", "", preview("preview", "push", ""))

		res := h.handle(event(t, "pull_request.labeled.json"))
		if len(res.Queued) != 2 {
			t.Fatalf("queued %+v, want a deployment for each project using the repository", res.Queued)
		}
		expectIgnored(t, res)
		for _, c := range []struct {
			p    liftoff.Project
			want int
		}{{byURL, 1}, {byRepo, 1}, {other, 0}} {
			if ds := h.deployments(c.p.ID); len(ds) != c.want {
				t.Errorf("project %s (%s, %q): %d deployments, want %d", c.p.Name, c.p.RepoURL, c.p.GitHubRepository, len(ds), c.want)
			}
		}
		h.expectQueuedCalls(1)

		// A repository no project uses, rewritten everywhere in the payload.
		res = h.handle(event(t, "pull_request.opened.json", "octo-org/shop", "octo-org/warehouse"))
		expectIgnored(t, res, "no project uses the repository octo-org/warehouse")
		if len(res.Queued) != 0 {
			t.Errorf("queued %+v", res.Queued)
		}
		h.expectQueuedCalls(1)
	})
}

func TestNoProjects(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		for _, file := range []string{"pull_request.opened.json", "pull_request.closed.merged.json", "push.main.json"} {
			res := h.handle(event(t, file))
			expectIgnored(t, res, "no project uses the repository octo-org/shop")
			if len(res.Queued)+len(res.TornDown)+len(res.Scheduled) != 0 {
				t.Errorf("%s: result %+v", file, res)
			}
		}
		h.expectQueuedCalls(0)
	})
}

func TestOtherEvents(t *testing.T) {
	t.Parallel()
	// No store call is needed: a store-less dispatcher would panic if one
	// were made.
	d := &dispatch.Dispatcher{Log: slog.New(slog.DiscardHandler),
		Deployments: &deployment.Service{Runner: queueRefuser{t: t}}}
	issues, err := github.Parse("issues", []byte(`{"action":"opened"}`))
	if err != nil {
		t.Fatal(err)
	}
	ping := event(t, "ping.json")
	for _, tc := range []struct {
		ev   github.Event
		want string
	}{
		{issues, `event "issues" is not one Liftoff acts on (pull_request, push)`},
		{ping, `event "ping" is not one Liftoff acts on (pull_request, push)`},
	} {
		res, err := d.Handle(context.Background(), tc.ev)
		if err != nil {
			t.Fatal(err)
		}
		if res.Event != tc.ev.Name || len(res.Queued)+len(res.TornDown)+len(res.Scheduled) != 0 {
			t.Errorf("result = %+v", res)
		}
		expectIgnored(t, res, tc.want)
	}
}

// The answer's lists are JSON arrays even when empty.
func TestResultJSON(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		h.project("https://github.com/octo-org/shop.git", "", normal("production", "main", "push"))
		// A pull request concerns no normal environment.
		b, err := json.Marshal(h.handle(event(t, "pull_request.opened.json")))
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"event":"pull_request","action":"opened","queued":[],"tornDown":[],"teardownScheduled":[],"ignored":[]}`; string(b) != want {
			t.Errorf("JSON = %s\nwant   %s", b, want)
		}
	})
}

// sameElements reports whether a and b hold the same elements, in any order.
func sameElements[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	rest := slices.Clone(b)
	for _, x := range a {
		i := slices.Index(rest, x)
		if i < 0 {
			return false
		}
		rest = slices.Delete(rest, i, i+1)
	}
	return true
}

// TestPullRequestPastThePreviewLimit: an event that would start one preview
// instance past the limit queues nothing and says why; once one is torn
// down, it deploys.
func TestPullRequestPastThePreviewLimit(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		h.d.Deployments.Limits = deployment.Limits{MaxPreviews: 1}
		p, envs := h.project("https://github.com/octo-org/shop.git", "", preview("preview", "push", ""))
		env := envs["preview"].ID
		h.upsert(env, 7, t0)
		res := h.handle(event(t, "pull_request.opened.json"))
		if len(res.Queued) != 0 || len(h.deployments(p.ID)) != 0 {
			t.Fatalf("queued %+v past the limit", res.Queued)
		}
		expectIgnored(t, res, fmt.Sprintf("preview PR #42: Preview environment %d has 1 live preview instance (pull requests whose first deployment is queued count), "+
			"its limit is 1 (--max-previews-per-environment): PR #42 gets none until one is torn down, "+
			"with `liftoff previews delete --env %d --pr NUMBER` or DELETE /v1/environments/%d/previews/{prNumber}", env, env, env))
		h.expectQueuedCalls(0)

		if _, err := deployment.TearDownPreview(h.ctx, h.st, env, 7, t0); err != nil {
			t.Fatal(err)
		}
		if res := h.handle(event(t, "pull_request.opened.json")); len(res.Queued) != 1 {
			t.Fatalf("after a teardown: %+v", res)
		}
	})
}

// fromJSON decodes a fixture written as JSON.
func fromJSON[T any](s string) T {
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(fmt.Sprintf("fixture %s: %v", s, err))
	}
	return v
}

type tornDown struct {
	env int64
	pr  int
}

// tornDownRecorder records the teardowns the runner is told of.
type tornDownRecorder struct {
	deployment.NoRunner
	calls []tornDown
}

func (r *tornDownRecorder) InstanceTornDown(env int64, pr int) {
	r.calls = append(r.calls, tornDown{env, pr})
}
