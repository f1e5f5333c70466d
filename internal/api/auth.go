package api

import (
	"net/http"
	"strings"

	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// authenticate checks the API key of r and returns it. Without one, or
// with a wrong one, the error is an Unauthorized apikey.ErrMissing or
// ErrInvalid, worded as Flightcontrol's API words them.
func (a *API) authenticate(r *http.Request) (liftoff.APIKey, error) {
	return a.APIKeys.Authenticate(r.Context(), r.Header.Get("Authorization"))
}

// hookSecret returns the secret of an "Authorization: Hook <secret>" header.
func hookSecret(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(h) > 5 && strings.EqualFold(h[:5], "hook ") {
		return strings.TrimSpace(h[5:]), true
	}
	return "", false
}
