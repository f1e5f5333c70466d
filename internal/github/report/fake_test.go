package report_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
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

// fakeGitHub is a local GitHub REST API: the endpoints the reporter calls,
// with the request and answer shapes of GitHub's documentation
// (docs.github.com/rest: commits/statuses, deployments/deployments,
// deployments/statuses, issues/comments, apps/apps). It keeps what was
// made, so that lists answer it, and records every call.
type fakeGitHub struct {
	t      *testing.T
	srv    *httptest.Server
	prefix string // "/api/v3" for a GitHub Enterprise Server

	mu       sync.Mutex
	calls    []call
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

// call is one request the fake received.
type call struct {
	Method string
	Path   string // without the prefix
	Query  url.Values
	Auth   string
	Body   map[string]any
}

func newFake(t *testing.T, prefix string) *fakeGitHub {
	f := &fakeGitHub{t: t, prefix: prefix, nextID: 1_000_000, statuses: map[string][]map[string]any{},
		depStats: map[int64][]map[string]any{}, comments: map[int][]map[string]any{}, clock: time.Now}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) baseURL() string { return f.srv.URL + f.prefix }

// writes are the calls that change something.
func (f *fakeGitHub) writes() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Method != "GET" && !strings.HasPrefix(c.Path, "/app/") {
			out = append(out, c)
		}
	}
	return out
}

// callsTo are the calls of method to paths matching re.
func (f *fakeGitHub) callsTo(method, re string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Method == method && regexp.MustCompile("^"+re+"$").MatchString(c.Path) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeGitHub) id() int64 {
	f.nextID++
	return f.nextID
}

func (f *fakeGitHub) user() map[string]any {
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

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, f.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	c := call{Method: r.Method, Path: path, Query: r.URL.Query(), Auth: r.Header.Get("Authorization")}
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
func (f *fakeGitHub) newComment(owner, repo string, n int, body string) map[string]any {
	id := f.id()
	cm := map[string]any{"id": id, "node_id": fmt.Sprintf("MDEyOklzc3VlQ29tbWVudDE%d", id),
		"url":      fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", f.srv.URL, owner, repo, id),
		"html_url": fmt.Sprintf("https://github.com/%s/%s/pull/%d#issuecomment-%d", owner, repo, n, id),
		"body":     body, "user": f.user(), "created_at": "2026-11-26T18:43:17Z", "updated_at": "2026-11-26T18:43:17Z",
		"issue_url": fmt.Sprintf("%s/repos/%s/%s/issues/%d", f.srv.URL, owner, repo, n), "author_association": "NONE"}
	f.comments[n] = append(f.comments[n], cm)
	return cm
}

func (f *fakeGitHub) hasDeployment(id int64) bool {
	for _, d := range f.deps {
		if d["id"] == id {
			return true
		}
	}
	return false
}

// page answers one page of list (per_page, default 30, and page), with
// GitHub's Link header.
func (f *fakeGitHub) page(w http.ResponseWriter, r *http.Request, list []map[string]any) {
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
func (f *fakeGitHub) authorized(auth string) bool {
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
func (f *fakeGitHub) serveApp(w http.ResponseWriter, r *http.Request, path string, c call) {
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
func (f *fakeGitHub) verifyJWT(auth string) error {
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
