// Package api serves the deploy hook endpoints (/api/deploy-hook/...) and the
// /v1 JSON API: it parses and authenticates requests, calls the domain
// packages, and maps their errors to statuses in one place (errors.go).
package api

import (
	_ "embed"
	"log/slog"
	"net/http"
	"strings"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/deploy"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/webhook"
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
	Engine   *deploy.Engine
	Logs     *logstream.Streams
	// GitHubSecret is the webhook's shared secret; without it the webhook
	// endpoint answers 404.
	GitHubSecret []byte
	Webhooks     *webhook.Dispatcher
	Log          *slog.Logger
	// Draining reports whether the server is shutting down; hook calls then
	// answer 503 and queue nothing.
	Draining func() bool
}

// API is the HTTP handler of /api and /v1.
type API struct {
	Deps
	mux *http.ServeMux
}

// New returns the API handler.
func New(d Deps) *API {
	if d.Draining == nil {
		d.Draining = func() bool { return false }
	}
	if d.Logs == nil {
		d.Logs = logstream.New(d.Store, d.Log) // reads only: follows by polling
	}
	a := &API{Deps: d, mux: http.NewServeMux()}
	a.routes()
	return a
}

// routes is the one route table of /v1.
func (a *API) routes() {
	m := a.mux
	m.HandleFunc("GET /v1/openapi.json", a.openAPI)
	m.HandleFunc("POST /api/github/webhook", a.githubWebhook)

	m.HandleFunc("POST /v1/projects", a.key(a.createProject))
	m.HandleFunc("GET /v1/projects", a.key(a.listProjects))
	m.HandleFunc("GET /v1/projects/{projectId}", a.key(a.getProject))
	m.HandleFunc("POST /v1/projects/{projectId}/sync", a.key(a.syncProject))

	m.HandleFunc("GET /v1/environments/{environmentId}", a.key(a.getEnvironment))
	m.HandleFunc("POST /v1/environments/{environmentId}/deploy-hooks", a.key(a.createHook))
	m.HandleFunc("GET /v1/environments/{environmentId}/deploy-hooks", a.key(a.listHooks))
	m.HandleFunc("GET /v1/environments/{environmentId}/previews", a.key(a.listPreviews))
	m.HandleFunc("DELETE /v1/environments/{environmentId}/previews/{prNumber}", a.key(a.deletePreview))

	m.HandleFunc("GET /v1/deploy-hooks/{hookId}", a.key(a.getHook))
	m.HandleFunc("DELETE /v1/deploy-hooks/{hookId}", a.key(a.deleteHook))
	m.HandleFunc("POST /v1/deploy-hooks/{hookId}/rotate", a.key(a.rotateHook))
	m.HandleFunc("POST /v1/deploy-hooks/{hookId}/pause", a.key(a.pauseHook))
	m.HandleFunc("POST /v1/deploy-hooks/{hookId}/resume", a.key(a.resumeHook))
	m.HandleFunc("GET /v1/deploy-hooks/{hookId}/calls", a.key(a.listHookCalls))

	m.HandleFunc("GET /v1/deployments", a.key(a.listDeployments))
	m.HandleFunc("GET /v1/deployments/{deploymentId}", a.getDeployment)
	m.HandleFunc("POST /v1/deployments/{deploymentId}/cancel", a.key(a.cancelDeployment))
	m.HandleFunc("POST /v1/deployments/{deploymentId}/redeploy", a.key(a.redeployDeployment))
	m.HandleFunc("GET /v1/deployments/{deploymentId}/logs", a.deploymentLogs)

	m.HandleFunc("POST /v1/api-keys", a.key(a.createAPIKey))
	m.HandleFunc("GET /v1/api-keys", a.key(a.listAPIKeys))
	m.HandleFunc("DELETE /v1/api-keys/{apiKeyId}", a.key(a.deleteAPIKey))
}

// ServeHTTP routes hook calls to the hook handler and everything else through
// the /v1 route table, answering unknown paths and methods in JSON.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.EscapedPath(), HookPathPrefix) || r.URL.EscapedPath() == strings.TrimSuffix(HookPathPrefix, "/") {
		a.deployHook(w, r)
		return
	}
	if _, pattern := a.mux.Handler(r); pattern == "" {
		// The mux would answer in plain text: find out what it would say,
		// then say it in JSON.
		probe := &statusProbe{header: http.Header{}}
		h, _ := a.mux.Handler(r)
		h.ServeHTTP(probe, r)
		switch probe.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", probe.header.Get("Allow"))
			writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed,
				"Method "+r.Method+" is not allowed here; use "+probe.header.Get("Allow"))
		case http.StatusNotFound:
			writeError(w, http.StatusNotFound, codeNotFound, "No such endpoint: "+r.URL.Path)
		default:
			for k, v := range probe.header {
				w.Header()[k] = v
			}
			w.WriteHeader(probe.status)
		}
		return
	}
	a.mux.ServeHTTP(w, r)
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

func (a *API) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDocument)
}
