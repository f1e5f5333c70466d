package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

var successBody = regexp.MustCompile(`^\{"success": "true", "deploymentId": "(c[a-z0-9]{24})"\}$`)

// TestHookCallRefusals sends every kind of bad call and checks the status,
// that the message names the problem, and that nothing was queued.
func TestHookCallRefusals(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks(func(c *hook.Config) { c.FailuresPerMinute = 1000 }))
			ctx := context.Background()
			prod, _ := h.createHook("production")
			staging, _ := h.createHook("staging")
			preview, _ := h.createHook("preview")
			paused, pausedID := h.createHook("production")
			if _, err := h.c.SetHookPaused(ctx, pausedID, true); err != nil {
				t.Fatal(err)
			}
			deleted, deletedID := h.createHook("production")
			if err := h.c.DeleteHook(ctx, deletedID); err != nil {
				t.Fatal(err)
			}
			data, _ := h.createHook("data")
			// An environment that leaves the config is deleted; its hook stays.
			gone, _ := h.createHook("staging")
			h.repo.Commit("drop staging", map[string]string{"liftoff.json": strings.Replace(testConfig,
				`{"id": "staging", "name": "Staging", "source": {"branch": "develop"}, "services": [
      {"id": "api", "name": "API", "type": "web", "startCommand": "./api"}
    ]},`, "", 1)})
			if _, err := h.c.SyncProject(ctx, h.project.ProjectID); err != nil {
				t.Fatal(err)
			}
			p, s, d, pv := h.env["production"], h.env["staging"], h.env["data"], h.env["preview"]
			sha := strings.Repeat("a", 40)
			cases := []struct {
				name, method, path string
				header             http.Header
				status             int
				want               string // in the error message
			}{
				{"non-integer envId", "GET", "/api/deploy-hook/abc/" + prod, nil, 400, "envId must be a positive integer"},
				{"negative envId", "GET", "/api/deploy-hook/-1/" + prod, nil, 400, "envId must be a positive integer"},
				{"zero envId", "GET", "/api/deploy-hook/0/" + prod, nil, 400, "envId must be a positive integer"},
				{"envId overflows", "GET", "/api/deploy-hook/99999999999999999999/" + prod, nil, 400, "envId must be a positive integer"},
				{"6-character SHA", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s/5/abcdef", pv, preview), nil, 400, "commitSHA must be 7 to 40 hexadecimal characters"},
				{"41-character SHA", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s/5/%s", pv, preview, strings.Repeat("a", 41)), nil, 400, "got 41 characters"},
				{"non-hex SHA", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s/5/abcdefg", pv, preview), nil, 400, "commitSHA must be hexadecimal"},
				{"non-integer prNumber", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s/five/%s", pv, preview, sha), nil, 400, "prNumber must be a positive integer"},
				{"zero prNumber", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s/0/%s", pv, preview, sha), nil, 400, "prNumber must be a positive integer"},
				{"PR number without SHA", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s/5", pv, preview), nil, 400, "needs a commit SHA"},
				{"force=maybe", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s?force=maybe", p, prod), nil, 400, `force must be true, false, 1 or 0, got "maybe"`},
				{"empty force", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s?force=", p, prod), nil, 400, "force must be true, false, 1 or 0"},
				{"repeated force", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s?force=true&force=false", p, prod), nil, 400, "force was given 2 times"},
				{"bad commit", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s?commit=xyz", p, prod), nil, 400, "commit must be 7 to 40"},
				{"bad branch", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s?branch=a..b", p, prod), nil, 400, "not a valid branch name"},
				{"commit on a preview hook", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s/5/%s?commit=%s", pv, preview, sha, sha), nil, 400, "commit is not accepted by a preview deploy hook"},
				{"malformed query", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s?force=%%zz", p, prod), nil, 400, "query string is malformed"},
				{"over-long path", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", p, strings.Repeat("x", 600)), nil, 400, "the most accepted is 512"},
				{"percent-encoded slash", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s%%2Fx", p, prod), nil, 400, "percent-encoded slash"},
				{"too long Idempotency-Key", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", p, prod), http.Header{"Idempotency-Key": {strings.Repeat("k", 256)}}, 400, "Idempotency-Key must be at most 255"},
				{"preview environment, normal form", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", pv, preview), nil, 400, "is a preview environment"},
				{"normal environment, preview form", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s/5/%s", p, prod, sha), nil, 400, "is not a preview environment"},
				{"wrong secret", "GET", fmt.Sprintf("/api/deploy-hook/%d/lfh_nope", p), nil, 404, "Deploy hook not found"},
				{"unknown environment", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", 99999, prod), nil, 404, "Deploy hook not found"},
				{"hook of another environment", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", p, staging), nil, 404, "Deploy hook not found"},
				{"deleted hook", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", p, deleted), nil, 404, "Deploy hook not found"},
				{"no secret", "GET", fmt.Sprintf("/api/deploy-hook/%d", p), nil, 404, "Deploy hook not found"},
				{"empty secret", "GET", fmt.Sprintf("/api/deploy-hook/%d//", p), nil, 404, "Deploy hook not found"},
				{"too many parts", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s/5/%s/x", pv, preview, sha), nil, 404, "Deploy hook not found"},
				{"paused hook", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", p, paused), nil, 409, "is paused"},
				{"deleted environment", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", s, gone), nil, 409, "was deleted"},
				{"environment without services", "GET", fmt.Sprintf("/api/deploy-hook/%d/%s", d, data), nil, 409,
					fmt.Sprintf("Environment %d (data) has no services Liftoff runs: db is rds, cache is elasticache (not run by Liftoff)", d)},
				{"PUT", "PUT", fmt.Sprintf("/api/deploy-hook/%d/%s", p, prod), nil, 405, "Method PUT is not allowed"},
				{"DELETE", "DELETE", fmt.Sprintf("/api/deploy-hook/%d/%s", p, prod), nil, 405, "Method DELETE is not allowed"},
			}
			notFoundBodies := map[string]bool{}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					status, header, body := callT(t, h, c.method, c.path, c.header)
					if status != c.status {
						t.Fatalf("status = %d, want %d; body %s", status, c.status, body)
					}
					if ct := header.Get("Content-Type"); ct != "application/json" {
						t.Errorf("Content-Type = %q", ct)
					}
					var a client.HookAnswer
					if err := json.Unmarshal([]byte(body), &a); err != nil || a.Success != "false" || !strings.Contains(a.Error, c.want) {
						t.Fatalf("body = %s, want success \"false\" and an error containing %q", body, c.want)
					}
					if status == 405 && header.Get("Allow") != "GET, POST" {
						t.Errorf("Allow = %q", header.Get("Allow"))
					}
					if status != 405 && header.Get("RateLimit-Limit") == "" {
						t.Errorf("no RateLimit-Limit header")
					}
					if status == 404 {
						notFoundBodies[body] = true
					}
					// Secrets never come back in an error.
					for _, secret := range []string{prod, staging, preview, paused, deleted, data, gone} {
						if strings.Contains(body, secret) {
							t.Fatalf("body repeats a secret: %s", body)
						}
					}
				})
			}
			if len(notFoundBodies) != 1 {
				t.Errorf("404 bodies differ: %v", notFoundBodies)
			}
			if ds := h.deployments(); len(ds) != 0 {
				t.Fatalf("refused calls queued %d deployments", len(ds))
			}
		})
	}
}

func (h *harness) trigger(path string, header http.Header) string {
	h.t.Helper()
	status, _, body := h.call("GET", path, header)
	m := successBody.FindStringSubmatch(body)
	if status != 200 || m == nil {
		h.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return m[1]
}

// TestHookCallDeploys covers the success path: the exact body, GET and POST,
// joining and superseding PENDING deployments, previews, and idempotency.
func TestHookCallDeploys(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			prod, prodID := h.createHook("production")
			preview, _ := h.createHook("preview")
			base := fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], prod)

			first := h.trigger(base, nil)
			status, header, body := h.call("POST", base+"?force=TRUE", nil)
			if status != 200 || header.Get("Content-Type") != "application/json" || body != `{"success": "true", "deploymentId": "`+first+`"}` {
				t.Fatalf("POST joining the PENDING deployment: %d %s", status, body)
			}
			d, err := h.c.Deployment(ctx, first)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != "PENDING" || !d.Force || d.EnvironmentGivenID != "production" || d.IsPreviewEnvironment || d.PRNumber != nil ||
				d.GitBranch != "main" || d.Trigger.Type != "deploy_hook" || *d.Trigger.HookID != prodID ||
				d.GitCommit != "" || d.RepoURL != h.repo.Dir || d.ProjectID != h.project.ProjectID {
				t.Fatalf("deployment = %+v", d)
			}
			// A hook holder can read what it started.
			if _, err := h.c.WithHookSecret(prod).Deployment(ctx, first); err != nil {
				t.Fatalf("read with the hook's secret: %v", err)
			}

			// An explicit commit supersedes the branch-head deployment.
			commit := h.repo.Head()
			second := h.trigger(base+"?commit="+commit[:10], nil)
			if second == first {
				t.Fatal("a different commit joined the PENDING deployment")
			}
			old, _ := h.c.Deployment(ctx, first)
			if old.Status != "CANCELLED" || len(old.Error) != 1 || old.Error[0]["CANCELLED"] != "superseded by "+second {
				t.Fatalf("superseded deployment = %+v", old)
			}
			// The same commit, full length, joins it.
			if again := h.trigger(base+"?commit="+commit, nil); again != second {
				t.Fatalf("the same commit made a new deployment %s, want %s", again, second)
			}

			// Previews: one PENDING deployment per PR; PRs are independent.
			pbase := fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["preview"], preview)
			pr5 := h.trigger(pbase+"/5/"+strings.Repeat("a", 40), nil)
			pr6 := h.trigger(pbase+"/6/"+strings.Repeat("b", 40), nil)
			if pr5 == pr6 {
				t.Fatal("two PRs share a deployment")
			}
			if h.trigger(pbase+"/5/"+strings.Repeat("a", 12), nil) != pr5 {
				t.Fatal("the same PR and commit (short SHA) did not join")
			}
			pr5b := h.trigger(pbase+"/5/"+strings.Repeat("c", 40), nil)
			if pr5b == pr5 {
				t.Fatal("a new commit of PR 5 joined the old one")
			}
			pd, _ := h.c.Deployment(ctx, pr5b)
			if !pd.IsPreviewEnvironment || pd.PRNumber == nil || *pd.PRNumber != 5 || pd.GitBranch != "" {
				t.Fatalf("preview deployment = %+v", pd)
			}
			if old, _ := h.c.Deployment(ctx, pr5); old.Status != "CANCELLED" {
				t.Fatalf("PR 5's older PENDING deployment is %s", old.Status)
			}
			if other, _ := h.c.Deployment(ctx, pr6); other.Status != "PENDING" {
				t.Fatalf("PR 6 was touched by PR 5: %s", other.Status)
			}

			// Idempotency-Key: a repeat answers the same id and queues nothing,
			// even when it asks for something else.
			key := http.Header{"Idempotency-Key": {"build-42"}}
			k1 := h.trigger(base+"?commit="+strings.Repeat("d", 40), key)
			k2 := h.trigger(base+"?commit="+strings.Repeat("e", 40), key)
			if k1 != k2 {
				t.Fatalf("Idempotency-Key answered %s then %s", k1, k2)
			}
			if d, _ := h.c.Deployment(ctx, k1); d.Status != "PENDING" {
				t.Fatalf("the idempotent repeat superseded the deployment: %s", d.Status)
			}
			if k3 := h.trigger(base+"?commit="+strings.Repeat("e", 40), http.Header{"Idempotency-Key": {"build-43"}}); k3 == k1 {
				t.Fatal("another Idempotency-Key answered the same deployment")
			}
			if n := len(h.deployments()); n != 7 {
				t.Fatalf("%d deployments stored, want 7", n)
			}

			// Calls are recorded per hook, with their outcome.
			h.rec.Flush(ctx)
			calls, err := h.c.HookCalls(ctx, prodID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(calls) != 7 || calls[0].Status != 200 || calls[len(calls)-1].Outcome != "queued" || calls[len(calls)-2].Outcome != "joined" ||
				calls[len(calls)-1].Address != "127.0.0.1" {
				t.Fatalf("calls = %+v", calls)
			}
			hk, err := h.c.Hook(ctx, prodID)
			if err != nil || hk.UseCount != 7 || hk.LastUsedAt == nil || *hk.LastCallerAddress != "127.0.0.1" {
				t.Fatalf("hook usage = %+v, %v", hk, err)
			}
		})
	}
}

// TestHookRateLimits checks the per-hook and per-address limits and their
// headers.
func TestHookRateLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", testHooks(func(c *hook.Config) { c.PerHookPerMinute, c.FailuresPerMinute = 3, 2 }))
	prod, _ := h.createHook("production")
	base := fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], prod)
	for i := range 3 {
		status, header, _ := h.call("GET", base, nil)
		if status != 200 || header.Get("RateLimit-Limit") != "3" || header.Get("RateLimit-Remaining") != fmt.Sprint(2-i) || header.Get("RateLimit-Reset") == "" {
			t.Fatalf("call %d: %d %v", i, status, header)
		}
	}
	status, header, body := h.call("GET", base, nil)
	if status != 429 || header.Get("Retry-After") == "" || header.Get("RateLimit-Remaining") != "0" || !strings.Contains(body, "more than 3 times a minute") {
		t.Fatalf("4th call: %d %v %s", status, header, body)
	}
	// Failed calls from one address: two 404s, then wrong calls are refused.
	staging, _ := h.createHook("staging")
	bad := fmt.Sprintf("/api/deploy-hook/%d/lfh_wrong", h.env["production"])
	for range 2 {
		if status, _, _ := h.call("GET", bad, nil); status != 404 {
			t.Fatalf("wrong secret: %d", status)
		}
	}
	status, header, body = h.call("GET", bad, nil)
	if status != 429 || !strings.Contains(body, "Too many failed deploy hook calls") || header.Get("RateLimit-Limit") != "2" {
		t.Fatalf("3rd failure: %d %v %s", status, header, body)
	}
	if retry, err := time.ParseDuration(header.Get("Retry-After") + "s"); err != nil || retry <= 0 || retry > 30*time.Second {
		t.Fatalf("Retry-After = %q", header.Get("Retry-After"))
	}
	// A call with a valid secret is never refused by the failure limit: it
	// shows its hook's quota.
	status, header, body = h.call("GET", fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["staging"], staging), nil)
	if status != 200 || header.Get("RateLimit-Limit") != "3" {
		t.Fatalf("a valid call from an address over its failure limit: %d %v %s", status, header, body)
	}
	if status, _, _ := h.call("GET", bad, nil); status != 429 {
		t.Fatalf("a wrong call after a valid one: %d, want 429", status)
	}
}
