package dashboard

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/token"
	"github.com/liftoffhq/liftoff/internal/user"
)

// Cookies of the dashboard. All are HttpOnly and SameSite=Lax, and Secure
// when the request came over TLS.
const (
	// sessionCookie carries the session's token; only its hash is stored.
	sessionCookie = "liftoff_session"
	// loginCookie carries the sign-in form's CSRF token before there is a
	// session: the form's hidden field must match it.
	loginCookie = "liftoff_login"
)

// session returns the live session of r's cookie.
func (d *Dashboard) session(r *http.Request) (liftoff.Session, error) {
	tok, ok := sessionToken(r)
	if !ok {
		return liftoff.Session{}, user.ErrNoSession
	}
	return d.Users.Session(r.Context(), tok)
}

func sessionToken(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "", false
	}
	return c.Value, true
}

// csrfToken is the CSRF token of a session: derived from its token, which
// only the session's cookie carries, so a page of another site can neither
// read nor guess it, and nothing more is stored.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("liftoff dashboard csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF checks the csrf field of a form against the expected token.
func validCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue("csrf")
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// overTLS reports whether the browser reached Liftoff over TLS: directly,
// or through a trusted proxy that says so.
func (d *Dashboard) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && d.Clients.Trusted(peer.Addr().Unmap()) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (d *Dashboard) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: d.overTLS(r)}
}

func (d *Dashboard) setSessionCookie(w http.ResponseWriter, r *http.Request, tok string, expires time.Time) {
	http.SetCookie(w, d.cookie(r, sessionCookie, tok, max(int(time.Until(expires).Seconds()), 1)))
}

// loginData is what the sign-in page shows.
type loginData struct {
	Email string
	Next  string
	// Error is why the last attempt was refused, shown above the fields it
	// concerns.
	Error string
	// LoginCSRF is the form's token, also in loginCookie.
	LoginCSRF string
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := d.session(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return d.renderLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// renderLogin shows the sign-in form with a fresh CSRF token.
func (d *Dashboard) renderLogin(w http.ResponseWriter, r *http.Request, status int, data loginData) error {
	data.LoginCSRF = token.New("")
	http.SetCookie(w, d.cookie(r, loginCookie, data.LoginCSRF, 3600))
	return d.render(w, r, status, "login", "Sign in", data)
}

// login checks the sign-in form and starts a session.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) error {
	data := loginData{Email: strings.TrimSpace(r.PostFormValue("email")), Next: safeNext(r.PostFormValue("next"))}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		data.Error = errBadCSRF.Message
		return d.renderLogin(w, r, http.StatusForbidden, data)
	}
	in, err := d.Users.Login(r.Context(), user.LoginParams{Email: data.Email, Password: r.PostFormValue("password"),
		Address: d.Clients.Client(r)})
	if err != nil {
		fe := fail.As(err)
		if fe == nil || (fe.Kind != fail.Unauthorized && fe.Kind != fail.RateLimited) {
			return err
		}
		status := http.StatusUnauthorized
		if fe.Kind == fail.RateLimited {
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", retryAfter(fe.RetryAfter))
		}
		data.Error = fe.Message
		return d.renderLogin(w, r, status, data)
	}
	http.SetCookie(w, d.cookie(r, loginCookie, "", -1))
	d.setSessionCookie(w, r, in.Token, in.Session.ExpiresAt)
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
	return nil
}

// logout ends the session and forgets its cookie.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) error {
	if tok, ok := sessionToken(r); ok {
		if err := d.Users.Logout(r.Context(), tok); err != nil {
			return err
		}
	}
	http.SetCookie(w, d.cookie(r, sessionCookie, "", -1))
	setFlash(w, r, d, "You are signed out.")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// safeNext is where to go after signing in: a path of this site, or the
// home page. Anything else (another site, //host, /\host) is the home page,
// so the sign-in page cannot send anybody elsewhere.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n\t") {
		return "/"
	}
	return next
}
