package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// target is what a request of the per-role table is about.
type target int

const (
	own     target = iota // an environment the deploy key names
	other                 // an environment it does not name
	missing               // a resource that does not exist
)

// scoped is a harness with a key of each scope: the deploy key names
// production and the preview environment, not staging.
type scoped struct {
	*harness
	deployKey, readKey client.APIKey
	adminKeyID         string
}

func newScoped(t *testing.T, dialect string) *scoped {
	t.Helper()
	ctx := context.Background()
	h := newHarness(t, dialect, testHooks(func(c *hook.Config) { c.PerHookPerMinute, c.FailuresPerMinute = 1000, 1000 }))
	s := &scoped{harness: h}
	var err error
	s.deployKey, err = h.c.CreateAPIKeyWith(ctx, client.NewAPIKey{Name: "CI", Scope: "deploy",
		EnvironmentIDs: []int64{h.env["preview"], h.env["production"]}})
	if err != nil || s.deployKey.Scope != "deploy" || len(s.deployKey.EnvironmentIDs) != 2 || !strings.HasPrefix(s.deployKey.Key, "lfk_") {
		t.Fatalf("create a deploy key: %+v %v", s.deployKey, err)
	}
	s.readKey, err = h.c.CreateAPIKeyWith(ctx, client.NewAPIKey{Name: "dashboard", Scope: "read"})
	if err != nil || s.readKey.Scope != "read" || len(s.readKey.EnvironmentIDs) != 0 {
		t.Fatalf("create a read key: %+v %v", s.readKey, err)
	}
	keys, err := h.c.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == "test" {
			s.adminKeyID = k.ID
		}
	}
	return s
}

// as returns a client with another key.
func (s *scoped) as(key string) *client.Client { return client.New(s.srv.URL, key) }

// TestScopesPerRoute sends, for every route of the table, a real request as
// each kind of key: admin, read, a deploy key on an environment it names, on
// one it does not name, and on a resource that does not exist. Each answer is
// checked against the status the route must give that key and validated
// against the OpenAPI document. A route without a case here fails the test.
func TestScopesPerRoute(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := newScoped(t, dialect)
			h := s.harness
			ctx := context.Background()
			oa := newOAChecker(t)

			envOf := func(tg target, preview bool) int64 {
				switch {
				case tg == other:
					return h.env["staging"]
				case tg == missing:
					return 99999
				case preview:
					return h.env["preview"]
				}
				return h.env["production"]
			}
			envName := func(tg target) string {
				if tg == other {
					return "staging"
				}
				return "production"
			}
			// One hook per environment triggers the deployments the cases use.
			triggers := map[string]string{}
			for _, env := range []string{"production", "staging"} {
				triggers[env], _ = h.createHook(env)
			}
			trigger := func(env string) string {
				return h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s", h.env[env], triggers[env]), nil)
			}
			// A finished deployment in production and in staging, for
			// redeploy and logs. Each is the only PENDING one when finished.
			finished := map[string]string{}
			for _, env := range []string{"production", "staging"} {
				trigger(env)
				finished[env] = h.finishDeployment().ID
			}
			hookIn := func(tg target) string {
				if tg == missing {
					return "cnope"
				}
				_, id := h.createHook(envName(tg))
				return id
			}
			// A webhook of the environment, made by the admin key.
			notificationIn := func(tg target) string {
				env := envOf(tg, false)
				id := "cnope"
				if tg != missing {
					c, err := h.c.CreateNotification(ctx, env, "https://hooks.example.com/liftoff", nil, "")
					if err != nil {
						t.Fatal(err)
					}
					id = c.ID
				}
				return fmt.Sprintf("/v1/environments/%d/notifications/%s", env, id)
			}
			deploymentIn := func(tg target) string {
				if tg == missing {
					return "cnope"
				}
				return trigger(envName(tg))
			}
			pr := 100
			previewIn := func(tg target) string {
				pr++
				if tg == own {
					if _, err := h.store.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: h.env["preview"], PRNumber: pr, At: time.Now()}); err != nil {
						t.Fatal(err)
					}
				}
				return fmt.Sprintf("/v1/environments/%d/previews/%d", envOf(tg, true), pr)
			}

			serviceIn := func(tg target) string {
				if tg == missing {
					return "cnope"
				}
				svcs, err := h.store.ListServices(ctx, store.ListServicesParams{EnvironmentID: envOf(tg, false)})
				if err != nil || len(svcs) == 0 {
					t.Fatalf("services of %s: %v, %v", envName(tg), svcs, err)
				}
				return svcs[0].ID
			}
			// scopeIn is a variables path and its scope for the client, in
			// the target's environment or service.
			scopeIn := func(tg target, service bool) (string, client.VariablesScope) {
				if service {
					id := serviceIn(tg)
					return "/v1/services/" + id, client.VariablesScope{ServiceID: id}
				}
				return fmt.Sprintf("/v1/environments/%d", envOf(tg, false)), client.VariablesScope{EnvironmentID: envOf(tg, false)}
			}
			// variableIn sets a variable the admin may delete afterwards.
			vars := 0
			variableIn := func(tg target, service bool) string {
				base, scope := scopeIn(tg, service)
				vars++
				name := fmt.Sprintf("V%d", vars)
				if tg != missing {
					if _, err := h.c.SetEnvVariables(ctx, scope, client.EnvVariables{PlainText: map[string]string{name: "x"}}); err != nil {
						t.Fatal(err)
					}
				}
				return base + "/env-variables/" + name
			}
			secretIn := func(tg target) string {
				base, scope := scopeIn(tg, false)
				vars++
				name := fmt.Sprintf("/app/S%d", vars)
				if tg != missing {
					if err := h.c.SetSecret(ctx, scope, name, "s3cret-value"); err != nil {
						t.Fatal(err)
					}
				}
				return base + "/secrets?name=" + url.QueryEscape(name)
			}
			projectVariable := func() string {
				vars++
				name := fmt.Sprintf("P%d", vars)
				if _, err := h.c.SetEnvVariables(ctx, client.VariablesScope{ProjectID: h.project.ProjectID}, client.EnvVariables{PlainText: map[string]string{name: "x"}}); err != nil {
					t.Fatal(err)
				}
				return "/v1/projects/" + h.project.ProjectID + "/env-variables/" + name
			}
			projectSecret := func() string {
				vars++
				name := fmt.Sprintf("P%d", vars)
				if err := h.c.SetSecret(ctx, client.VariablesScope{ProjectID: h.project.ProjectID}, name, "s3cret-value"); err != nil {
					t.Fatal(err)
				}
				return "/v1/projects/" + h.project.ProjectID + "/secrets?name=" + name
			}
			// A scheduler released in each environment, made again for each
			// request: a sync of the project (another case) deletes what its
			// config lacks.
			cronIn := func(tg target) string {
				if tg == missing {
					return "cnope"
				}
				return h.schedulerRelease(envName(tg))
			}
			executionIn := func(tg target) string {
				if tg == missing {
					return "cnope"
				}
				x, err := h.c.RunJob(ctx, cronIn(tg), "nightly", 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				return x.JobExecutionID
			}

			// An admin deletes and dumps a database when the test server
			// can make one; otherwise there is none (404).
			withDatabase := http.StatusNotFound
			if h.resources.Available()[config.ManagedPostgres] {
				withDatabase = http.StatusOK
			}
			started, deleted := 0, 0
			type want struct{ admin, read, deployOwn, deployOther int }
			cases := map[string]struct {
				req  func(tg target) (path, body string)
				want want
			}{
				"POST /v1/projects": {func(target) (string, string) {
					repo := gittest.New(t)
					repo.Commit("init", map[string]string{"liftoff.json": `{"environments":[{"id":"p","name":"P","source":{"branch":"main"},"services":[{"id":"w","name":"W","type":"worker","startCommand":"x"}]}]}`})
					return "/v1/projects", fmt.Sprintf(`{"name": "other", "repoUrl": %q}`, repo.Dir)
				}, want{201, 403, 403, 403}},
				"GET /v1/projects": {func(target) (string, string) { return "/v1/projects", "" }, want{200, 200, 403, 403}},
				"GET /v1/projects/{projectId}": {func(target) (string, string) { return "/v1/projects/" + h.project.ProjectID, "" },
					want{200, 200, 403, 403}},
				"DELETE /v1/projects/{projectId}": {func(target) (string, string) {
					repo := gittest.New(t)
					repo.Commit("init", map[string]string{"liftoff.json": `{"environments":[{"id":"p","name":"P","source":{"branch":"main"},"services":[{"id":"w","name":"W","type":"worker","startCommand":"x"}]}]}`})
					deleted++
					p, err := h.c.CreateProject(ctx, fmt.Sprintf("doomed-%d", deleted), repo.Dir, "")
					if err != nil {
						t.Fatal(err)
					}
					return "/v1/projects/" + p.ProjectID, ""
				}, want{204, 403, 403, 403}},
				"POST /v1/projects/{projectId}/sync": {func(target) (string, string) { return "/v1/projects/" + h.project.ProjectID + "/sync", "" },
					want{200, 403, 403, 403}},

				"GET /v1/environments/{environmentId}": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/environments/%d", envOf(tg, false)), ""
				}, want{200, 200, 200, 404}},
				"POST /v1/environments/{environmentId}/deploy-hooks": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/environments/%d/deploy-hooks", envOf(tg, false)), `{"name": "made by a scoped key"}`
				}, want{201, 403, 201, 404}},
				"GET /v1/environments/{environmentId}/deploy-hooks": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/environments/%d/deploy-hooks", envOf(tg, false)), ""
				}, want{200, 200, 200, 404}},
				"POST /v1/environments/{environmentId}/deployments": {func(tg target) (string, string) {
					started++ // another commit each time: each call queues a new deployment
					return fmt.Sprintf("/v1/environments/%d/deployments", envOf(tg, false)), fmt.Sprintf(`{"commit": "%040x"}`, started)
				}, want{201, 403, 201, 404}},
				"GET /v1/environments/{environmentId}/previews": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/environments/%d/previews", envOf(tg, true)), ""
				}, want{200, 200, 200, 404}},
				"DELETE /v1/environments/{environmentId}/previews/{prNumber}": {func(tg target) (string, string) {
					return previewIn(tg), ""
				}, want{200, 403, 200, 404}},
				"GET /v1/environments/{environmentId}/protection": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/environments/%d/protection", envOf(tg, true)), ""
				}, want{200, 200, 200, 404}},
				"PUT /v1/environments/{environmentId}/protection": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/environments/%d/protection", envOf(tg, true)), `{"mode": "public"}`
				}, want{200, 403, 200, 404}},
				"POST /v1/environments/{environmentId}/notifications": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/environments/%d/notifications", envOf(tg, false)), `{"url": "https://hooks.example.com/x"}`
				}, want{201, 403, 201, 404}},
				"GET /v1/environments/{environmentId}/notifications": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/environments/%d/notifications", envOf(tg, false)), ""
				}, want{200, 200, 200, 404}},
				"DELETE /v1/environments/{environmentId}/notifications/{notificationId}": {func(tg target) (string, string) {
					return notificationIn(tg), ""
				}, want{204, 403, 204, 404}},
				"POST /v1/environments/{environmentId}/notifications/{notificationId}/rotate": {func(tg target) (string, string) {
					return notificationIn(tg) + "/rotate", ""
				}, want{200, 403, 200, 404}},
				"GET /v1/environments/{environmentId}/notifications/{notificationId}/deliveries": {func(tg target) (string, string) {
					return notificationIn(tg) + "/deliveries", ""
				}, want{200, 200, 200, 404}},
				"POST /v1/environments/{environmentId}/share-links": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/environments/%d/share-links", envOf(tg, true)), `{"prNumber": 5, "host": "web.pr-5.preview.localhost"}`
				}, want{201, 403, 201, 404}},

				"GET /v1/deploy-hooks/{hookId}": {func(tg target) (string, string) { return "/v1/deploy-hooks/" + hookIn(tg), "" },
					want{200, 200, 200, 404}},
				"DELETE /v1/deploy-hooks/{hookId}": {func(tg target) (string, string) { return "/v1/deploy-hooks/" + hookIn(tg), "" },
					want{204, 403, 204, 404}},
				"POST /v1/deploy-hooks/{hookId}/rotate": {func(tg target) (string, string) {
					return "/v1/deploy-hooks/" + hookIn(tg) + "/rotate", `{"gracePeriodSeconds": 60}`
				}, want{200, 403, 200, 404}},
				"POST /v1/deploy-hooks/{hookId}/pause": {func(tg target) (string, string) { return "/v1/deploy-hooks/" + hookIn(tg) + "/pause", "" },
					want{200, 403, 200, 404}},
				"POST /v1/deploy-hooks/{hookId}/resume": {func(tg target) (string, string) { return "/v1/deploy-hooks/" + hookIn(tg) + "/resume", "" },
					want{200, 403, 200, 404}},
				"GET /v1/deploy-hooks/{hookId}/calls": {func(tg target) (string, string) { return "/v1/deploy-hooks/" + hookIn(tg) + "/calls", "" },
					want{200, 200, 200, 404}},

				"GET /v1/deployments": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/deployments?environmentId=%d", envOf(tg, false)), ""
				}, want{200, 200, 200, 404}},
				"GET /v1/deployments/{deploymentId}": {func(tg target) (string, string) { return "/v1/deployments/" + deploymentIn(tg), "" },
					want{200, 200, 200, 404}},
				"POST /v1/deployments/{deploymentId}/cancel": {func(tg target) (string, string) {
					return "/v1/deployments/" + deploymentIn(tg) + "/cancel", ""
				}, want{200, 403, 200, 404}},
				"POST /v1/deployments/{deploymentId}/redeploy": {func(tg target) (string, string) {
					if tg == missing {
						return "/v1/deployments/cnope/redeploy", ""
					}
					return "/v1/deployments/" + finished[envName(tg)] + "/redeploy", ""
				}, want{201, 403, 201, 404}},
				"GET /v1/deployments/{deploymentId}/logs": {func(tg target) (string, string) {
					if tg == missing {
						return "/v1/deployments/cnope/logs", ""
					}
					return "/v1/deployments/" + finished[envName(tg)] + "/logs", ""
				}, want{200, 200, 200, 404}},

				"POST /v1/projects/{projectId}/env-variables": {func(target) (string, string) {
					return "/v1/projects/" + h.project.ProjectID + "/env-variables", `{"plainText": {"LOG_LEVEL": "info"}}`
				}, want{200, 403, 403, 403}},
				"GET /v1/projects/{projectId}/env-variables": {func(target) (string, string) {
					return "/v1/projects/" + h.project.ProjectID + "/env-variables", ""
				}, want{200, 200, 403, 403}},
				"DELETE /v1/projects/{projectId}/env-variables/{name}": {func(target) (string, string) { return projectVariable(), "" },
					want{204, 403, 403, 403}},
				"POST /v1/projects/{projectId}/secrets": {func(target) (string, string) {
					return "/v1/projects/" + h.project.ProjectID + "/secrets", `{"name": "/app/key", "value": "v"}`
				}, want{204, 403, 403, 403}},
				"GET /v1/projects/{projectId}/secrets": {func(target) (string, string) {
					return "/v1/projects/" + h.project.ProjectID + "/secrets", ""
				}, want{200, 200, 403, 403}},
				"DELETE /v1/projects/{projectId}/secrets": {func(target) (string, string) { return projectSecret(), "" },
					want{204, 403, 403, 403}},
				"POST /v1/environments/{environmentId}/env-variables": {func(tg target) (string, string) {
					base, _ := scopeIn(tg, false)
					return base + "/env-variables", `{"secretsManager": {"TOKEN": "t0k3n"}}`
				}, want{200, 403, 200, 404}},
				"GET /v1/environments/{environmentId}/env-variables": {func(tg target) (string, string) {
					base, _ := scopeIn(tg, false)
					return base + "/env-variables", ""
				}, want{200, 200, 200, 404}},
				"DELETE /v1/environments/{environmentId}/env-variables/{name}": {func(tg target) (string, string) { return variableIn(tg, false), "" },
					want{204, 403, 204, 404}},
				"POST /v1/services/{serviceId}/env-variables": {func(tg target) (string, string) {
					base, _ := scopeIn(tg, true)
					return base + "/env-variables", `{"plainText": {"A": "1"}}`
				}, want{200, 403, 200, 404}},
				"GET /v1/services/{serviceId}": {func(tg target) (string, string) {
					base, _ := scopeIn(tg, true)
					return base, ""
				}, want{200, 200, 200, 404}},
				"GET /v1/services/{serviceId}/logs": {func(tg target) (string, string) {
					base, _ := scopeIn(tg, true)
					return base + "/logs", ""
				}, want{200, 200, 200, 404}},
				"GET /v1/services/{serviceId}/env-variables": {func(tg target) (string, string) {
					base, _ := scopeIn(tg, true)
					return base + "/env-variables", ""
				}, want{200, 200, 200, 404}},
				"DELETE /v1/services/{serviceId}/env-variables/{name}": {func(tg target) (string, string) { return variableIn(tg, true), "" },
					want{204, 403, 204, 404}},
				"POST /v1/environments/{environmentId}/secrets": {func(tg target) (string, string) {
					base, _ := scopeIn(tg, false)
					return base + "/secrets", `{"name": "arn:aws:secretsmanager:us-east-1:1:secret:db", "value": "v"}`
				}, want{204, 403, 204, 404}},
				"GET /v1/environments/{environmentId}/secrets": {func(tg target) (string, string) {
					base, _ := scopeIn(tg, false)
					return base + "/secrets", ""
				}, want{200, 200, 200, 404}},
				"DELETE /v1/environments/{environmentId}/secrets": {func(tg target) (string, string) { return secretIn(tg), "" },
					want{204, 403, 204, 404}},
				"POST /v1/services/{serviceId}/job/{jobGivenId}/execution": {func(tg target) (string, string) {
					return "/v1/services/" + cronIn(tg) + "/job/nightly/execution", ""
				}, want{201, 403, 201, 404}},
				"GET /v1/services/{serviceId}/job/{jobGivenId}/executions": {func(tg target) (string, string) {
					return "/v1/services/" + cronIn(tg) + "/job/nightly/executions", ""
				}, want{200, 200, 200, 404}},
				"GET /v1/job-executions/{executionId}": {func(tg target) (string, string) { return "/v1/job-executions/" + executionIn(tg), "" },
					want{200, 200, 200, 404}},
				"GET /v1/job-executions/{executionId}/logs": {func(tg target) (string, string) {
					return "/v1/job-executions/" + executionIn(tg) + "/logs", ""
				}, want{200, 200, 200, 404}},

				"GET /v1/environments/{environmentId}/resources": {func(tg target) (string, string) {
					return fmt.Sprintf("/v1/environments/%d/resources", envOf(tg, false)), ""
				}, want{200, 200, 200, 404}},
				"DELETE /v1/environments/{environmentId}/resources/{serviceId}": {func(tg target) (string, string) {
					h.makeDatabase(envOf(tg, false), 0, "db")
					return fmt.Sprintf("/v1/environments/%d/resources/db", envOf(tg, false)), ""
				}, want{withDatabase, 403, 403, 403}},
				"POST /v1/environments/{environmentId}/resources/{serviceId}/dump": {func(tg target) (string, string) {
					h.makeDatabase(envOf(tg, false), 0, "db")
					return fmt.Sprintf("/v1/environments/%d/resources/db/dump", envOf(tg, false)), ""
				}, want{withDatabase, 403, 403, 403}},

				"POST /v1/api-keys": {func(target) (string, string) { return "/v1/api-keys", `{"name": "another"}` }, want{201, 403, 403, 403}},
				"GET /v1/api-keys":  {func(target) (string, string) { return "/v1/api-keys", "" }, want{200, 200, 403, 403}},
				"DELETE /v1/api-keys/{apiKeyId}": {func(target) (string, string) {
					k, err := h.c.CreateAPIKey(ctx, "doomed")
					if err != nil {
						t.Fatal(err)
					}
					return "/v1/api-keys/" + k.ID, ""
				}, want{204, 403, 403, 403}},
			}

			for _, rt := range api.RouteTable() {
				if rt.Need == "public" {
					continue
				}
				c, ok := cases[rt.Pattern]
				if !ok {
					t.Errorf("%s has no case in TestScopesPerRoute: say what each kind of key gets", rt.Pattern)
					continue
				}
				delete(cases, rt.Pattern)
				t.Run(rt.Pattern, func(t *testing.T) {
					send := func(name, key string, tg target, status int) string {
						path, body := c.req(tg)
						ex := exchange{name: name, op: rt.Pattern, path: path, body: body, status: status,
							header: http.Header{"Authorization": {"Bearer " + key}}}
						var answer string
						t.Run(name, func(t *testing.T) { answer = string(oa.run(t, h.srv.URL, h.srv.Client(), ex)) })
						if status == http.StatusForbidden {
							var e client.ErrorBody
							_ = json.Unmarshal([]byte(answer), &e)
							scope := map[string]string{s.readKey.Key: "read", s.deployKey.Key: "deploy"}[key]
							if e.ErrorCode != "FORBIDDEN" || !strings.HasPrefix(e.Error, fmt.Sprintf("This API key (scope %s) cannot %s: ", scope, rt.Does)) {
								t.Errorf("%s: 403 body %s", name, answer)
							}
						}
						return answer
					}
					// Refusals first: they must leave what the next ones use.
					send("read", s.readKey.Key, own, c.want.read)
					otherBody := send("deploy key, another environment", s.deployKey.Key, other, c.want.deployOther)
					if rt.Env != "" {
						// The same answer as for nothing at all: ids of other
						// environments do not leak.
						if missingBody := send("deploy key, nothing", s.deployKey.Key, missing, c.want.deployOther); missingBody != otherBody {
							t.Errorf("another environment's resource answers %s, a missing one %s", otherBody, missingBody)
						}
					}
					send("deploy key, its environment", s.deployKey.Key, own, c.want.deployOwn)
					send("admin", h.key, own, c.want.admin)
				})
			}
			for pattern := range cases {
				t.Errorf("case %s names no route of the table", pattern)
			}
		})
	}
}

// TestDeployKeyLimits: a deploy key cannot delete the admin's key, make
// keys, create or sync projects, or read another environment's deployment,
// and its listings hold only its environments' deployments.
func TestDeployKeyLimits(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := newScoped(t, dialect)
			h := s.harness
			ctx := context.Background()
			ci := s.as(s.deployKey.Key)

			err := ci.DeleteAPIKey(ctx, s.adminKeyID)
			apiError(t, err, 403, "FORBIDDEN", "This API key (scope deploy) cannot delete API keys: that takes an admin key")
			if _, err := h.c.Projects(ctx); err != nil {
				t.Fatalf("the admin key stopped working after a deploy key tried to delete it: %v", err)
			}
			_, err = ci.CreateAPIKey(ctx, "escalate")
			apiError(t, err, 403, "FORBIDDEN", "cannot create API keys")
			_, err = ci.APIKeys(ctx)
			apiError(t, err, 403, "FORBIDDEN", "cannot list API keys")

			repo := gittest.New(t)
			repo.Commit("init", map[string]string{"liftoff.json": testConfig})
			_, err = ci.CreateProject(ctx, "mine", repo.Dir, "")
			apiError(t, err, 403, "FORBIDDEN", "This API key (scope deploy) cannot create projects: that takes an admin key")
			_, err = ci.SyncProject(ctx, h.project.ProjectID)
			apiError(t, err, 403, "FORBIDDEN", "cannot sync projects")
			if list, err := h.c.Projects(ctx); err != nil || len(list) != 1 {
				t.Fatalf("projects after a deploy key tried to create one: %d %v", len(list), err)
			}

			prodHook, _ := h.createHook("production")
			stagingHook, stagingHookID := h.createHook("staging")
			previewHook, _ := h.createHook("preview")
			prod := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], prodHook), nil)
			staging := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["staging"], stagingHook), nil)
			preview := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s/7/%s", h.env["preview"], previewHook, strings.Repeat("a", 40)), nil)

			if d, err := ci.Deployment(ctx, prod); err != nil || d.DeploymentID != prod {
				t.Fatalf("its own environment's deployment: %+v %v", d, err)
			}
			if d, err := ci.Deployment(ctx, preview); err != nil || d.PRNumber == nil || *d.PRNumber != 7 {
				t.Fatalf("a preview instance of its preview environment: %+v %v", d, err)
			}
			_, err = ci.Deployment(ctx, staging)
			apiError(t, err, 404, "NOT_FOUND", "Deployment not found")
			_, err = ci.Logs(ctx, staging, "")
			apiError(t, err, 404, "NOT_FOUND", "Deployment not found")
			_, err = ci.CancelDeployment(ctx, staging)
			apiError(t, err, 404, "NOT_FOUND", "Deployment not found")
			if d, err := h.c.Deployment(ctx, staging); err != nil || d.Status != "PENDING" {
				t.Fatalf("a deploy key cancelled another environment's deployment: %+v %v", d, err)
			}
			err = ci.DeleteHook(ctx, stagingHookID)
			apiError(t, err, 404, "NOT_FOUND", "Deploy hook not found")
			if hooks, err := h.c.Hooks(ctx, h.env["staging"]); err != nil || len(hooks) != 1 {
				t.Fatalf("a deploy key deleted another environment's hook: %+v %v", hooks, err)
			}

			// Listing without an environment shows its environments' only,
			// page after page.
			var seen []string
			f := client.DeploymentFilter{Limit: 1}
			for {
				page, err := ci.Deployments(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range page.Deployments {
					seen = append(seen, d.DeploymentID)
				}
				if page.NextCursor == nil {
					break
				}
				f.Cursor = *page.NextCursor
			}
			if strings.Join(seen, ",") != preview+","+prod {
				t.Fatalf("a deploy key lists %v, want its own [%s %s] and not staging's %s", seen, preview, prod, staging)
			}
			byProject, err := ci.Deployments(ctx, client.DeploymentFilter{ProjectID: h.project.ProjectID})
			if err != nil || len(byProject.Deployments) != 2 {
				t.Fatalf("by project: %+v %v", byProject, err)
			}
			_, err = ci.Deployments(ctx, client.DeploymentFilter{EnvironmentID: h.env["staging"]})
			apiError(t, err, 404, "NOT_FOUND", "Environment not found")
			if all, err := h.c.Deployments(ctx, client.DeploymentFilter{}); err != nil || len(all.Deployments) != 3 {
				t.Fatalf("the admin key lists every deployment: %+v %v", all, err)
			}

			// A hook secret still reads the deployment it started, whatever
			// the keys.
			if _, err := h.c.WithHookSecret(stagingHook).Deployment(ctx, staging); err != nil {
				t.Fatalf("Authorization: Hook: %v", err)
			}
		})
	}
}

// TestReadKeyChangesNothing: a read key reads everything and every change it
// asks for is refused with 403 before anything happens.
func TestReadKeyChangesNothing(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := newScoped(t, dialect)
			h := s.harness
			ctx := context.Background()
			ro := s.as(s.readKey.Key)
			secret, hookID := h.createHook("production")
			dep := h.trigger(fmt.Sprintf("/api/deploy-hook/%d/%s", h.env["production"], secret), nil)
			if _, err := h.store.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: h.env["preview"], PRNumber: 3, At: time.Now()}); err != nil {
				t.Fatal(err)
			}
			// The hook call's record (the hook's use count) is written in
			// the background: before the snapshot, not between the two.
			h.rec.Flush(ctx)

			before := snapshot(t, ro, h)
			for _, call := range []struct {
				name string
				fn   func() error
			}{
				{"create a project", func() error { _, err := ro.CreateProject(ctx, "x", h.repo.Dir, ""); return err }},
				{"sync a project", func() error { _, err := ro.SyncProject(ctx, h.project.ProjectID); return err }},
				{"create a hook", func() error { _, err := ro.CreateHook(ctx, h.env["production"], "x"); return err }},
				{"rotate a hook", func() error { _, err := ro.RotateHook(ctx, hookID, 0); return err }},
				{"pause a hook", func() error { _, err := ro.SetHookPaused(ctx, hookID, true); return err }},
				{"delete a hook", func() error { return ro.DeleteHook(ctx, hookID) }},
				{"cancel a deployment", func() error { _, err := ro.CancelDeployment(ctx, dep); return err }},
				{"redeploy", func() error { _, err := ro.RedeployDeployment(ctx, dep); return err }},
				{"tear a preview down", func() error { _, err := ro.DeletePreview(ctx, h.env["preview"], 3); return err }},
				{"create an API key", func() error { _, err := ro.CreateAPIKey(ctx, "x"); return err }},
				{"delete the admin key", func() error { return ro.DeleteAPIKey(ctx, s.adminKeyID) }},
				{"delete itself", func() error { return ro.DeleteAPIKey(ctx, s.readKey.ID) }},
			} {
				apiError(t, call.fn(), 403, "FORBIDDEN", "This API key (scope read) cannot ")
			}
			if after := snapshot(t, ro, h); after != before {
				t.Fatalf("a read key changed something:\nbefore %s\nafter  %s", before, after)
			}
			// Refusals do not depend on the resource: an unknown one gets 403 too.
			apiError(t, ro.DeleteHook(ctx, "cnope"), 403, "FORBIDDEN", "cannot delete deploy hooks")
		})
	}
}

// snapshot reads, with a read key, everything a change could touch.
func snapshot(t *testing.T, ro *client.Client, h *harness) string {
	t.Helper()
	ctx := context.Background()
	var out []any
	add := func(v any, err error) {
		if err != nil {
			t.Fatalf("a read key could not read: %v", err)
		}
		out = append(out, v)
	}
	add(ro.Projects(ctx))
	for _, env := range []string{"production", "preview"} {
		add(ro.Hooks(ctx, h.env[env]))
	}
	add(ro.Previews(ctx, h.env["preview"]))
	add(ro.Deployments(ctx, client.DeploymentFilter{Limit: 100}))
	add(ro.APIKeys(ctx))
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCreateAPIKeyScopes: POST /v1/api-keys takes a scope and, for deploy
// keys, environments, and refuses what does not hold together.
func TestCreateAPIKeyScopes(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			prod, pv := h.env["production"], h.env["preview"]

			k, err := h.c.CreateAPIKeyWith(ctx, client.NewAPIKey{Name: "CI", Scope: "deploy", EnvironmentIDs: []int64{pv, prod, pv}})
			if err != nil || k.Scope != "deploy" || fmt.Sprint(k.EnvironmentIDs) != fmt.Sprint([]int64{prod, pv}) {
				t.Fatalf("deploy key = %+v, %v; want environments sorted, without duplicates", k, err)
			}
			plain, err := h.c.CreateAPIKey(ctx, "no scope")
			if err != nil || plain.Scope != "admin" || plain.EnvironmentIDs == nil || len(plain.EnvironmentIDs) != 0 {
				t.Fatalf("a key without a scope = %+v, %v; want admin", plain, err)
			}
			list, err := h.c.APIKeys(ctx)
			if err != nil || len(list) != 3 || list[1].Scope != "deploy" || fmt.Sprint(list[1].EnvironmentIDs) != fmt.Sprint([]int64{prod, pv}) ||
				list[1].Key != "" || list[0].Scope != "admin" {
				t.Fatalf("list = %+v, %v", list, err)
			}

			// An environment that a sync deletes stays on the key: it reaches
			// nothing there until the environment comes back with its id.
			ci := client.New(h.srv.URL, k.Key)
			staging, err := h.c.CreateAPIKeyWith(ctx, client.NewAPIKey{Name: "staging CI", Scope: "deploy", EnvironmentIDs: []int64{h.env["staging"]}})
			if err != nil {
				t.Fatal(err)
			}
			withoutStaging := strings.Replace(testConfig, `{"id": "staging"`, `{"id": "gone"`, 1)
			h.repo.Commit("drop staging", map[string]string{"liftoff.json": withoutStaging})
			if _, err := h.c.SyncProject(ctx, h.project.ProjectID); err != nil {
				t.Fatal(err)
			}
			stagingCI := client.New(h.srv.URL, staging.Key)
			_, err = stagingCI.Environment(ctx, h.env["staging"])
			apiError(t, err, 404, "NOT_FOUND", "Environment not found")
			_, err = h.c.CreateAPIKeyWith(ctx, client.NewAPIKey{Name: "x", Scope: "deploy", EnvironmentIDs: []int64{h.env["staging"]}})
			apiError(t, err, 400, "VALIDATION_ERROR", fmt.Sprintf("environment %d does not exist or was deleted", h.env["staging"]))
			h.repo.Commit("staging is back", map[string]string{"liftoff.json": testConfig})
			if _, err := h.c.SyncProject(ctx, h.project.ProjectID); err != nil {
				t.Fatal(err)
			}
			if env, err := stagingCI.Environment(ctx, h.env["staging"]); err != nil || env.GivenID != "staging" {
				t.Fatalf("staging back with its id: %+v %v", env, err)
			}
			if _, err := ci.Environment(ctx, prod); err != nil {
				t.Fatalf("the deploy key on production: %v", err)
			}

			for _, c := range []struct{ name, body, msg string }{
				{"unknown scope", `{"name": "x", "scope": "owner"}`, `scope must be admin, deploy or read, got \"owner\"`},
				{"deploy without environments", `{"name": "x", "scope": "deploy"}`, "a deploy key must name the environments it deploys"},
				{"deploy with an empty list", `{"name": "x", "scope": "deploy", "environmentIds": []}`, "a deploy key must name the environments it deploys"},
				{"admin with environments", fmt.Sprintf(`{"name": "x", "scope": "admin", "environmentIds": [%d]}`, prod), "environmentIds are only for scope deploy"},
				{"read with environments", fmt.Sprintf(`{"name": "x", "scope": "read", "environmentIds": [%d]}`, prod), "a key of scope read reaches every environment"},
				{"unknown environment", `{"name": "x", "scope": "deploy", "environmentIds": [99999]}`, "environment 99999 does not exist or was deleted"},
				{"zero environment", `{"name": "x", "scope": "deploy", "environmentIds": [0]}`, "environment ids are positive integers, got 0"},
				{"environments not numbers", `{"name": "x", "scope": "deploy", "environmentIds": ["production"]}`, "environmentIds must be a JSON int64"},
			} {
				t.Run(c.name, func(t *testing.T) {
					status, _, body := callWithBody(t, h, "POST", "/v1/api-keys", h.key, c.body)
					if status != 400 || !strings.Contains(body, c.msg) || !strings.Contains(body, "VALIDATION_ERROR") {
						t.Fatalf("%d %s", status, body)
					}
				})
			}
			if keys, err := h.c.APIKeys(ctx); err != nil || len(keys) != 4 {
				t.Fatalf("a refused key was stored: %d keys, %v", len(keys), err)
			}
		})
	}
}

// callWithBody sends a JSON body with an API key.
func callWithBody(t *testing.T, h *harness, method, path, key, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}
