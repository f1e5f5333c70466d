// Package dashboard is Liftoff's web interface: server-rendered pages
// (html/template, embedded with the few static files they use, no build
// step) where people sign in, create projects from repositories, create
// deploy hooks on an environment's settings page, and watch deployments
// live. Pages call the same use cases as the API (project, hook,
// deployment, user) and never decide a rule themselves; who may do what is
// apikey's decision, for users' roles as for API keys' scopes.
//
// # How a page is made
//
// One page is one entry of the page table (pageTable, in this file), one
// handler in the file of its resource, and one template in templates/,
// which fills the "content" block of the shared layout (templates/layout.html).
// The entry declares what the page needs of the user's role (read, deploy,
// admin, as apikey.Need) and where it finds the environment a request is
// about; guard (access.go) enforces both before the handler runs, as the
// API's route guard does for keys: a user without a session is sent to the
// sign-in page, a role that may not take the action gets 403, a deploy
// user on an environment it does not name gets 404, as for a page that
// does not exist. Every POST is checked for the session's CSRF token
// (the "csrf" field every form carries: {{template "csrf" .}}) and, with
// http.CrossOriginProtection, for coming from this site.
//
// A handler writes its page with d.render and returns an error otherwise:
// a fail error becomes a page with its message and status (errors.go), a
// form's refusal is shown next to its field (formErrors). Destructive
// actions ask first (confirm.go): their POST without confirm=yes answers a
// page that asks, with a form that posts again with it, so it works without
// JavaScript. A message for the next page goes in a flash (flash.go).
//
// Live pages follow deployments through Server-Sent Events (events.go),
// woken when this replica stores output and at least every second (for
// what other replicas do), as the API's log stream is; a service's page
// follows its log the same way, as the API's service log stream reads it
// (services.go).
package dashboard

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/clientaddr"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/job"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/protect"
	"github.com/liftoffhq/liftoff/internal/resources"
	"github.com/liftoffhq/liftoff/internal/supervision"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/user"
	"github.com/liftoffhq/liftoff/internal/variables"
)

//go:embed templates static
var files embed.FS

// Deps are the use cases the dashboard calls. All are required except
// Clients and Log.
type Deps struct {
	Projects    *project.Service
	Hooks       *hook.Service
	Deployments *deployment.Service
	Users       *user.Service
	// Protection and InstanceAt let a signed-in member of the team open
	// a protected environment's hosts (/environments/{id}/open): the
	// share link, and which instance a host serves. Nil: that page
	// answers 404.
	Protection *protect.Service
	InstanceAt func(host string) (target.Instance, bool)
	// Supervision reads services' runtime (state, restarts, logs) and
	// Jobs asks for runs of scheduler jobs and reads them, as for the
	// API. Nil: the service and job execution pages answer 404.
	Supervision *supervision.Service
	Jobs        *job.Service
	// Resources says which managed resources (rds, elasticache) this
	// Liftoff makes. Nil: none.
	Resources *resources.Service
	// APIKeys (the API keys page) and Variables (an environment's
	// variables and secrets page) are the API's own use cases. Nil: their
	// pages answer 404. APIURL is the base of the API's URLs the pages
	// show in examples; default: the address the page was asked at.
	APIKeys   *apikey.Service
	Variables *variables.Service
	APIURL    string
	// Clients finds a request's client address (the sign-in rate limit)
	// and whether a trusted proxy received it over TLS (Secure cookies).
	// Default (nil): the TCP peer, no proxy trusted.
	Clients *clientaddr.Resolver
	// Log receives failures, never a password or a token. Default:
	// discarded.
	Log *slog.Logger
}

// Dashboard is the web interface's handler (Mount puts its pages on a
// mux).
type Dashboard struct {
	Deps
	templates map[string]*template.Template // by page name
	static    http.Handler
	cross     *http.CrossOriginProtection
	streams   *streamLimits
}

// New parses the templates and returns the dashboard.
func New(d Deps) (*Dashboard, error) {
	if d.Projects == nil || d.Hooks == nil || d.Deployments == nil || d.Users == nil {
		return nil, fmt.Errorf("dashboard.New: Deps.Projects, Hooks, Deployments and Users are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	static, _ := fs.Sub(files, "static")
	db := &Dashboard{Deps: d, templates: pages, cross: http.NewCrossOriginProtection(), streams: newStreamLimits(maxStreamsPerUser, maxStreams)}
	db.static = http.StripPrefix("/static/", staticFiles(http.FileServerFS(static)))
	db.cross.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		db.fail(w, r, errCrossOrigin)
	}))
	return db, nil
}

// page is one entry of the page table.
type page struct {
	pattern string // "METHOD /path", as http.ServeMux takes it
	// public pages need no session (signing in, the static files).
	public bool
	need   apikey.Need
	env    envFrom
	// does says what the page does, for 403 answers: "create deploy hooks".
	does    string
	handler handler
}

// handler is a page's handler: it writes its answer itself and returns a
// failure for d.fail to answer.
type handler func(w http.ResponseWriter, r *http.Request) error

// pageTable is the one page table of the dashboard. A page that later pages
// add (API keys, variables, services, jobs) goes here, with its handler in
// the file of its resource and a template of its name; a section of its
// own goes in nav (render.go) too.
func (d *Dashboard) pageTable() []page {
	return []page{
		{pattern: "GET /static/", public: true, handler: d.serveStatic},
		{pattern: "GET /login", public: true, handler: d.loginPage},
		{pattern: "POST /login", public: true, handler: d.login},
		{pattern: "POST /logout", need: apikey.NeedRead, env: envAny, does: "sign out", handler: d.logout},
		{pattern: "GET /{$}", need: apikey.NeedRead, env: envAny, does: "open the dashboard", handler: d.home},

		{pattern: "GET /projects", need: apikey.NeedRead, env: envList, does: "list projects", handler: d.projectsPage},
		{pattern: "POST /projects", need: apikey.NeedAdmin, does: "create projects", handler: d.createProject},
		{pattern: "GET /projects/{projectId}", need: apikey.NeedRead, does: "read projects", handler: d.projectPage},
		{pattern: "POST /projects/{projectId}/sync", need: apikey.NeedAdmin, does: "sync projects", handler: d.syncProject},
		{pattern: "POST /projects/{projectId}/delete", need: apikey.NeedAdmin, does: "delete projects", handler: d.deleteProject},

		{pattern: "GET /environments/{environmentId}", need: apikey.NeedRead, env: envPath, does: "read environments", handler: d.environmentPage},
		{pattern: "GET /environments/{environmentId}/open", need: apikey.NeedRead, env: envPath, does: "open protected environments", handler: d.openProtected},
		{pattern: "POST /environments/{environmentId}/deploy-hooks", need: apikey.NeedDeploy, env: envPath, does: "create deploy hooks", handler: d.createHook},
		{pattern: "POST /deploy-hooks/{hookId}/pause", need: apikey.NeedDeploy, env: envOfHook, does: "pause deploy hooks", handler: d.pauseHook},
		{pattern: "POST /deploy-hooks/{hookId}/resume", need: apikey.NeedDeploy, env: envOfHook, does: "resume deploy hooks", handler: d.resumeHook},
		{pattern: "POST /deploy-hooks/{hookId}/rotate", need: apikey.NeedDeploy, env: envOfHook, does: "rotate deploy hooks", handler: d.rotateHook},
		{pattern: "POST /deploy-hooks/{hookId}/delete", need: apikey.NeedDeploy, env: envOfHook, does: "delete deploy hooks", handler: d.deleteHook},

		{pattern: "GET /deployments", need: apikey.NeedRead, env: envList, does: "list deployments", handler: d.deploymentsPage},
		{pattern: "GET /deployments/events", need: apikey.NeedRead, env: envList, does: "list deployments", handler: d.deploymentListEvents},
		{pattern: "GET /deployments/{deploymentId}", need: apikey.NeedRead, env: envOfDeployment, does: "read deployments", handler: d.deploymentPage},
		{pattern: "GET /deployments/{deploymentId}/events", need: apikey.NeedRead, env: envOfDeployment, does: "read deployments", handler: d.deploymentEvents},
		{pattern: "POST /deployments/{deploymentId}/cancel", need: apikey.NeedDeploy, env: envOfDeployment, does: "cancel deployments", handler: d.cancelDeployment},
		{pattern: "POST /deployments/{deploymentId}/redeploy", need: apikey.NeedDeploy, env: envOfDeployment, does: "redeploy deployments", handler: d.redeployDeployment},

		// The runtime: services, their logs and jobs, previews, deploy now.
		{pattern: "POST /environments/{environmentId}/deployments", need: apikey.NeedDeploy, env: envPath, does: "start deployments", handler: d.deployNow},
		{pattern: "POST /environments/{environmentId}/previews/{prNumber}/teardown", need: apikey.NeedDeploy, env: envPath, does: "tear down previews", handler: d.tearDownPreview},
		{pattern: "GET /services/{serviceId}", need: apikey.NeedRead, env: envOfService, does: "read services", handler: d.servicePage},
		{pattern: "GET /services/{serviceId}/logs/events", need: apikey.NeedRead, env: envOfService, does: "read service logs", handler: d.serviceLogEvents},
		{pattern: "POST /services/{serviceId}/jobs/{jobId}/run", need: apikey.NeedDeploy, env: envOfService, does: "run jobs", handler: d.runJob},
		{pattern: "GET /job-executions/{executionId}", need: apikey.NeedRead, env: envOfJobExecution, does: "read job executions", handler: d.jobExecutionPage},
		{pattern: "GET /api-keys", need: apikey.NeedRead, does: "list API keys", handler: d.apiKeysPage},
		{pattern: "POST /api-keys", need: apikey.NeedAdmin, does: "create API keys", handler: d.createAPIKey},
		{pattern: "POST /api-keys/{apiKeyId}/delete", need: apikey.NeedAdmin, does: "revoke API keys", handler: d.deleteAPIKey},
		{pattern: "GET /users", need: apikey.NeedAdmin, does: "manage users", handler: d.usersPage},
		{pattern: "POST /users", need: apikey.NeedAdmin, does: "create users", handler: d.createUser},
		{pattern: "POST /users/{userId}/role", need: apikey.NeedAdmin, does: "change users' roles", handler: d.setUserRole},
		{pattern: "POST /users/{userId}/delete", need: apikey.NeedAdmin, does: "delete users", handler: d.deleteUser},
		{pattern: "GET /environments/{environmentId}/variables", need: apikey.NeedRead, env: envPath, does: "list variables", handler: d.variablesPage},
		{pattern: "POST /environments/{environmentId}/variables", need: apikey.NeedDeploy, env: envPath, does: "set variables", handler: d.setVariable},
		{pattern: "POST /environments/{environmentId}/variables/delete", need: apikey.NeedDeploy, env: envPath, does: "delete variables", handler: d.deleteVariable},
		{pattern: "POST /environments/{environmentId}/secrets", need: apikey.NeedDeploy, env: envPath, does: "set secrets", handler: d.setSecret},
		{pattern: "POST /environments/{environmentId}/secrets/delete", need: apikey.NeedDeploy, env: envPath, does: "delete secrets", handler: d.deleteSecret},
	}
}

// Mount registers every page on mux, behind its access check, and panics
// on a page table that does not hold together (a programming error). The
// pages' paths sit beside the API's (/api/, /v1/, /healthz ...) on the
// same address; none of them is under those.
func (d *Dashboard) Mount(mux *http.ServeMux) {
	for _, p := range d.pageTable() {
		if err := p.check(); err != nil {
			panic(err)
		}
		mux.Handle(p.pattern, d.cross.Handler(d.guard(p)))
	}
}

// check refuses a page whose declaration does not hold together, so that
// a page cannot be added without saying who may open it.
func (p page) check() error {
	method, path, _ := strings.Cut(p.pattern, " ")
	switch {
	case p.handler == nil:
		return fmt.Errorf("page %s has no handler", p.pattern)
	case p.public:
		if p.need != "" || p.env != envNone || p.does != "" {
			return fmt.Errorf("public page %s takes no session: it has no need, environment or 403 text", p.pattern)
		}
		return nil
	case p.need != apikey.NeedRead && p.need != apikey.NeedDeploy && p.need != apikey.NeedAdmin:
		return fmt.Errorf("page %s declares no need (apikey.NeedRead, NeedDeploy or NeedAdmin)", p.pattern)
	case p.does == "":
		return fmt.Errorf("page %s does not say what it does, for its 403 answer", p.pattern)
	case method == http.MethodPost && p.need == apikey.NeedRead && p.env != envAny:
		return fmt.Errorf("page %s changes something: it cannot need only read", p.pattern)
	case method == http.MethodGet && p.need == apikey.NeedDeploy:
		return fmt.Errorf("page %s shows something: it needs read (its forms need more), or admin for what only admins see", p.pattern)
	case p.need == apikey.NeedDeploy && (p.env == envNone || p.env == envAny || p.env == envList):
		return fmt.Errorf("page %s is for deploy users but finds no one environment to check", p.pattern)
	case p.need == apikey.NeedAdmin && p.env != envNone:
		return fmt.Errorf("page %s is for admins only: it needs no environment", p.pattern)
	}
	if v := p.env.pathValue(); v != "" && !strings.Contains(path, "{"+v+"}") {
		return fmt.Errorf("page %s finds its environment by {%s}, which its path lacks", p.pattern, v)
	}
	return nil
}

// HasSession reports whether r comes from a browser signed in to the
// dashboard: the seam by which a signed-in member of the team may open
// what Liftoff protects for its team.
func (d *Dashboard) HasSession(r *http.Request) bool {
	_, err := d.session(r)
	return err == nil
}

// staticFiles lets browsers keep the static files for an hour: they change
// only with a new binary.
func staticFiles(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

func (d *Dashboard) serveStatic(w http.ResponseWriter, r *http.Request) error {
	if strings.HasSuffix(r.URL.Path, "/") {
		return errNotFound // no directory listings
	}
	d.static.ServeHTTP(w, r)
	return nil
}

// home sends a signed-in user to the projects.
func (d *Dashboard) home(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/projects", http.StatusSeeOther)
	return nil
}
