package protect

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/clientaddr"
	"github.com/liftoffhq/liftoff/internal/keylimit"
	"github.com/liftoffhq/liftoff/internal/target"
)

// Defaults of Config.
const (
	DefaultPasswordTTL = 7 * 24 * time.Hour
	DefaultLoginLimit  = 10
)

// LoginPath is where the password form posts, on the protected host
// itself. The gate keeps it on protected hosts; on public ones it is the
// service's.
const LoginPath = "/.liftoff/login"

// The gate's cookies, host-only (no Domain): one host's never reach
// another.
const (
	// accessCookie holds a share link's token, or a password's.
	accessCookie = "liftoff_access"
	// csrfCookie holds the nonce of the password form's CSRF token.
	csrfCookie = "liftoff_csrf"
)

// csrfTTL is how long a password form may be posted after it was served.
const csrfTTL = time.Hour

// maxForm bounds the body of a login.
const maxForm = 8 << 10

//go:embed page.html
var pageHTML string

// Instances tells which instance serves a host: the local target's
// InstanceAt, which reads the proxy's route table.
type Instances interface {
	InstanceAt(host string) (target.Instance, bool)
}

// Config configures a Gate.
type Config struct {
	// Protection holds the settings and the keys. Required.
	Protection *Service
	// Instances tells which instance a request's Host leads to. Required.
	Instances Instances
	// Clients finds a request's client address (the login rate limit)
	// and whether a trusted proxy in front received it over TLS (Secure
	// cookies). Default (nil): the TCP peer, no proxy trusted.
	Clients *clientaddr.Resolver
	// Log receives refused logins and the gate's failures; never a
	// password or a token. Default: discarded.
	Log *slog.Logger
	// Session, when set, reports whether a request comes from a member
	// of the team signed in to Liftoff: such a request opens every
	// protected environment. A browser does not send the dashboard's
	// cookie (the API's host) to a preview's host, so Liftoff leaves it
	// nil and uses SignInURL instead; it is the seam for a session shared
	// across hosts.
	Session func(*http.Request) bool
	// SignInURL, when set, is the dashboard's base URL (liftoff serve
	// --public-url): the page of a protected host links to the
	// dashboard's /environments/{id}/open, where a signed-in member of
	// the team who may read the environment is sent back with a share
	// link of a few hours. Empty: no link.
	SignInURL string
	// PasswordTTL is how long the cookie a right password sets opens
	// the environment. Default DefaultPasswordTTL (7 days).
	PasswordTTL time.Duration
	// LoginLimit is how many password attempts a client address may
	// make per minute, across every protected host. Default
	// DefaultLoginLimit.
	LoginLimit int
}

// Gate is the HTTP handler in front of the proxy that lets through to
// protected environments only the requests that may open them (see the
// package doc). Requests to public environments, and to hosts where
// nothing is deployed, go to the proxy as they are.
type Gate struct {
	cfg    Config
	svc    *Service
	next   http.Handler
	log    *slog.Logger
	page   *template.Template
	logins *keylimit.Limiter
	cross  *http.CrossOriginProtection
}

// NewGate returns the gate in front of next.
func NewGate(next http.Handler, cfg Config) (*Gate, error) {
	if cfg.Protection == nil || cfg.Instances == nil || next == nil {
		return nil, errors.New("protect: Config.Protection, Config.Instances and the proxy are required")
	}
	if cfg.PasswordTTL <= 0 {
		cfg.PasswordTTL = DefaultPasswordTTL
	}
	if cfg.LoginLimit <= 0 {
		cfg.LoginLimit = DefaultLoginLimit
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	page, err := template.New("page").Parse(pageHTML)
	if err != nil {
		return nil, fmt.Errorf("protect: the page template: %w", err)
	}
	return &Gate{cfg: cfg, svc: cfg.Protection, next: next, log: cfg.Log, page: page,
		logins: keylimit.New(cfg.LoginLimit), cross: http.NewCrossOriginProtection()}, nil
}

// ServeHTTP lets r through to the proxy, or answers it.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inst, ok := g.cfg.Instances.InstanceAt(r.Host)
	if !ok {
		g.next.ServeHTTP(w, r)
		return
	}
	rl, err := g.svc.rule(r.Context(), inst.EnvironmentID)
	if err != nil {
		g.log.Warn("protect: cannot read the protection of an environment", "environment", inst.EnvironmentID, "err", err)
		serveUnavailable(w, r)
		return
	}
	if !rl.protected {
		g.next.ServeHTTP(w, r)
		return
	}
	now := g.svc.Now()
	switch {
	case r.URL.Path == LoginPath:
		g.login(w, r, inst, rl, now)
	case strings.Contains(r.URL.RawQuery, ShareParam+"=") && r.URL.Query().Has(ShareParam):
		g.share(w, r, inst, rl, now)
	case g.admitted(r, inst, rl, now):
		g.next.ServeHTTP(w, withoutOwnCookies(r))
	default:
		g.deny(w, r, inst, rl, http.StatusUnauthorized, "", requestNext(r))
	}
}

// admitted reports whether r carries a cookie that opens inst, or comes
// from a signed-in member of the team.
func (g *Gate) admitted(r *http.Request, inst target.Instance, rl rule, now time.Time) bool {
	for _, c := range r.CookiesNamed(accessCookie) {
		cl, err := openToken(g.svc.Keys, c.Value)
		if err != nil || cl.expired(now) {
			continue
		}
		if cl.matches(forShare, inst.EnvironmentID, inst.PRNumber) {
			return true
		}
		// A password cookie holds while the password it was given for is
		// the environment's.
		if cl.matches(forPassword, inst.EnvironmentID, inst.PRNumber) && len(rl.version) > 0 &&
			subtle.ConstantTimeCompare(cl.extra, rl.version) == 1 {
			return true
		}
	}
	return g.cfg.Session != nil && g.cfg.Session(r)
}

// share opens inst with the share link r carries: its token becomes the
// host's cookie, and the client is sent to the same URL without it.
func (g *Gate) share(w http.ResponseWriter, r *http.Request, inst target.Instance, rl rule, now time.Time) {
	next := withoutShare(r.URL)
	tok := r.URL.Query().Get(ShareParam)
	cl, err := openToken(g.svc.Keys, tok)
	if err != nil || !cl.matches(forShare, inst.EnvironmentID, inst.PRNumber) {
		g.log.Info("protect: share link refused: not valid here", "host", r.Host, "client", g.cfg.Clients.Client(r))
		g.deny(w, r, inst, rl, http.StatusUnauthorized,
			"This share link is not valid: it was altered, or made for another environment or pull request. Ask the team for a new one.", next)
		return
	}
	if cl.expired(now) {
		g.log.Info("protect: share link refused: expired", "host", r.Host, "expired_at", cl.expires, "client", g.cfg.Clients.Client(r))
		g.deny(w, r, inst, rl, http.StatusUnauthorized,
			"This share link expired at "+cl.expires.UTC().Format(time.RFC3339)+". Ask the team for a new one.", next)
		return
	}
	g.setCookie(w, r, &http.Cookie{Name: accessCookie, Value: tok, Path: "/", Expires: cl.expires,
		MaxAge: max(1, int(cl.expires.Sub(now)/time.Second)), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// login checks a posted password and, when it is right, sets the cookie
// that opens inst and sends the client where it was going.
func (g *Gate) login(w http.ResponseWriter, r *http.Request, inst target.Instance, rl rule, now time.Time) {
	if r.Method != http.MethodPost {
		g.deny(w, r, inst, rl, http.StatusUnauthorized, "", "/")
		return
	}
	if err := g.cross.Check(r); err != nil {
		g.deny(w, r, inst, rl, http.StatusForbidden, "The password was sent from another site. Type it on this page.", "/")
		return
	}
	client := g.cfg.Clients.Client(r)
	if ok, wait := g.logins.Take(client, now); !ok {
		g.log.Warn("protect: password attempts rate limited", "host", r.Host, "client", client)
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		g.deny(w, r, inst, rl, http.StatusTooManyRequests,
			fmt.Sprintf("Too many password attempts from your address. Try again in %d seconds.", int((wait+time.Second-1)/time.Second)), "/")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		g.deny(w, r, inst, rl, http.StatusBadRequest, "The form could not be read. Type the password again.", "/")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if !g.csrfOK(r, inst, now) {
		g.deny(w, r, inst, rl, http.StatusForbidden, "This form expired or did not come from this page. Type the password again.", next)
		return
	}
	if len(rl.version) == 0 {
		g.deny(w, r, inst, rl, http.StatusUnauthorized, "This environment has no password. Ask the team for a share link.", next)
		return
	}
	right, err := g.svc.checkPassword(rl, inst.EnvironmentID, r.PostForm.Get("password"))
	if err != nil {
		g.log.Error("protect: cannot check a password", "environment", inst.EnvironmentID, "err", err)
		serveUnavailable(w, r)
		return
	}
	if !right {
		g.log.Info("protect: wrong password", "host", r.Host, "client", client)
		g.deny(w, r, inst, rl, http.StatusUnauthorized, "That password is not right.", next)
		return
	}
	expires := now.Add(g.cfg.PasswordTTL).Truncate(time.Second)
	tok, err := sealToken(g.svc.Keys, claims{purpose: forPassword, environmentID: inst.EnvironmentID, prNumber: inst.PRNumber,
		expires: expires, extra: rl.version})
	if err != nil {
		g.log.Error("protect: cannot seal a cookie", "err", err)
		serveUnavailable(w, r)
		return
	}
	g.setCookie(w, r, &http.Cookie{Name: accessCookie, Value: tok, Path: "/", Expires: expires,
		MaxAge: int(g.cfg.PasswordTTL / time.Second), SameSite: http.SameSiteLaxMode})
	g.setCookie(w, r, &http.Cookie{Name: csrfCookie, Value: "", Path: "/", MaxAge: -1, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// csrfOK reports whether a login carries the CSRF token of a form this
// gate served for inst, and the nonce cookie that goes with it.
func (g *Gate) csrfOK(r *http.Request, inst target.Instance, now time.Time) bool {
	cl, err := openToken(g.svc.Keys, r.PostForm.Get("csrf"))
	if err != nil || !cl.matches(forCSRF, inst.EnvironmentID, inst.PRNumber) || cl.expired(now) {
		return false
	}
	for _, c := range r.CookiesNamed(csrfCookie) {
		if nonce, ok := decodeNonce(c.Value); ok && subtle.ConstantTimeCompare(nonce, cl.extra) == 1 {
			return true
		}
	}
	return false
}

// page is what the page template shows.
type page struct {
	Title       string
	Host        string
	What        string
	Message     string
	HasPassword bool
	Action      string
	CSRF        string
	Next        string
	SignIn      string
}

// deny answers status with the page of a protected host: what it is, the
// message, and the password form when the environment has a password.
// next is where a right password leads.
func (g *Gate) deny(w http.ResponseWriter, r *http.Request, inst target.Instance, rl rule, status int, msg, next string) {
	p := page{Title: "Protected by Liftoff", Host: hostOnly(r.Host), Message: msg, Action: LoginPath, Next: next,
		HasPassword: len(rl.version) > 0}
	if g.cfg.SignInURL != "" {
		scheme := "http://"
		if g.overTLS(r) {
			scheme = "https://"
		}
		q := url.Values{"origin": {scheme + r.Host}}
		if inst.PRNumber > 0 {
			q.Set("pr", strconv.Itoa(inst.PRNumber))
		}
		p.SignIn = g.cfg.SignInURL + "/environments/" + strconv.FormatInt(inst.EnvironmentID, 10) + "/open?" + q.Encode()
	}
	if inst.PRNumber > 0 {
		p.What = fmt.Sprintf("the preview of pull request #%d (%s)", inst.PRNumber, inst.EnvGivenID)
	} else {
		p.What = "an environment (" + inst.EnvGivenID + ")"
	}
	if p.HasPassword {
		nonce := g.csrfNonce(w, r)
		tok, err := sealToken(g.svc.Keys, claims{purpose: forCSRF, environmentID: inst.EnvironmentID, prNumber: inst.PRNumber,
			expires: g.svc.Now().Add(csrfTTL), extra: nonce})
		if err != nil {
			g.log.Error("protect: cannot seal a form's token", "err", err)
			serveUnavailable(w, r)
			return
		}
		p.CSRF = tok
	}
	var body bytes.Buffer
	if err := g.page.Execute(&body, p); err != nil {
		g.log.Error("protect: render the page", "err", err)
		serveUnavailable(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body.Bytes())
	}
}

// csrfNonce returns the nonce of the client's CSRF cookie, setting a new
// one when it has none: forms served in several tabs share it. The
// cookie goes with every request to the host (Path=/, SameSite=Lax), so
// that any page of it shows a form that matches the others, also when a
// link from another site led there.
func (g *Gate) csrfNonce(w http.ResponseWriter, r *http.Request) []byte {
	for _, c := range r.CookiesNamed(csrfCookie) {
		if nonce, ok := decodeNonce(c.Value); ok {
			return nonce
		}
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	g.setCookie(w, r, &http.Cookie{Name: csrfCookie, Value: base64.RawURLEncoding.EncodeToString(nonce), Path: "/",
		SameSite: http.SameSiteLaxMode})
	return nonce
}

func decodeNonce(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return b, err == nil && len(b) == 16
}

// setCookie sets one of the gate's cookies: HttpOnly, and Secure when the
// request came over TLS (to Liftoff, or to a trusted proxy in front).
func (g *Gate) setCookie(w http.ResponseWriter, r *http.Request, c *http.Cookie) {
	c.HttpOnly = true
	c.Secure = g.overTLS(r)
	http.SetCookie(w, c)
}

// overTLS reports whether r came over TLS: to Liftoff, or to a trusted
// proxy that says so in X-Forwarded-Proto.
func (g *Gate) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && g.cfg.Clients.Trusted(peer.Addr()) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// withoutOwnCookies returns r without the gate's cookies, so that the
// service (a pull request's code, for a preview) never receives them.
func withoutOwnCookies(r *http.Request) *http.Request {
	cookies := r.Cookies()
	keep := cookies[:0:0]
	for _, c := range cookies {
		if c.Name != accessCookie && c.Name != csrfCookie {
			keep = append(keep, c)
		}
	}
	if len(keep) == len(cookies) {
		return r
	}
	r = r.Clone(r.Context())
	r.Header.Del("Cookie")
	for _, c := range keep {
		r.AddCookie(c)
	}
	return r
}

// withoutShare is u's path and query without the share parameter, as a
// Location on the same host; the other parameters keep their order.
func withoutShare(u *url.URL) string {
	var kept []string
	for part := range strings.SplitSeq(u.RawQuery, "&") {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); part == "" || (err == nil && n == ShareParam) {
			continue
		}
		kept = append(kept, part)
	}
	out := u.EscapedPath()
	if out == "" || !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		out = "/"
	}
	if len(kept) > 0 {
		out += "?" + strings.Join(kept, "&")
	}
	return out
}

// requestNext is where a right password leads from the page r got: back
// to r's URL when it was a GET, else to /.
func requestNext(r *http.Request) string {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "/"
	}
	return safeNext(r.URL.RequestURI())
}

// safeNext keeps next when it is a path on the same host, else "/": a
// login never sends the client to another site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") ||
		u.Path == LoginPath {
		return "/"
	}
	return next
}

// hostOnly is a Host header without its port.
func hostOnly(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		return host[:i]
	}
	return host
}

// serveUnavailable answers 503 when the gate cannot decide.
func serveUnavailable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Retry-After", "5")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method != http.MethodHead {
		_, _ = fmt.Fprintf(w, "503 Service Unavailable\n\nLiftoff cannot check who may open %s now: its database does not answer. Try again in a few seconds.\n", hostOnly(r.Host))
	}
}
