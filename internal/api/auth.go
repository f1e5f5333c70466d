package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// Messages of 401 answers, worded as Flightcontrol's API words them.
const (
	msgNoKey      = "Please use an API key for this request"
	msgInvalidKey = "Invalid API key"
)

// authenticate checks the API key of r and returns it; it answers 401 and
// returns false when there is none or it is wrong.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (liftoff.APIKey, bool) {
	k, err := a.APIKeys.Authenticate(r.Context(), r.Header.Get("Authorization"))
	switch {
	case err == nil:
		return k, true
	case errors.Is(err, apikey.ErrMissing):
		writeError(w, http.StatusUnauthorized, codeUnauthorized, msgNoKey)
	case errors.Is(err, apikey.ErrInvalid):
		writeError(w, http.StatusUnauthorized, codeUnauthorized, msgInvalidKey)
	default:
		a.fail(w, r, err, "")
	}
	return liftoff.APIKey{}, false
}

// hookSecret returns the secret of an "Authorization: Hook <secret>" header.
func hookSecret(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(h) > 5 && strings.EqualFold(h[:5], "hook ") {
		return strings.TrimSpace(h[5:]), true
	}
	return "", false
}
