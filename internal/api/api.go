// Package api serves the deploy hook endpoints (/api/deploy-hook/...) and the
// /v1 JSON API: it parses and authenticates requests, calls the domain
// packages, and returns their errors (*fail.Error) to one adapter that
// answers them (serve, in errors.go).
package api

import (
	_ "embed"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/clientaddr"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/github/dispatch"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/job"
	"github.com/liftoffhq/liftoff/internal/metrics"
	"github.com/liftoffhq/liftoff/internal/notify"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/protect"
	"github.com/liftoffhq/liftoff/internal/resources"
	"github.com/liftoffhq/liftoff/internal/supervision"
	"github.com/liftoffhq/liftoff/internal/variables"
)

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3 document of the API.
func OpenAPI() []byte { return openAPIDocument }

// Deps are the domain services the API calls.
type Deps struct {
	Projects *project.Service
	Hooks    *hook.Service
	APIKeys  *apikey.Service
	// GitHubSecret is the webhook's shared secret; without it the webhook
	// endpoint answers 404.
	GitHubSecret []byte
	Webhooks     *dispatch.Dispatcher
	// Deployments reads, cancels, redeploys and tears down, then tells
	// this node's engine (if it runs one). Required: the one service the
	// hooks and the GitHub dispatch share, with their limits.
	Deployments *deployment.Service
	// Variables keeps the variables and named secrets set through the API.
	// Required.
	Variables *variables.Service
	// Jobs asks for runs of scheduler jobs and reads them. Nil: the job
	// routes answer 404 as for a service without jobs.
	Jobs *job.Service
	// Supervision reads the state, restarts and logs of services'
	// releases. Nil: those routes answer 404.
	Supervision *supervision.Service
	// Protection keeps who may open each environment through the proxy,
	// and makes share links. Nil: those routes answer 404.
	Protection *protect.Service
	// Resources lists, deletes and dumps the databases and Redis users
	// of rds and elasticache services. Nil: there are none.
	Resources *resources.Service
	// Metrics counts hook calls by outcome. Nil counts nothing.
	Metrics *metrics.Metrics
	// Notifications keeps the environments' webhooks and their delivery
	// logs. Nil: those routes answer 404.
	Notifications *notify.Service
	Log           *slog.Logger
	// Draining reports whether the server is shutting down; hook calls then
	// answer 503 and queue nothing.
	Draining func() bool
	// Clients finds the caller's address behind trusted proxies. Default
	// (nil): the TCP peer is the caller.
	Clients *clientaddr.Resolver
	// HookSuccess is how every deploy hook answer writes "success".
	// Default HookSuccessString.
	HookSuccess HookSuccessType
}

// API is the HTTP handler of /api and /v1.
type API struct {
	Deps
	mux *http.ServeMux
	// hookOK starts a successful hook answer; hookFalse is "success" of a
	// refused one (see HookSuccess).
	hookOK, hookFalse string
	// webhookBodies bounds the GitHub webhook bodies held at once.
	webhookBodies *byteBudget
	// follows bounds the log streams open at once.
	follows *followLimits
	// root is what ServeHTTP serves: the route table behind Canonical.
	root http.Handler
}

// New returns the API handler.
func New(d Deps) *API {
	if d.Draining == nil {
		d.Draining = func() bool { return false }
	}
	if d.Deployments == nil || d.Webhooks != nil && d.Webhooks.Deployments == nil || d.Variables == nil {
		panic("api.New: Deps.Deployments, Deps.Variables and Deps.Webhooks.Deployments are required")
	}
	a := &API{Deps: d, mux: http.NewServeMux(), webhookBodies: &byteBudget{limit: webhookBodyBudget},
		follows: newFollowLimits(defaultFollowsPerCredential, defaultFollowsTotal)}
	a.hookOK, a.hookFalse = hookAnswers(d.HookSuccess)
	a.routes()
	a.root = a.Canonical(a.mux)
	return a
}

// table is the one route table of the API: every route with the scope an
// API key needs to call it and where it finds the environment the request is
// about (access.go enforces both before the handler runs). Deploy hook calls
// are served outside it (Canonical), authenticated by their secret.
func (a *API) table() []route {
	return []route{
		{pattern: "GET /v1/openapi.json", need: public, handler: a.openAPI},
		{pattern: "GET " + config.SchemaPath, need: public, handler: a.configSchema},
		{pattern: "POST /api/github/webhook", need: public, handler: a.githubWebhook},

		{pattern: "POST /v1/projects", need: adminOnly, does: "create projects", handler: a.createProject},
		{pattern: "GET /v1/projects", need: readOnly, does: "list projects", handler: a.listProjects},
		{pattern: "GET /v1/projects/{projectId}", need: readOnly, does: "read projects", handler: a.getProject},
		{pattern: "DELETE /v1/projects/{projectId}", need: adminOnly, does: "delete projects", handler: a.deleteProject},
		{pattern: "POST /v1/projects/{projectId}/sync", need: adminOnly, does: "sync projects", handler: a.syncProject},

		{pattern: "GET /v1/environments/{environmentId}", need: readOnly, env: envPath, does: "read environments", handler: a.getEnvironment},
		{pattern: "POST /v1/environments/{environmentId}/deploy-hooks", need: deployOnly, env: envPath, does: "create deploy hooks", handler: a.createHook},
		{pattern: "GET /v1/environments/{environmentId}/deploy-hooks", need: readOnly, env: envPath, does: "list deploy hooks", handler: a.listHooks},
		{pattern: "POST /v1/environments/{environmentId}/deployments", need: deployOnly, env: envPath, does: "start deployments", handler: a.startDeployment},
		{pattern: "GET /v1/environments/{environmentId}/previews", need: readOnly, env: envPath, does: "list previews", handler: a.listPreviews},
		{pattern: "DELETE /v1/environments/{environmentId}/previews/{prNumber}", need: deployOnly, env: envPath, does: "tear down previews", handler: a.deletePreview},
		{pattern: "GET /v1/environments/{environmentId}/protection", need: readOnly, env: envPath, does: "read protection", handler: a.getProtection},
		{pattern: "PUT /v1/environments/{environmentId}/protection", need: deployOnly, env: envPath, does: "change protection", handler: a.setProtection},
		{pattern: "GET /v1/environments/{environmentId}/resources", need: readOnly, env: envPath, does: "list managed resources", handler: a.listResources},
		{pattern: "DELETE /v1/environments/{environmentId}/resources/{serviceId}", need: adminOnly, does: "delete managed resources", handler: a.deleteResource},
		{pattern: "POST /v1/environments/{environmentId}/resources/{serviceId}/dump", need: adminOnly, does: "dump managed databases", handler: a.dumpResource},
		{pattern: "POST /v1/environments/{environmentId}/notifications", need: deployOnly, env: envPath, does: "create notifications", handler: a.createNotification},
		{pattern: "GET /v1/environments/{environmentId}/notifications", need: readOnly, env: envPath, does: "list notifications", handler: a.listNotifications},
		{pattern: "DELETE /v1/environments/{environmentId}/notifications/{notificationId}", need: deployOnly, env: envPath, does: "delete notifications", handler: a.deleteNotification},
		{pattern: "POST /v1/environments/{environmentId}/notifications/{notificationId}/rotate", need: deployOnly, env: envPath, does: "rotate notification secrets", handler: a.rotateNotification},
		{pattern: "GET /v1/environments/{environmentId}/notifications/{notificationId}/deliveries", need: readOnly, env: envPath, does: "list notification deliveries", handler: a.listNotificationDeliveries},
		{pattern: "POST /v1/environments/{environmentId}/share-links", need: deployOnly, env: envPath, does: "create share links", handler: a.createShareLink},

		{pattern: "GET /v1/deploy-hooks/{hookId}", need: readOnly, env: envOfHook, does: "read deploy hooks", handler: a.getHook},
		{pattern: "DELETE /v1/deploy-hooks/{hookId}", need: deployOnly, env: envOfHook, does: "delete deploy hooks", handler: a.deleteHook},
		{pattern: "POST /v1/deploy-hooks/{hookId}/rotate", need: deployOnly, env: envOfHook, does: "rotate deploy hooks", handler: a.rotateHook},
		{pattern: "POST /v1/deploy-hooks/{hookId}/pause", need: deployOnly, env: envOfHook, does: "pause deploy hooks", handler: a.pauseHook},
		{pattern: "POST /v1/deploy-hooks/{hookId}/resume", need: deployOnly, env: envOfHook, does: "resume deploy hooks", handler: a.resumeHook},
		{pattern: "GET /v1/deploy-hooks/{hookId}/calls", need: readOnly, env: envOfHook, does: "list deploy hook calls", handler: a.listHookCalls},

		{pattern: "GET /v1/deployments", need: readOnly, env: envQuery, does: "list deployments", handler: a.listDeployments},
		{pattern: "GET /v1/deployments/{deploymentId}", need: readOnly, env: envOfDeployment, hookSecret: true, does: "read deployments", handler: a.getDeployment},
		{pattern: "POST /v1/deployments/{deploymentId}/cancel", need: deployOnly, env: envOfDeployment, does: "cancel deployments", handler: a.cancelDeployment},
		{pattern: "POST /v1/deployments/{deploymentId}/redeploy", need: deployOnly, env: envOfDeployment, does: "redeploy deployments", handler: a.redeployDeployment},
		{pattern: "GET /v1/deployments/{deploymentId}/logs", need: readOnly, env: envOfDeployment, hookSecret: true, does: "read deployment logs", handler: a.deploymentLogs},

		{pattern: "POST /v1/projects/{projectId}/env-variables", need: adminOnly, does: "set project variables", handler: a.setEnvVariables},
		{pattern: "GET /v1/projects/{projectId}/env-variables", need: readOnly, does: "list project variables", handler: a.listEnvVariables},
		{pattern: "DELETE /v1/projects/{projectId}/env-variables/{name}", need: adminOnly, does: "delete project variables", handler: a.deleteEnvVariable},
		{pattern: "POST /v1/environments/{environmentId}/env-variables", need: deployOnly, env: envPath, does: "set variables", handler: a.setEnvVariables},
		{pattern: "GET /v1/environments/{environmentId}/env-variables", need: readOnly, env: envPath, does: "list variables", handler: a.listEnvVariables},
		{pattern: "DELETE /v1/environments/{environmentId}/env-variables/{name}", need: deployOnly, env: envPath, does: "delete variables", handler: a.deleteEnvVariable},
		{pattern: "GET /v1/services/{serviceId}", need: readOnly, env: envOfService, does: "read services", handler: a.getService},
		{pattern: "GET /v1/services/{serviceId}/logs", need: readOnly, env: envOfService, does: "read service logs", handler: a.serviceLogs},
		{pattern: "POST /v1/services/{serviceId}/env-variables", need: deployOnly, env: envOfService, does: "set variables", handler: a.setEnvVariables},
		{pattern: "GET /v1/services/{serviceId}/env-variables", need: readOnly, env: envOfService, does: "list variables", handler: a.listEnvVariables},
		{pattern: "DELETE /v1/services/{serviceId}/env-variables/{name}", need: deployOnly, env: envOfService, does: "delete variables", handler: a.deleteEnvVariable},
		{pattern: "POST /v1/projects/{projectId}/secrets", need: adminOnly, does: "set project secrets", handler: a.setSecret},
		{pattern: "GET /v1/projects/{projectId}/secrets", need: readOnly, does: "list project secrets", handler: a.listSecrets},
		{pattern: "DELETE /v1/projects/{projectId}/secrets", need: adminOnly, does: "delete project secrets", handler: a.deleteSecret},
		{pattern: "POST /v1/environments/{environmentId}/secrets", need: deployOnly, env: envPath, does: "set secrets", handler: a.setSecret},
		{pattern: "GET /v1/environments/{environmentId}/secrets", need: readOnly, env: envPath, does: "list secrets", handler: a.listSecrets},
		{pattern: "DELETE /v1/environments/{environmentId}/secrets", need: deployOnly, env: envPath, does: "delete secrets", handler: a.deleteSecret},
		{pattern: "POST /v1/services/{serviceId}/job/{jobGivenId}/execution", need: deployOnly, env: envOfService, does: "run jobs", handler: a.runJob},
		{pattern: "GET /v1/services/{serviceId}/job/{jobGivenId}/executions", need: readOnly, env: envOfService, does: "list job executions", handler: a.listJobExecutions},
		{pattern: "GET /v1/job-executions/{executionId}", need: readOnly, env: envOfJobExecution, does: "read job executions", handler: a.getJobExecution},
		{pattern: "GET /v1/job-executions/{executionId}/logs", need: readOnly, env: envOfJobExecution, does: "read job execution logs", handler: a.jobExecutionLogs},

		{pattern: "POST /v1/api-keys", need: adminOnly, does: "create API keys", handler: a.createAPIKey},
		{pattern: "GET /v1/api-keys", need: readOnly, does: "list API keys", handler: a.listAPIKeys},
		{pattern: "DELETE /v1/api-keys/{apiKeyId}", need: adminOnly, does: "delete API keys", handler: a.deleteAPIKey},
	}
}

// routes registers the route table, each route behind its access check.
// Around it, in JSON rather than the mux's plain text: each path of the
// table answers the methods it does not take with 405 and the Allow
// header the mux would send, and any other path 404. Neither answer
// repeats the path or the method, which may hold a secret.
func (a *API) routes() {
	type pathRoutes struct {
		pattern string // the path as the table writes it
		methods []string
	}
	var paths []*pathRoutes
	byPath := map[string]*pathRoutes{} // by the path with its wildcards unnamed
	for _, rt := range a.table() {
		if err := rt.check(); err != nil {
			panic(err) // a programming error: the route table is code
		}
		a.mux.HandleFunc(rt.pattern, a.serve(v1Surface, checkedText(rt.pattern, a.guard(rt))))
		method, path, _ := strings.Cut(rt.pattern, " ")
		key := wildcard.ReplaceAllString(path, "{}")
		if byPath[key] == nil {
			byPath[key] = &pathRoutes{pattern: path}
			paths = append(paths, byPath[key])
		}
		byPath[key].methods = append(byPath[key].methods, method)
	}
	for _, p := range paths {
		a.mux.HandleFunc(p.pattern, a.serve(v1Surface, methodNotAllowed(p.methods)))
	}
	a.mux.HandleFunc("/", a.serve(v1Surface, noEndpoint))
}

// ServeHTTP routes hook calls to the hook handler and everything else through
// the /v1 route table, answering unknown paths and methods in JSON. A path
// in any other form than the canonical one is refused first (canonical.go):
// the mux would otherwise clean it and redirect, repeating it in Location.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.root.ServeHTTP(w, r) }

// wildcard matches a wildcard of a pattern's path.
var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// checkedText checks the text of a request's path and query values before
// h sees them.
func checkedText(pattern string, h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := checkRequestText(r, pattern); err != nil {
			return err
		}
		return h(w, r)
	}
}

// methodNotAllowed answers a request for a path of the table with a
// method none of its routes takes. The Allow header lists the methods as
// the mux does: sorted, with HEAD wherever GET is.
func methodNotAllowed(methods []string) handler {
	allowed := slices.Clone(methods)
	if slices.Contains(allowed, http.MethodGet) {
		allowed = append(allowed, http.MethodHead)
	}
	slices.Sort(allowed)
	allow := strings.Join(slices.Compact(allowed), ", ")
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return fail.New(fail.MethodNotAllowed, "Method "+methodOf(r)+" is not allowed here; use "+allow)
	}
}

// noEndpoint answers a path the route table does not have.
func noEndpoint(http.ResponseWriter, *http.Request) error {
	return fail.New(fail.NotFound, "No such endpoint; the API's paths are listed in /v1/openapi.json")
}

func (a *API) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDocument)
	return nil
}

// configSchema serves the JSON Schema the config validator uses, for
// editors: no API key, as the schema is no secret.
func (a *API) configSchema(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/schema+json")
	_, _ = w.Write(config.Schema())
	return nil
}
