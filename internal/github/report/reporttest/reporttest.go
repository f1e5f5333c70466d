// Package reporttest is a fake GitHub REST API for the tests of the
// GitHub reporter (package github/report) and for end-to-end tests of
// liftoff serve --github-token: the endpoints the reporter calls, with
// the request and answer shapes of GitHub's documentation, keeping what
// was made so that lists answer it, and recording every call for the
// test to assert on.
package reporttest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a local GitHub REST API: the endpoints the reporter calls,
// with the request and answer shapes of GitHub's documentation
// (docs.github.com/rest: commits/statuses, deployments/deployments,
// deployments/statuses, issues/comments, apps/apps). It keeps what was
// made, so that lists answer it, and records every call. A request
// without GitHub's headers (Accept, X-GitHub-Api-Version, User-Agent)
// fails the test. Make it with New; its methods are safe for concurrent
// use.
type Server struct {
	t      testing.TB
	srv    *httptest.Server
	prefix string // "/api/v3" for a GitHub Enterprise Server

	mu       sync.Mutex
	calls    []Call
	nextID   int64
	statuses map[string][]map[string]any // sha -> statuses, newest first
	deps     []map[string]any            // newest first
	depStats map[int64][]map[string]any  // deployment id -> statuses, newest first
	comments map[int][]map[string]any    // issue number -> comments, oldest first

	// token is the token repository calls must carry ("Bearer" or
	// "token"): the static one, or the installation's once issued.
	token string
	// With app set, the app endpoints work and the repository calls take
	// only the installation token issued last.
	app            *rsa.PublicKey
	appID          int64
	installationID int64
	tokenExpires   time.Time
	issued         int
	// clock is the time of the App's tokens: the reporter's.
	clock func() time.Time
	// fail, when it answers a status, replaces the answer of a call.
	fail func(r *http.Request) (status int, header http.Header, body string)
}

// Call is one request the fake received.
type Call struct {
	Method string
	Path   string // without the prefix
	Query  url.Values
	Auth   string // the Authorization header
	Body   map[string]any
}

// New starts a fake GitHub that serves its API under prefix ("" as
// api.github.com does, "/api/v3" as a GitHub Enterprise Server does),
// until the test ends. It accepts no token until SetToken or SetApp.
func New(t testing.TB, prefix string) *Server {
	f := &Server{t: t, prefix: prefix, nextID: 1_000_000, statuses: map[string][]map[string]any{},
		depStats: map[int64][]map[string]any{}, comments: map[int][]map[string]any{}, clock: time.Now}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the API's root, for report.Config.BaseURL or liftoff serve
// --github-api-url.
func (f *Server) URL() string { return f.srv.URL + f.prefix }

// Handler serves the fake's API in process, without its listener: for a
// client whose transport calls it (a test in a synctest bubble, where a
// network wait is not one synctest can see).
func (f *Server) Handler() http.Handler { return http.HandlerFunc(f.serve) }

// Host is the host:port the fake listens on.
func (f *Server) Host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// Close stops the fake: calls then fail to connect.
func (f *Server) Close() { f.srv.Close() }

// SetToken makes token (a personal access token) the one repository
// calls must carry, as "Bearer <token>" or "token <token>". With an App
// set, it replaces the installation token (as if GitHub revoked it).
func (f *Server) SetToken(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.token = token
}

// SetApp makes the fake a GitHub App's: the App endpoints take a JWT
// signed with the key of pub (iss appID, valid at clock's time), the
// repositories are installed in installationID, and repository calls
// take only the installation token issued last, for an hour of clock.
func (f *Server) SetApp(pub *rsa.PublicKey, appID, installationID int64, clock func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.app, f.appID, f.installationID, f.clock = pub, appID, installationID, clock
}

// SetFail makes fail answer every call first: a status other than 0
// replaces the fake's answer with that status, header and body.
func (f *Server) SetFail(fail func(r *http.Request) (status int, header http.Header, body string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

// Calls are every call received, oldest first.
func (f *Server) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Writes are the calls that change something, oldest first (the App's
// token exchanges left out).
func (f *Server) Writes() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if c.Method != "GET" && !strings.HasPrefix(c.Path, "/app/") {
			out = append(out, c)
		}
	}
	return out
}

// CallsTo are the calls of method to the paths re matches whole, oldest
// first.
func (f *Server) CallsTo(method, re string) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if c.Method == method && regexp.MustCompile("^"+re+"$").MatchString(c.Path) {
			out = append(out, c)
		}
	}
	return out
}

// Comments are the comments on issue (or pull request) n, oldest first,
// as GitHub would list them.
func (f *Server) Comments(n int) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.comments[n])
}

// Statuses are the commit statuses of sha, newest first.
func (f *Server) Statuses(sha string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.statuses[sha])
}

// Deployments are the deployments made, newest first.
func (f *Server) Deployments() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.deps)
}

// DeploymentStatuses are the statuses of the deployment id, newest first.
func (f *Server) DeploymentStatuses(id int64) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.depStats[id])
}

// AddComment writes a comment on issue n of owner/repo, as another user
// would, and returns it.
func (f *Server) AddComment(owner, repo string, n int, body string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.newComment(owner, repo, n, body))
}

func clone(l []map[string]any) []map[string]any {
	out := make([]map[string]any, len(l))
	for i, m := range l {
		out[i] = maps.Clone(m)
	}
	return out
}

func (f *Server) id() int64 {
	f.nextID++
	return f.nextID
}

func (f *Server) user() map[string]any {
	return map[string]any{"login": "liftoff-bot", "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User",
		"html_url": "https://github.com/liftoff-bot"}
}

var (
	reStatuses     = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/statuses/([0-9a-f]{40})$`)
	reListStatuses = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/commits/([0-9a-f]{40})/statuses$`)
	reDeployments  = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/deployments$`)
	reDepStatuses  = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/deployments/(\d+)/statuses$`)
	reComments     = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$`)
	reComment      = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/issues/comments/(\d+)$`)
	reInstallation = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/installation$`)
	reAccessTokens = regexp.MustCompile(`^/app/installations/(\d+)/access_tokens$`)
)

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, f.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	c := Call{Method: r.Method, Path: path, Query: r.URL.Query(), Auth: r.Header.Get("Authorization")}
	if r.Body != nil {
		_ = json.NewDecoder(r.Body).Decode(&c.Body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	if r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" || r.Header.Get("User-Agent") == "" {
		f.t.Errorf("%s %s: Accept %q, X-GitHub-Api-Version %q, User-Agent %q", r.Method, path, r.Header.Get("Accept"),
			r.Header.Get("X-GitHub-Api-Version"), r.Header.Get("User-Agent"))
	}
	if f.fail != nil {
		if status, h, body := f.fail(r); status != 0 {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return
		}
	}
	if strings.HasPrefix(path, "/app/") || (reInstallation.MatchString(path) && r.Method == "GET") {
		f.serveApp(w, r, path, c)
		return
	}
	if !f.authorized(c.Auth) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials",
			"documentation_url": "https://docs.github.com/rest", "status": "401"})
		return
	}
	switch {
	case r.Method == "POST" && reStatuses.MatchString(path):
		m := reStatuses.FindStringSubmatch(path)
		id := f.id()
		s := map[string]any{"url": f.srv.URL + path, "avatar_url": "https://github.com/images/error/hubot_happy.gif",
			"id": id, "node_id": fmt.Sprintf("MDY6U3RhdHVz%d", id), "state": c.Body["state"], "description": c.Body["description"],
			"target_url": c.Body["target_url"], "context": c.Body["context"], "created_at": "2026-11-26T18:43:17Z",
			"updated_at": "2026-11-26T18:43:17Z", "creator": f.user()}
		f.statuses[m[3]] = append([]map[string]any{s}, f.statuses[m[3]]...)
		writeJSON(w, http.StatusCreated, s)
	case r.Method == "GET" && reListStatuses.MatchString(path):
		m := reListStatuses.FindStringSubmatch(path)
		writeJSON(w, http.StatusOK, nonNil(f.statuses[m[3]]))
	case r.Method == "POST" && reDeployments.MatchString(path):
		m := reDeployments.FindStringSubmatch(path)
		id := f.id()
		d := map[string]any{"url": fmt.Sprintf("%s/repos/%s/%s/deployments/%d", f.srv.URL, m[1], m[2], id), "id": id,
			"node_id": fmt.Sprintf("MDEwOkRlcGxveW1lbnQ%d", id), "sha": c.Body["ref"], "ref": c.Body["ref"], "task": c.Body["task"],
			"payload": c.Body["payload"], "original_environment": c.Body["environment"], "environment": c.Body["environment"],
			"description": c.Body["description"], "creator": f.user(), "created_at": "2026-11-26T18:43:17Z",
			"updated_at": "2026-11-26T18:43:17Z", "transient_environment": c.Body["transient_environment"],
			"production_environment": c.Body["production_environment"]}
		f.deps = append([]map[string]any{d}, f.deps...)
		writeJSON(w, http.StatusCreated, d)
	case r.Method == "GET" && reDeployments.MatchString(path):
		var out []map[string]any
		for _, d := range f.deps {
			if sha := c.Query.Get("sha"); sha != "" && d["sha"] != sha {
				continue
			}
			if env := c.Query.Get("environment"); env != "" && d["environment"] != env {
				continue
			}
			out = append(out, d)
		}
		f.page(w, r, nonNil(out))
	case r.Method == "POST" && reDepStatuses.MatchString(path):
		m := reDepStatuses.FindStringSubmatch(path)
		depID, _ := strconv.ParseInt(m[3], 10, 64)
		if !f.hasDeployment(depID) {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
			return
		}
		id := f.id()
		s := map[string]any{"url": f.srv.URL + path + "/" + strconv.FormatInt(id, 10), "id": id,
			"node_id": fmt.Sprintf("MDE2OkRlcGxveW1lbnRTdGF0dXM%d", id), "state": c.Body["state"], "creator": f.user(),
			"description": c.Body["description"], "environment_url": c.Body["environment_url"], "log_url": c.Body["log_url"],
			"target_url": c.Body["log_url"], "created_at": "2026-11-26T18:43:17Z", "updated_at": "2026-11-26T18:43:17Z"}
		f.depStats[depID] = append([]map[string]any{s}, f.depStats[depID]...)
		writeJSON(w, http.StatusCreated, s)
	case r.Method == "GET" && reDepStatuses.MatchString(path):
		m := reDepStatuses.FindStringSubmatch(path)
		depID, _ := strconv.ParseInt(m[3], 10, 64)
		f.page(w, r, nonNil(f.depStats[depID]))
	case r.Method == "POST" && reComments.MatchString(path):
		m := reComments.FindStringSubmatch(path)
		n, _ := strconv.Atoi(m[3])
		cm := f.newComment(m[1], m[2], n, fmt.Sprint(c.Body["body"]))
		writeJSON(w, http.StatusCreated, cm)
	case r.Method == "GET" && reComments.MatchString(path):
		m := reComments.FindStringSubmatch(path)
		n, _ := strconv.Atoi(m[3])
		f.page(w, r, nonNil(f.comments[n]))
	case r.Method == "PATCH" && reComment.MatchString(path):
		m := reComment.FindStringSubmatch(path)
		id, _ := strconv.ParseInt(m[3], 10, 64)
		for _, list := range f.comments {
			for _, cm := range list {
				if cm["id"] == id {
					cm["body"] = c.Body["body"]
					cm["updated_at"] = "2026-11-26T19:00:00Z"
					writeJSON(w, http.StatusOK, cm)
					return
				}
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	}
}

// newComment stores a comment on issue n; f.mu is held.
func (f *Server) newComment(owner, repo string, n int, body string) map[string]any {
	id := f.id()
	cm := map[string]any{"id": id, "node_id": fmt.Sprintf("MDEyOklzc3VlQ29tbWVudDE%d", id),
		"url":      fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", f.srv.URL, owner, repo, id),
		"html_url": fmt.Sprintf("https://github.com/%s/%s/pull/%d#issuecomment-%d", owner, repo, n, id),
		"body":     body, "user": f.user(), "created_at": "2026-11-26T18:43:17Z", "updated_at": "2026-11-26T18:43:17Z",
		"issue_url": fmt.Sprintf("%s/repos/%s/%s/issues/%d", f.srv.URL, owner, repo, n), "author_association": "NONE"}
	f.comments[n] = append(f.comments[n], cm)
	return cm
}

func (f *Server) hasDeployment(id int64) bool {
	for _, d := range f.deps {
		if d["id"] == id {
			return true
		}
	}
	return false
}

// page answers one page of list (per_page, default 30, and page), with
// GitHub's Link header.
func (f *Server) page(w http.ResponseWriter, r *http.Request, list []map[string]any) {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	from, to := min((page-1)*per, len(list)), min(page*per, len(list))
	if to < len(list) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		next := f.srv.URL + r.URL.Path + "?" + q.Encode()
		q.Set("page", strconv.Itoa((len(list)+per-1)/per))
		last := f.srv.URL + r.URL.Path + "?" + q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, next, last))
	}
	writeJSON(w, http.StatusOK, list[from:to])
}

// authorized reports whether a repository call carries the token.
func (f *Server) authorized(auth string) bool {
	if f.token == "" {
		return false
	}
	if f.app != nil {
		return auth == "token "+f.token && f.clock().Before(f.tokenExpires)
	}
	return auth == "Bearer "+f.token || auth == "token "+f.token
}

// serveApp answers the App's endpoints, which take the App's JWT; f.mu is
// held.
func (f *Server) serveApp(w http.ResponseWriter, r *http.Request, path string, c Call) {
	if f.app == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
		return
	}
	if err := f.verifyJWT(c.Auth); err != nil {
		f.t.Errorf("%s %s: %v", r.Method, path, err)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "A JSON web token could not be decoded",
			"documentation_url": "https://docs.github.com/rest"})
		return
	}
	switch {
	case r.Method == "GET" && reInstallation.MatchString(path):
		m := reInstallation.FindStringSubmatch(path)
		writeJSON(w, http.StatusOK, map[string]any{"id": f.installationID, "client_id": "Iv1.8a61f9b3a7aba766",
			"account":              map[string]any{"login": m[1], "id": 42, "node_id": "MDEyOk9yZ2FuaXphdGlvbjQy", "type": "Organization"},
			"repository_selection": "selected", "access_tokens_url": fmt.Sprintf("%s/app/installations/%d/access_tokens", f.srv.URL, f.installationID),
			"repositories_url": f.srv.URL + "/installation/repositories", "html_url": "https://github.com/organizations/octo-org/settings/installations/1",
			"app_id": f.appID, "target_id": 42, "target_type": "Organization",
			"permissions": map[string]any{"statuses": "write", "deployments": "write", "issues": "write", "pull_requests": "write", "metadata": "read"},
			"events":      []string{}, "created_at": "2026-01-09T12:00:00Z", "updated_at": "2026-01-09T12:00:00Z", "app_slug": "liftoff"})
	case r.Method == "POST" && reAccessTokens.MatchString(path):
		m := reAccessTokens.FindStringSubmatch(path)
		if m[1] != strconv.FormatInt(f.installationID, 10) {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		f.issued++
		f.token = fmt.Sprintf("ghs_16C7e42F292c6912E7710c838347Ae17%04d", f.issued)
		f.tokenExpires = f.clock().Add(time.Hour)
		writeJSON(w, http.StatusCreated, map[string]any{"token": f.token, "expires_at": f.tokenExpires.UTC().Format(time.RFC3339),
			"permissions": map[string]any{"statuses": "write", "deployments": "write", "issues": "write"}, "repository_selection": "selected"})
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

// verifyJWT checks the App's token as GitHub does: RS256 with the App's
// public key, iss the App's id, issued in the past, expiring within ten
// minutes.
func (f *Server) verifyJWT(auth string) error {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return fmt.Errorf("authorization %q is not a bearer JWT", redactAuth(auth))
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return fmt.Errorf("the JWT has %d parts", len(parts))
	}
	enc := base64.RawURLEncoding
	var header struct {
		Alg string `json:"alg"`
	}
	hb, err := enc.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &header) != nil || header.Alg != "RS256" {
		return fmt.Errorf("JWT header %q: want alg RS256", hb)
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(f.app, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("JWT signature: %w", err)
	}
	cb, err := enc.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var claims struct {
		Iat int64           `json:"iat"`
		Exp int64           `json:"exp"`
		Iss json.RawMessage `json:"iss"`
	}
	if err := json.Unmarshal(cb, &claims); err != nil {
		return err
	}
	if iss := strings.Trim(string(claims.Iss), `"`); iss != strconv.FormatInt(f.appID, 10) {
		return fmt.Errorf("JWT iss %s, want %d", claims.Iss, f.appID)
	}
	now := f.clock().Unix()
	if claims.Iat > now || claims.Exp <= now || claims.Exp-claims.Iat > 600 {
		return fmt.Errorf("JWT iat %d exp %d: not valid now (%d) or longer than 10 minutes", claims.Iat, claims.Exp, now)
	}
	return nil
}

func redactAuth(s string) string {
	if i := strings.IndexByte(s, ' '); i > 0 {
		return s[:i] + " …"
	}
	return "…"
}

func nonNil(l []map[string]any) []map[string]any {
	if l == nil {
		return []map[string]any{}
	}
	return l
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
