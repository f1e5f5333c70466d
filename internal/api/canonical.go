package api

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Canonical answers, before next sees them and exactly as ServeHTTP does,
// requests whose path is not in canonical form and every hook call. Put it
// in front of any http.ServeMux that routes to the API: a mux cleans a path
// with // or dot segments and redirects to the clean one, repeating the
// path (and any secret in it) in the Location header, before a handler of
// ours runs.
func (a *API) Canonical(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.refuseNonCanonical(w, r) {
			return
		}
		if isHookPath(r) {
			a.deployHook(w, r)
			return
		}
		next.ServeHTTP(w, r)
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

// refuseNonCanonical answers a request whose path is not in the one form
// Liftoff serves, and reports whether it did. Paths under the exact hook
// prefix are left to the hook parser, which has its own answers for them.
// Everything else that is not canonical gets a 400 in JSON (the hook shape
// when the path looks like a deploy hook call, then counted against the
// caller's failure limit like any malformed hook call), never a redirect.
func (a *API) refuseNonCanonical(w http.ResponseWriter, r *http.Request) bool {
	if r.RequestURI == "*" || isHookPath(r) {
		return false
	}
	escaped := r.URL.EscapedPath()
	msg := ""
	switch {
	case strings.Contains(strings.ToLower(escaped), "%2f"):
		msg = msgEncodedSlash
	case cleanPath(r.URL.Path) != r.URL.Path:
		msg = msgUncleanPath
	case hasPrefixFold(r.URL.Path, "/api/deploy-hook") && !strings.HasPrefix(escaped, "/api/deploy-hook"):
		msg = msgHookPrefix
	default:
		return false
	}
	if hasPrefixFold(cleanPath(r.URL.Path), "/api/deploy-hook") {
		a.refuseHookCall(w, r, a.client(r), badParam("%s", msg))
		return true
	}
	writeError(w, http.StatusBadRequest, codeValidation, msg)
	return true
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
		return invalidf("the query string is malformed (" + strings.TrimPrefix(err.Error(), "invalid ") +
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
				return invalidf(strings.TrimSuffix(name, "}") + " has a malformed percent-encoding")
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
		return invalidf(fmt.Sprintf("%s must not contain a NUL byte (%%00 or \\u0000)", fieldName(field)))
	}
	if !utf8.ValidString(v) {
		return invalidf(fmt.Sprintf("%s must be valid UTF-8", fieldName(field)))
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
