// Package api serves the deploy hook endpoints (/api/deploy-hook/...) and the
// /v1 JSON API: it parses and authenticates requests, calls the domain
// packages, and returns their errors (*fail.Error) to one adapter that
// answers them (serve, in errors.go).
package api

import (
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/clientaddr"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/github/dispatch"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/store"
)

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3 document of the API.
func OpenAPI() []byte { return openAPIDocument }

// Deps are the domain services the API calls.
type Deps struct {
	Store    store.Store
	Projects *project.Service
	Hooks    *hook.Service
	APIKeys  *apikey.Service
	// Logs serves deployment output. Required: an API that runs no
	// engine still follows what other replicas store.
	Logs *logstream.Streams
	// GitHubSecret is the webhook's shared secret; without it the webhook
	// endpoint answers 404.
	GitHubSecret []byte
	Webhooks     *dispatch.Dispatcher
	// Deployments cancels, redeploys and tears down, then tells this
	// node's engine (if it runs one). Default: a service on Store with no
	// limits and no engine.
	Deployments *deployment.Service
	Log         *slog.Logger
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
	if d.Deployments == nil {
		d.Deployments = &deployment.Service{Store: d.Store, NewID: cuid.New, Now: time.Now, Runner: deployment.NoRunner{}}
	}
	a := &API{Deps: d, mux: http.NewServeMux(), webhookBodies: &byteBudget{limit: webhookBodyBudget},
		follows: newFollowLimits(defaultFollowsPerCredential, defaultFollowsTotal)}
	a.hookOK, a.hookFalse = hookAnswers(d.HookSuccess)
	a.routes()
	a.root = a.Canonical(a.serve(v1Surface, a.route))
	return a
}

// table is the one route table of the API: every route with the scope an
// API key needs to call it and where it finds the environment the request is
// about (access.go enforces both before the handler runs). Deploy hook calls
// are served outside it (ServeHTTP), authenticated by their secret.
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

		{pattern: "POST /v1/api-keys", need: adminOnly, does: "create API keys", handler: a.createAPIKey},
		{pattern: "GET /v1/api-keys", need: readOnly, does: "list API keys", handler: a.listAPIKeys},
		{pattern: "DELETE /v1/api-keys/{apiKeyId}", need: adminOnly, does: "delete API keys", handler: a.deleteAPIKey},
	}
}

// routes registers the route table, each route behind its access check.
func (a *API) routes() {
	for _, rt := range a.table() {
		if err := rt.check(); err != nil {
			panic(err) // a programming error: the route table is code
		}
		a.mux.HandleFunc(rt.pattern, a.serve(v1Surface, a.guard(rt)))
	}
}

// ServeHTTP routes hook calls to the hook handler and everything else through
// the /v1 route table, answering unknown paths and methods in JSON. A path
// in any other form than the canonical one is refused first (canonical.go):
// the mux would otherwise clean it and redirect, repeating it in Location.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.root.ServeHTTP(w, r) }

// route serves a request through the route table, after checking the text
// of its path and query values.
func (a *API) route(w http.ResponseWriter, r *http.Request) error {
	h, pattern := a.mux.Handler(r)
	if pattern == "" {
		return unrouted(w, r, h)
	}
	if err := checkRequestText(r, pattern); err != nil {
		return err
	}
	a.mux.ServeHTTP(w, r)
	return nil
}

// unrouted answers a request the route table has no route for. The mux
// would answer in plain text: find out what it would say, then say it in
// JSON. Neither answer repeats the path or the method, which may hold a
// secret.
func unrouted(w http.ResponseWriter, r *http.Request, muxHandler http.Handler) error {
	probe := &statusProbe{header: http.Header{}}
	muxHandler.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		return fail.New(fail.MethodNotAllowed, "Method "+methodOf(r)+" is not allowed here; use "+probe.header.Get("Allow"))
	case http.StatusNotFound:
		return fail.New(fail.NotFound, "No such endpoint; the API's paths are listed in /v1/openapi.json")
	}
	for k, v := range probe.header {
		w.Header()[k] = v
	}
	w.WriteHeader(probe.status)
	return nil
}

// statusProbe records what the mux's own handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *statusProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
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
