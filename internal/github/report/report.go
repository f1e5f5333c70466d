// Package report tells GitHub how Liftoff's deployments went: a sink of
// package notify's events that, for a project whose repository is on
// GitHub (or a GitHub Enterprise Server) and a deployment whose commit is
// known, sets
//
//   - a commit status on the commit, context "liftoff/<environment>":
//     pending while queued and running, then success, failure or error,
//     linking to the deployment's page of the dashboard;
//   - a GitHub deployment of the commit to the environment (a preview's
//     is "<environment> (PR #n)", transient), with statuses queued,
//     in_progress, then success, failure, error or inactive (cancelled),
//     the environment's URL (its first web service's) and the log's;
//   - for a preview, one comment on the pull request per preview instance,
//     made the first time and edited in place after: a table of the
//     services with their URLs and statuses.
//
// It keeps nothing: GitHub is the memory. The GitHub deployment of a
// Liftoff deployment is found again by listing the deployments of the
// commit and environment (its payload names the Liftoff deployment); the
// comment by a hidden marker in its body. So any replica may deliver any
// event, and delivering one twice (notify delivers at least once) changes
// nothing the second time: a status already set, or a later one, is not
// set again; a comment showing the same or a later event is not edited.
// One replica edits a pull request's comment one event at a time; two
// replicas delivering two deployments' events of one preview at once
// could still leave the older one showing until the next event.
//
// Plugging it in: make one Reporter with New at start (--github-token, or
// --github-app-id and --github-app-key-file; --github-api-url for GitHub
// Enterprise; --public-url for the links) and give it to notify's queue as
// a sink: its Deliver has the signature notify's Sink asks for. An error
// that wraps ErrPermanent will fail again however often it is retried
// (a 4xx answer: no access, unknown repository, a refused payload): the
// queue gives it up. Any other error is worth retrying; when GitHub said
// how long to wait (Retry-After, or the rate limit's reset), the error's
// RetryAfter method says it, and the queue waits at least that long.
package report

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/github"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/notify"
)

// DefaultBaseURL is github.com's REST API.
const DefaultBaseURL = "https://api.github.com"

// Config is what a Reporter needs. Give Token, or AppID and
// AppPrivateKey.
type Config struct {
	// BaseURL is the REST API's root: DefaultBaseURL when empty; a GitHub
	// Enterprise Server's is https://HOST/api/v3.
	BaseURL string
	// Token is a personal access token (classic or fine-grained) or any
	// other token GitHub takes as a bearer token. It is never logged.
	Token string
	// AppID and AppPrivateKey (PEM, PKCS#1 or PKCS#8 RSA) authenticate as
	// a GitHub App instead: each repository's installation is looked up,
	// and its installation token used and kept until shortly before it
	// expires.
	AppID         int64
	AppPrivateKey []byte
	// PublicURL is the dashboard's base URL (--public-url): statuses link
	// to PublicURL/deployments/<id>. No link when empty.
	PublicURL string
	// HTTPClient makes the calls; http.DefaultClient when nil. Give it a
	// timeout.
	HTTPClient *http.Client
	Log        *slog.Logger
	// Now is the clock of the App's tokens; time.Now when nil.
	Now func() time.Time
}

// Reporter is the GitHub sink. It is safe for concurrent use.
type Reporter struct {
	base      *url.URL
	hosts     []string // the hosts the repositories' URLs name
	token     string
	appID     int64
	key       *rsa.PrivateKey
	publicURL string
	hc        *http.Client
	log       *slog.Logger
	now       func() time.Time

	// comments serialize the edits of one pull request's comment (by a
	// hash of repository and pull request): two deployments' events
	// delivered at once would otherwise both read it, and the older
	// one's edit could land last. A channel of one, a lock that a
	// waiting caller's context ends.
	comments [64]chan struct{}

	mu            sync.Mutex
	installations map[string]int64          // "owner/name" (lowercase) -> installation id
	tokens        map[int64]installationKey // installation id -> its token
}

// New checks cfg and makes a Reporter.
func New(cfg Config) (*Reporter, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("github api url %q: want an http(s) URL such as %s or https://HOST/api/v3", cfg.BaseURL, DefaultBaseURL)
	}
	r := &Reporter{base: base, token: cfg.Token, appID: cfg.AppID, publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		hc: cfg.HTTPClient, log: cfg.Log, now: cfg.Now,
		installations: map[string]int64{}, tokens: map[int64]installationKey{}}
	for i := range r.comments {
		r.comments[i] = make(chan struct{}, 1)
	}
	switch {
	case cfg.Token != "" && (cfg.AppID != 0 || len(cfg.AppPrivateKey) > 0):
		return nil, errors.New("github: give a token or a GitHub App, not both")
	case cfg.Token == "" && cfg.AppID == 0:
		return nil, errors.New("github: give a token, or a GitHub App's id and private key")
	case cfg.AppID != 0:
		if cfg.AppID < 0 {
			return nil, fmt.Errorf("github app id %d: want the App's positive id", cfg.AppID)
		}
		if r.key, err = parsePrivateKey(cfg.AppPrivateKey); err != nil {
			return nil, fmt.Errorf("github app private key: %w", err)
		}
	}
	if r.hc == nil {
		r.hc = http.DefaultClient
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	host := strings.ToLower(base.Hostname())
	if host == "api.github.com" {
		r.hosts = []string{"github.com"}
	} else {
		// GitHub Enterprise Server serves the API at https://HOST/api/v3 and
		// the repositories at https://HOST; GHE.com at api.SUBDOMAIN.ghe.com.
		r.hosts = []string{host, strings.TrimPrefix(host, "api.")}
	}
	return r, nil
}

// Deliver tells GitHub of one event: the commit status, the GitHub
// deployment and its status, and, for a preview, the pull request's
// comment. An event of a project with no GitHub repository, or of a
// deployment whose commit is not known yet, has nothing to tell: nil.
// Delivering an event again changes nothing. The error wraps ErrPermanent
// when retrying cannot help.
func (r *Reporter) Deliver(ctx context.Context, ev notify.Event) error {
	repo, ok := r.repository(ev.Project)
	if !ok {
		return nil
	}
	sha := commitOf(ev.Deployment)
	if sha == "" {
		// A deployment of a branch head learns its commit once it has
		// fetched, after it started: its start is told again, later, so
		// the commit shows it running. Once it ended without one (it
		// failed to fetch), there is nothing to tell.
		if ev.Type == notify.EventStarted && !ev.Deployment.Status.Final() {
			return ErrNoCommitYet
		}
		r.log.DebugContext(ctx, "github report: no commit yet", "event", ev.ID)
		return nil
	}
	st, ok := stateOf(ev)
	if !ok {
		return nil
	}
	rr := repoRef{repo: repo, sha: sha}
	if err := r.commitStatus(ctx, rr, ev, st); err != nil {
		return fmt.Errorf("github commit status of %s for event %s: %w", repo, ev.ID, err)
	}
	if err := r.deployment(ctx, rr, ev, st); err != nil {
		return fmt.Errorf("github deployment of %s for event %s: %w", repo, ev.ID, err)
	}
	if ev.Deployment.PRNumber > 0 {
		if err := r.comment(ctx, rr, ev, st); err != nil {
			return fmt.Errorf("github comment on %s#%d for event %s: %w", repo, ev.Deployment.PRNumber, ev.ID, err)
		}
	}
	return nil
}

// ErrNoCommitYet is Deliver's error for the start of a deployment whose
// commit is not resolved yet: worth retrying.
var ErrNoCommitYet = errors.New("the deployment's commit is not resolved yet: its start is told once it is")

// repoRef is the repository ("owner/name") and commit an event is about.
type repoRef struct {
	repo string
	sha  string
}

// repository is the "owner/name" of the project's GitHub repository: the
// one it was linked to, else the one its repository URL names on this
// GitHub's host.
func (r *Reporter) repository(p liftoff.Project) (string, bool) {
	if p.GitHubRepository != "" {
		return github.FullName(p.GitHubRepository)
	}
	return github.FullName(p.RepoURL, r.hosts...)
}

// commitOf is the deployment's full commit id: the resolved one, else the
// one asked for when it is a full id.
func commitOf(d liftoff.Deployment) string {
	if isSHA(d.GitCommit) {
		return d.GitCommit
	}
	if isSHA(d.RequestedCommit) {
		return d.RequestedCommit
	}
	return ""
}

func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// deploymentURL is the dashboard's page of a deployment, or "".
func (r *Reporter) deploymentURL(id string) string {
	if r.publicURL == "" {
		return ""
	}
	return r.publicURL + "/deployments/" + url.PathEscape(id)
}

// environmentName is the GitHub environment of an event's deployment.
func environmentName(ev notify.Event) string {
	name := ev.Environment.GivenID
	if name == "" {
		name = ev.Deployment.EnvironmentGivenID
	}
	if ev.Deployment.PRNumber > 0 {
		return fmt.Sprintf("%s (PR #%d)", name, ev.Deployment.PRNumber)
	}
	return name
}
