package api

import (
	"net/http"
	"net/url"
	"path"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/liftoffhq/liftoff/internal/fail"
)

// Canonical answers, before next sees them and exactly as ServeHTTP does,
// requests whose path is not in canonical form and every hook call. Put it
// in front of any http.ServeMux that routes to the API: a mux cleans a path
// with // or dot segments and redirects to the clean one, repeating the
// path (and any secret in it) in the Location header, before a handler of
// ours runs.
func (a *API) Canonical(next http.Handler) http.Handler {
	hookCall := a.serve(hookSurface, a.deployHook)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isHookPath(r) {
			hookCall(w, r)
			return
		}
		msg := nonCanonical(r)
		switch {
		case msg == "":
			next.ServeHTTP(w, r)
		case hasPrefixFold(cleanPath(r.URL.Path), "/api/deploy-hook"):
			// It looks like a deploy hook call: answered in the hook
			// shape and counted against the caller's failure limit like
			// any malformed hook call.
			a.serve(hookSurface, func(w http.ResponseWriter, r *http.Request) error {
				return a.refuseHookCall(w, r, fail.New(fail.Invalid, msg))
			})(w, r)
		default:
			a.serve(v1Surface, func(http.ResponseWriter, *http.Request) error {
				return fail.New(fail.Invalid, msg)
			})(w, r)
		}
	})
}

// isHookPath reports whether r is for the deploy hook handler: its path
// starts with the hook prefix exactly, as sent.
func isHookPath(r *http.Request) bool {
	p := r.URL.EscapedPath()
	return strings.HasPrefix(p, HookPathPrefix) || p == strings.TrimSuffix(HookPathPrefix, "/")
}

// Messages of non-canonical paths. None repeats the path.
const (
	msgEncodedSlash = "The path contains a percent-encoded slash (%2F); send each part of the path as it is"
	msgUncleanPath  = "The path has an empty, . or .. segment (// or /./ or /../); send the path exactly as documented, " +
		"without redirects: Liftoff does not clean paths"
	msgHookPrefix = "Deploy hook paths start with /api/deploy-hook/ exactly: in lower case, without percent-encoding, " +
		"double slashes or . segments; call the URL as it was shown when the hook was created"
)

// nonCanonical says why a request's path is not in the one form Liftoff
// serves, or "" when it is. Paths under the exact hook prefix are left to
// the hook parser, which has its own answers for them. A path that is not
// canonical is refused with a 400, never a redirect.
func nonCanonical(r *http.Request) string {
	if r.RequestURI == "*" || isHookPath(r) {
		return ""
	}
	escaped := r.URL.EscapedPath()
	switch {
	case strings.Contains(strings.ToLower(escaped), "%2f"):
		return msgEncodedSlash
	case cleanPath(r.URL.Path) != r.URL.Path:
		return msgUncleanPath
	case hasPrefixFold(r.URL.Path, "/api/deploy-hook") && !strings.HasPrefix(escaped, "/api/deploy-hook"):
		return msgHookPrefix
	}
	return ""
}

// cleanPath is the path http.ServeMux would redirect to: path.Clean,
// keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// methodOf names the request's method in a message: the standard ones as
// they are, anything else (which may be long, or hold anything) not at all.
func methodOf(r *http.Request) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect:
		return r.Method
	}
	return "(non-standard)"
}

// checkRequestText refuses, with a 400 naming the part, a /v1 request whose
// query string is malformed, or whose path values or query values hold a
// NUL byte or invalid UTF-8: PostgreSQL cannot store either in text and
// would fail the call with a 500, while SQLite would store it. Checking
// here, once, gives both stores the same answer. Request bodies get the same
// check in decode.
func checkRequestText(r *http.Request, pattern string) error {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fail.New(fail.Invalid, "the query string is malformed ("+strings.TrimPrefix(err.Error(), "invalid ")+
			"): percent-encode %, & and ; inside values, e.g. %25 for %")
	}
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		names := strings.Split(pattern[i:], "/")
		segments := strings.Split(r.URL.EscapedPath(), "/")
		for i, n := range names {
			name, ok := strings.CutPrefix(n, "{")
			if !ok || i >= len(segments) {
				continue
			}
			v, err := url.PathUnescape(segments[i])
			if err != nil {
				return fail.New(fail.Invalid, strings.TrimSuffix(name, "}")+" has a malformed percent-encoding")
			}
			if err := checkText(strings.TrimSuffix(name, "}"), v); err != nil {
				return err
			}
		}
	}
	for name, values := range query {
		if err := checkText("the name of a query parameter", name); err != nil {
			return err
		}
		for _, v := range values {
			if err := checkText(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkText refuses text no store can keep the same way.
func checkText(field, v string) error {
	if strings.IndexByte(v, 0) >= 0 {
		return fail.Invalidf("%s must not contain a NUL byte (%%00 or \\u0000)", fieldName(field))
	}
	if !utf8.ValidString(v) {
		return fail.Invalidf("%s must be valid UTF-8", fieldName(field))
	}
	return nil
}

// fieldName names a field in a message: as it is when it is a plain name
// (ours, or a caller's), quoted when it holds anything else.
func fieldName(s string) string {
	for _, c := range s {
		if !(c == ' ' || c == '_' || c == '-' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return quoteShort(s)
		}
	}
	return s
}

// checkBodyText applies checkText to every string field of a decoded
// request body, naming the field by its JSON name.
func checkBodyText(v any) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil
	}
	t := rv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.String {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if err := checkText(name, rv.Field(i).String()); err != nil {
			return err
		}
	}
	return nil
}
