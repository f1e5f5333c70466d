package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// within bounds a wait on a signal, so that a broken build fails instead of
// hanging; it is never what a test waits for.
const within = 2 * time.Minute

// serveAPI serves another API on st (with the harness's hooks recorder)
// with the given deploy hook answers.
func serveAPI(t *testing.T, h *harness, st store.Store, success api.HookSuccessType, draining bool) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	git := gitsource.NewManager(filepath.Join(t.TempDir(), "mirrors"), log, tempDirPolicy(t))
	vars := variablesOn(t, st)
	a := api.New(api.Deps{Deployments: deploymentsOn(st), Variables: vars, Projects: project.NewService(st, git, vars.Keys, log, cuid.New), APIKeys: apikey.NewService(st, cuid.New),
		Log: log, Hooks: newHooks(t, st, h.rec, testHooks(), log), Draining: func() bool { return draining },
		HookSuccess: success})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return srv
}

// planAsTheEngine moves the oldest PENDING deployment on as the engine does
// when it starts: claimed, then a service deployment for each service of
// its environment, then BUILDING. It returns the deployment and the id of
// each service deployment by service.
func (h *harness) planAsTheEngine(ctx context.Context) (liftoff.Deployment, map[string]string) {
	h.t.Helper()
	now := time.Now()
	d, err := h.store.ClaimDeployment(ctx, store.ClaimParams{Owner: "test", At: now, LeaseUntil: now.Add(time.Hour)})
	if err != nil {
		h.t.Fatalf("claim a deployment: %v", err)
	}
	h.log(ctx, d.ID, "", "Fetching "+h.repo.Dir)
	env, err := h.c.Environment(ctx, d.EnvironmentID)
	if err != nil {
		h.t.Fatal(err)
	}
	ids := map[string]string{}
	for i, svc := range env.Services {
		sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: svc.ServiceID, ServiceGivenID: svc.ServiceGivenID,
			ServiceName: svc.ServiceName, ServiceType: svc.Type, Status: liftoff.StatusPending, Reason: "forced",
			EnvironmentID: d.EnvironmentID, PRNumber: d.PRNumber, GitCommit: h.repo.Head(), Position: i, CreatedAt: now}
		if err := h.store.InsertServiceDeployment(ctx, sd); err != nil {
			h.t.Fatal(err)
		}
		ids[svc.ServiceGivenID] = sd.ID
	}
	if err := h.store.UpdateRunningDeployment(ctx, store.UpdateRunningParams{ID: d.ID, Status: liftoff.StatusBuilding, GitCommit: h.repo.Head()}); err != nil {
		h.t.Fatal(err)
	}
	return d, ids
}

// log stores one line of a deployment's output ("" for the engine's own).
func (h *harness) log(ctx context.Context, deploymentID, serviceDeploymentID, text string) {
	h.t.Helper()
	if err := h.store.AppendLogs(ctx, []liftoff.LogLine{{DeploymentID: deploymentID, ServiceDeploymentID: serviceDeploymentID,
		At: time.Now(), Text: text}}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) finish(ctx context.Context, id string) {
	h.t.Helper()
	if ok, err := h.store.FinishDeployment(ctx, store.FinishDeploymentParams{ID: id, Status: liftoff.StatusSuccess, At: time.Now()}); err != nil || !ok {
		h.t.Fatalf("finish deployment %s: %v %v", id, ok, err)
	}
}

// events follows a deployment's logs over the event stream; it returns once
// the stream has begun, with a channel of its data lines ("end: STATUS" for
// the end event), closed when the stream ends.
func (h *harness) events(ctx context.Context, id string) <-chan string {
	h.t.Helper()
	// A test that fails before the deployment ends must not leave the
	// stream open: the server's Close would wait for it.
	ctx, cancel := context.WithCancel(ctx)
	h.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+"/v1/deployments/"+id+"/logs?follow=true", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.key)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("follow logs: %d", resp.StatusCode)
	}
	out := make(chan string, 100)
	go func() {
		defer close(out)
		defer func() { _ = resp.Body.Close() }()
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			switch l := sc.Text(); {
			case strings.HasPrefix(l, "event: "):
				event = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "data: ") && event != "":
				out <- event + ": " + strings.TrimPrefix(l, "data: ")
			case strings.HasPrefix(l, "data: "):
				out <- strings.TrimPrefix(l, "data: ")
			case l == "":
				event = ""
			}
		}
	}()
	return out
}

func expectEvent(t *testing.T, events <-chan string, want string) {
	t.Helper()
	select {
	case got, ok := <-events:
		if !ok {
			t.Fatalf("the stream ended; want %q", want)
		}
		if got != want {
			t.Fatalf("event %q, want %q", got, want)
		}
	case <-time.After(within):
		t.Fatalf("no event within %s; want %q", within, want)
	}
}

// TestLogLabelsFollowedFromTheStart follows a deployment's output from
// before it has service deployments (right after the hook call): each
// service's lines carry its name, on the live stream and read later.
func TestLogLabelsFollowedFromTheStart(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			secret, _ := h.createHook("production")
			id := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], secret), nil)
			events := h.events(ctx, id)

			d, sds := h.planAsTheEngine(ctx)
			if d.ID != id {
				t.Fatalf("claimed %s, want %s", d.ID, id)
			}
			expectEvent(t, events, "[deploy] Fetching "+h.repo.Dir)
			h.log(ctx, id, sds["api"], "building api")
			h.log(ctx, id, sds["site"], "building site")
			h.log(ctx, id, "", "done")
			expectEvent(t, events, "[api] building api")
			expectEvent(t, events, "[site] building site")
			expectEvent(t, events, "[deploy] done")
			h.finish(ctx, id)
			expectEvent(t, events, "end: SUCCESS")

			text, err := h.c.Logs(ctx, id, "")
			if want := "[deploy] Fetching " + h.repo.Dir + "\n[api] building api\n[site] building site\n[deploy] done\n"; err != nil || text != want {
				t.Fatalf("logs read later = %q, %v; want %q", text, err, want)
			}
		})
	}
}

// readSignal is a store that tells, on reads, each time a deployment is
// read: the test's way to know a request is waiting inside the handler.
type readSignal struct {
	store.Store
	id    string
	reads chan struct{}
}

func (s *readSignal) GetDeployment(ctx context.Context, p store.GetDeploymentParams) (liftoff.Deployment, error) {
	d, err := s.Store.GetDeployment(ctx, p)
	if p.ID == s.id {
		select {
		case s.reads <- struct{}{}:
		default: // the test has long had what it waits for
		}
	}
	return d, err
}

// TestServiceLogsWaitForThePlan follows one service's output right after the
// hook call, before the deployment has decided its services: the answer
// waits for them, then follows; a deployment that ends without the service
// says so.
func TestServiceLogsWaitForThePlan(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			secret, _ := h.createHook("production")
			id := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], secret), nil)

			// Without follow, a deployment that has not started says so.
			var ce *client.Error
			if _, err := h.c.Logs(ctx, id, "api"); !errors.As(err, &ce) || ce.Status != 404 ||
				ce.Msg != fmt.Sprintf(`Deployment %s has no service "api" yet: it is PENDING and decides its services when it starts; `+
					`follow its logs (follow=true) to wait for them`, id) {
				t.Fatalf("logs of a service of a PENDING deployment: %v", err)
			}

			follow := func(id, service string) (reads chan struct{}, done chan error, lines *[]string) {
				reads, done, lines = make(chan struct{}, 100), make(chan error, 1), &[]string{}
				srv := serveAPI(t, h, &readSignal{Store: h.store, id: id, reads: reads}, api.HookSuccessString, false)
				// Cancelled before the server closes, should the test fail
				// with the request still waiting.
				ctx, cancel := context.WithCancel(ctx)
				t.Cleanup(cancel)
				go func() {
					status, err := client.New(srv.URL, h.key).FollowLogs(ctx, id, service, func(l string) { *lines = append(*lines, l) })
					if err == nil {
						*lines = append(*lines, "end: "+status)
					}
					done <- err
				}()
				// The handler reads the deployment once to authorize, then
				// again as it waits for its plan.
				for n := 0; n < 2; n++ {
					select {
					case <-reads:
					case err := <-done:
						t.Fatalf("answered before the deployment had its services: %v %q", err, *lines)
					case <-time.After(within):
						t.Fatal("the request never read the deployment")
					}
				}
				return reads, done, lines
			}
			_, done, lines := follow(id, "api")
			_, sds := h.planAsTheEngine(ctx)
			h.log(ctx, id, sds["site"], "building site")
			h.log(ctx, id, sds["api"], "building api")
			h.finish(ctx, id)
			select {
			case err := <-done:
				if want := []string{"[api] building api", "end: SUCCESS"}; err != nil || !reflect.DeepEqual(*lines, want) {
					t.Fatalf("followed api: %q, %v; want %q", *lines, err, want)
				}
			case <-time.After(within):
				t.Fatal("the followed logs did not end with the deployment")
			}

			// A deployment that ends before it has the service.
			other := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s?force=true", h.env["production"], secret), nil)
			_, done, _ = follow(other, "api")
			if _, err := h.c.CancelDeployment(ctx, other); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.As(err, &ce) || ce.Status != 404 || ce.Msg != fmt.Sprintf(`Deployment %s has no service "api"`, other) {
					t.Fatalf("following a service of a deployment cancelled before it started: %v", err)
				}
			case <-time.After(within):
				t.Fatal("the follower did not see the deployment end")
			}
		})
	}
}

// decode reads a JSON body into a map.
func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return m
}

// TestListCarriesServiceDeployments: each deployment of GET /v1/deployments
// is exactly what Get Deployment answers for it.
func TestListCarriesServiceDeployments(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			secret, _ := h.createHook("production")
			h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], secret), nil)
			_, sds := h.planAsTheEngine(ctx)
			h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s?force=true", h.env["production"], secret), nil)
			key := http.Header{"Authorization": {"Bearer " + h.key}}
			status, _, body := h.call("GET", "/v1/deployments", key)
			if status != 200 {
				t.Fatalf("list: %d %s", status, body)
			}
			list := decode(t, body)["deployments"].([]any)
			if len(list) != 2 {
				t.Fatalf("%d deployments listed, want 2: %s", len(list), body)
			}
			for _, item := range list {
				listed := item.(map[string]any)
				id := listed["deploymentId"].(string)
				_, _, one := h.call("GET", "/v1/deployments/"+id, key)
				if got := decode(t, one); !reflect.DeepEqual(listed, got) {
					t.Errorf("deployment %s listed as\n%v\nGet Deployment answers\n%v", id, listed, got)
				}
			}
			planned := list[1].(map[string]any)["serviceDeployments"].([]any)
			if len(planned) != len(sds) || len(sds) != 2 {
				t.Errorf("the planned deployment is listed with %d service deployments, want 2", len(planned))
			}
		})
	}
}

// TestServicesLiftoffDoesNotRun: the environment shows the services of
// types Liftoff does not run, and the managed ones it does not make, not
// deployed and why.
func TestServicesLiftoffDoesNotRun(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			key := http.Header{"Authorization": {"Bearer " + h.key}}
			services := func(env int64) []any {
				t.Helper()
				status, _, body := h.call("GET", fmt.Sprintf("/v1/environments/%d", env), key)
				if status != 200 {
					t.Fatalf("environment %d: %d %s", env, status, body)
				}
				return decode(t, body)["services"].([]any)
			}
			// The elasticache service is a managed resource: a service of
			// its own, not made here, where no Redis server was given.
			got := services(h.env["data"])
			if len(got) == 2 {
				cache := got[0].(map[string]any)
				if !strings.HasPrefix(cache["serviceId"].(string), "c") {
					t.Errorf("the cache has no service id: %v", cache)
				}
				delete(cache, "serviceId")
			}
			want := []any{
				map[string]any{"serviceGivenId": "cache", "serviceName": "Cache", "type": "elasticache", "deployed": false,
					"reason": "no managed Redis configured (liftoff serve --managed-redis-url)", "restartCount": float64(0)},
				map[string]any{"serviceId": "", "serviceGivenId": "db", "serviceName": "DB", "type": "rds", "deployed": false,
					"reason": "type rds does not run on Liftoff", "restartCount": float64(0)},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("services of data = %v, want %v", got, want)
			}
			prod := services(h.env["production"])
			for _, s := range prod {
				s := s.(map[string]any)
				if s["deployed"] != true || s["reason"] != nil || !strings.HasPrefix(s["serviceId"].(string), "c") {
					t.Errorf("a service Liftoff deploys = %v", s)
				}
			}
			if len(prod) != 2 {
				t.Errorf("production has %d services, want 2", len(prod))
			}
		})
	}
}

// TestHookSuccessType answers every kind of hook call with each setting,
// byte for byte.
func TestHookSuccessType(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks(func(c *hook.Config) { c.FailuresPerMinute = 1000 }))
			ctx := context.Background()
			prod, _ := h.createHook("production")
			paused, pausedID := h.createHook("production")
			if _, err := h.c.SetHookPaused(ctx, pausedID, true); err != nil {
				t.Fatal(err)
			}
			data, _ := h.createHook("data")
			p := h.env["production"]
			for _, c := range []struct {
				typ       api.HookSuccessType
				yes, no   string
				successRE string
			}{
				{api.HookSuccessString, `"true"`, `"false"`, `^\{"success": "true", "deploymentId": "(c[a-z0-9]{24})"\}$`},
				{api.HookSuccessBoolean, `true`, `false`, `^\{"success": true, "deploymentId": "(c[a-z0-9]{24})"\}$`},
			} {
				t.Run(string(c.typ), func(t *testing.T) {
					srv := serveAPI(t, h, h.store, c.typ, false)
					draining := serveAPI(t, h, h.store, c.typ, true)
					send := func(srv *httptest.Server, method, path string) (int, string) {
						t.Helper()
						req, err := http.NewRequest(method, srv.URL+path, nil)
						if err != nil {
							t.Fatal(err)
						}
						resp, err := srv.Client().Do(req)
						if err != nil {
							t.Fatal(err)
						}
						defer func() { _ = resp.Body.Close() }()
						b, _ := io.ReadAll(resp.Body)
						return resp.StatusCode, string(b)
					}
					status, body := send(srv, "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", p, prod))
					m := regexp.MustCompile(c.successRE).FindStringSubmatch(body)
					if status != 200 || m == nil {
						t.Fatalf("success: %d %s", status, body)
					}
					var a client.HookAnswer
					if err := json.Unmarshal([]byte(body), &a); err != nil || a.Success != "true" || a.DeploymentID != m[1] {
						t.Errorf("the client reads %s as %+v, %v", body, a, err)
					}
					for _, e := range []struct {
						name, method, path string
						srv                *httptest.Server
						status             int
						msg                string
					}{
						{"not found", "GET", fmt.Sprintf("/api/deploy-hook/%d/lfh_nope", p), srv, 404, "Deploy hook not found"},
						{"bad force", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s?force=maybe", p, prod), srv, 400, `force must be true, false, 1 or 0, got \"maybe\"`},
						{"paused", "POST", fmt.Sprintf("/api/deploy-hook/%d/%s", p, paused), srv, 409, `Deploy hook \"CI production\" is paused; resume it to deploy`},
						{"no services", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["data"], data), srv, 409,
							fmt.Sprintf("Environment %d (data) has no services Liftoff runs: db is rds, cache is elasticache (not run by Liftoff)", h.env["data"])},
						{"wrong method", "PUT", fmt.Sprintf("/api/deploy-hook/%d/%s", p, prod), srv, 405, "Method PUT is not allowed; call deploy hooks with GET or POST"},
						{"shutting down", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", p, prod), draining, 503, "Liftoff is shutting down; nothing was queued, retry in a moment"},
					} {
						status, body := send(e.srv, e.method, e.path)
						if want := `{"success": ` + c.no + `, "error": "` + e.msg + `"}`; status != e.status || body != want {
							t.Errorf("%s: %d %s, want %d %s", e.name, status, body, e.status, want)
						}
						if err := json.Unmarshal([]byte(body), &a); err != nil || a.Success != "false" {
							t.Errorf("the client reads %s as %+v, %v", body, a, err)
						}
					}
				})
			}
		})
	}
}

// TestGitFieldsAreStrings: gitCommit and gitBranch are strings whatever the
// deployment's state, as Flightcontrol's examples show them.
func TestGitFieldsAreStrings(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			prod, _ := h.createHook("production")
			preview, _ := h.createHook("preview")
			key := http.Header{"Authorization": {"Bearer " + h.key}}
			get := func(id string) map[string]any {
				t.Helper()
				_, _, body := h.call("GET", "/v1/deployments/"+id, key)
				return decode(t, body)
			}
			pending := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s?commit=%s", h.env["production"], prod, h.repo.Head()[:10]), nil)
			if d := get(pending); d["gitCommit"] != "" || d["gitBranch"] != "main" {
				t.Errorf("a PENDING deployment: gitCommit %#v, gitBranch %#v; want \"\" and \"main\"", d["gitCommit"], d["gitBranch"])
			}
			pr := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s/7/%s", h.env["preview"], preview, strings.Repeat("a", 40)), nil)
			if d := get(pr); d["gitCommit"] != "" || d["gitBranch"] != "" {
				t.Errorf("a preview deployment called by its hook: gitCommit %#v, gitBranch %#v; want \"\" and \"\"", d["gitCommit"], d["gitBranch"])
			}
			// A pull request event names the branch before the deployment starts.
			gh := liftoff.Deployment{ID: cuid.New(), ProjectID: h.project.ProjectID, EnvironmentID: h.env["preview"], PRNumber: 8,
				RepoURL: h.repo.Dir, RequestedCommit: strings.Repeat("b", 40), TriggerType: liftoff.TriggerGitHub, Status: liftoff.StatusPending,
				TriggerDetail: liftoff.TriggerDetail{Event: "pull_request", Action: "opened", HeadBranch: "feature/login", BaseBranch: "main"},
				CreatedAt:     time.Now()}
			if err := h.store.InsertDeployment(ctx, gh); err != nil {
				t.Fatal(err)
			}
			if d := get(gh.ID); d["gitCommit"] != "" || d["gitBranch"] != "feature/login" {
				t.Errorf("a preview deployment of a pull request event: gitCommit %#v, gitBranch %#v", d["gitCommit"], d["gitBranch"])
			}
			running, _ := h.planAsTheEngine(ctx)
			if d := get(running.ID); d["gitCommit"] != h.repo.Head() {
				t.Errorf("a running deployment's gitCommit = %#v, want %s", d["gitCommit"], h.repo.Head())
			}
		})
	}
}
