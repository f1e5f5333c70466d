package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/user"
)

// envFrom says where a page finds the environment a request is about,
// which a deploy user must name.
type envFrom int

const (
	// envNone: the page is about no one environment; deploy users are
	// refused, as deploy keys are by the API.
	envNone envFrom = iota
	// envAny: the page is about no environment, and every signed-in user
	// may open it (signing out, the home page).
	envAny
	// envList: a listing, limited to a deploy user's environments; its
	// environmentId query parameter, when given, must be one of them.
	envList
	// envPath: the {environmentId} path value.
	envPath
	// envOfHook: the environment of the {hookId} path value's hook.
	envOfHook
	// envOfDeployment: the environment of the {deploymentId} path value's
	// deployment (a preview environment for a preview's).
	envOfDeployment
	// envOfService: the environment of the {serviceId} path value's
	// service.
	envOfService
	// envOfJobExecution: the environment of the {executionId} path
	// value's job execution.
	envOfJobExecution
)

// pathValue is the path value each source reads, "" for none.
func (e envFrom) pathValue() string {
	return [...]string{envNone: "", envAny: "", envList: "", envPath: "environmentId", envOfHook: "hookId", envOfDeployment: "deploymentId",
		envOfService: "serviceId", envOfJobExecution: "executionId"}[e]
}

// viewer is who a request comes from: a signed-in user, with the CSRF
// token of the session.
type viewer struct {
	User  liftoff.User
	Scope apikey.Scope
	CSRF  string
}

// may reports whether the viewer may take an action that needs n on
// environment env (0: an action about no one environment).
func (v *viewer) may(n apikey.Need, env int64) bool {
	if env == 0 {
		return v.Scope.Allows(n, false)
	}
	return v.Scope.Allows(n, true) && v.Scope.Reaches(v.User.EnvironmentIDs, env)
}

// limited returns the environments a deploy user's listings show, and
// whether its listings are limited at all.
func (v *viewer) limited() ([]int64, bool) {
	if v.Scope != apikey.Deploy {
		return nil, false
	}
	return append([]int64{}, v.User.EnvironmentIDs...), true
}

type viewerKey struct{}

// viewerOf returns the viewer the guard put in r's context.
func viewerOf(r *http.Request) *viewer {
	v, _ := r.Context().Value(viewerKey{}).(*viewer)
	return v
}

var (
	errNotFound    = fail.New(fail.NotFound, "There is no such page, or you may not see it")
	errBadCSRF     = fail.New(fail.Forbidden, "This form expired or did not come from Liftoff's own page: reload the page and try again")
	errCrossOrigin = fail.New(fail.Forbidden, "This request came from another site, so it was refused: use Liftoff's own pages")
)

// guard wraps a page's handler with its access check: a session (or the
// sign-in page), the CSRF token of a POST, the role against the page's
// need (403), and that a deploy user names the environment the request is
// about (404, as for a page that does not exist, so the ids of other
// environments do not leak). Then it serves, with the viewer in the
// request's context.
func (d *Dashboard) guard(p page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		if p.public {
			d.serve(w, r, p.handler)
			return
		}
		sess, err := d.session(r)
		if errors.Is(err, user.ErrNoSession) {
			d.toLogin(w, r)
			return
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		tok, _ := sessionToken(r)
		v := &viewer{User: sess.User, Scope: apikey.Scope(sess.User.Role), CSRF: csrfToken(tok)}
		r = r.WithContext(context.WithValue(r.Context(), viewerKey{}, v))
		if r.Method == http.MethodPost && !validCSRF(r, v.CSRF) {
			d.fail(w, r, errBadCSRF)
			return
		}
		if err := d.allow(r, p, v); err != nil {
			d.fail(w, r, err)
			return
		}
		// The cookie's expiry slides with the session's.
		d.setSessionCookie(w, r, tok, sess.ExpiresAt)
		d.serve(w, r, p.handler)
	})
}

// serve runs h and answers its failure.
func (d *Dashboard) serve(w http.ResponseWriter, r *http.Request, h handler) {
	if err := h(w, r); err != nil {
		d.fail(w, r, err)
	}
}

// allow checks the viewer's role against the page, as the API's guard
// checks a key's scope against a route.
func (d *Dashboard) allow(r *http.Request, p page, v *viewer) error {
	if p.env == envAny {
		if !v.Scope.Allows(apikey.NeedRead, true) {
			return forbidden(v, p) // an unknown role may do nothing
		}
		return nil
	}
	if !v.Scope.Allows(p.need, p.env != envNone) {
		return forbidden(v, p)
	}
	if v.Scope != apikey.Deploy {
		return nil
	}
	env, err := d.environmentOf(r, p.env)
	if err != nil || env == 0 {
		return err
	}
	if !v.Scope.Reaches(v.User.EnvironmentIDs, env) {
		return errNotFound
	}
	return nil
}

// forbidden refuses a role the page does not take, saying what it needs.
func forbidden(v *viewer, p page) error {
	var could []string
	if apikey.Read.Allows(p.need, p.env != envNone) {
		could = append(could, "the read role")
	}
	if apikey.Deploy.Allows(p.need, p.env != envNone) {
		could = append(could, "the deploy role on this environment")
	}
	could = append(could, "the admin role")
	return fail.Newf(fail.Forbidden, "Your role (%s) cannot %s: that takes %s. Ask an admin.", v.Scope, p.does, strings.Join(could, " or "))
}

// environmentOf finds the environment a request is about; 0 for a listing
// without an environment filter.
func (d *Dashboard) environmentOf(r *http.Request, from envFrom) (int64, error) {
	ctx := r.Context()
	switch from {
	case envList:
		s := r.URL.Query().Get("environmentId")
		if s == "" {
			return 0, nil
		}
		return positive(s)
	case envPath:
		return positive(r.PathValue("environmentId"))
	case envOfHook:
		h, err := d.Hooks.Get(ctx, r.PathValue("hookId"))
		if err != nil {
			return 0, notFoundAs(err)
		}
		return h.EnvironmentID, nil
	case envOfDeployment:
		dep, err := d.Deployments.Get(ctx, r.PathValue("deploymentId"))
		if err != nil {
			return 0, notFoundAs(err)
		}
		return dep.EnvironmentID, nil
	case envOfService:
		svc, err := d.service(ctx, r.PathValue("serviceId"))
		if err != nil {
			return 0, err
		}
		return svc.Service.EnvironmentID, nil
	case envOfJobExecution:
		x, err := d.jobExecution(ctx, r.PathValue("executionId"))
		if err != nil {
			return 0, err
		}
		return x.EnvironmentID, nil
	}
	return 0, errors.New("a deploy user reached a page about no one environment")
}

// positive reads a positive integer id; anything else is a page that does
// not exist.
func positive(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 63)
	if err != nil || n <= 0 {
		return 0, errNotFound
	}
	return n, nil
}

// notFoundAs turns the store's not found into the dashboard's.
func notFoundAs(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	return err
}

// toLogin sends a request without a session to the sign-in page, which
// sends it back here after; an event stream or a form gets 401 (a
// redirect would lose what it was for).
func (d *Dashboard) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		d.fail(w, r, user.ErrNoSession)
		return
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// noStore keeps every dashboard page out of caches: they show what the
// user may see now, and some show a secret once.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
}
