package api

import (
	"net/http"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/protect"
)

// protectedEnvironment is the path's environment id, when this API keeps
// protection settings.
func (a *API) protectedEnvironment(r *http.Request) (int64, error) {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		return 0, err
	}
	if a.Protection == nil {
		return 0, fail.New(fail.NotFound, "Environment not found")
	}
	return id, nil
}

func (a *API) getProtection(w http.ResponseWriter, r *http.Request) error {
	id, err := a.protectedEnvironment(r)
	if err != nil {
		return err
	}
	s, err := a.Protection.Get(r.Context(), id)
	if err != nil {
		return orNotFound(err, "Environment not found")
	}
	writeJSON(w, http.StatusOK, protectionOf(s))
	return nil
}

// setProtection changes an environment's mode, its password, or both. The
// password is sealed at once and never shown again.
func (a *API) setProtection(w http.ResponseWriter, r *http.Request) error {
	id, err := a.protectedEnvironment(r)
	if err != nil {
		return err
	}
	var body client.ProtectionChange
	if err := decode(r, &body); err != nil {
		return err
	}
	var ch protect.Change
	if body.Mode != nil {
		m := liftoff.ProtectionMode(*body.Mode)
		ch.Mode = &m
	}
	ch.Password = body.Password
	s, err := a.Protection.Set(r.Context(), id, ch)
	if err != nil {
		return orNotFound(err, "Environment not found")
	}
	writeJSON(w, http.StatusOK, protectionOf(s))
	return nil
}

// createShareLink makes a link that opens the environment (a pull
// request's preview) until it expires. Nothing is stored.
func (a *API) createShareLink(w http.ResponseWriter, r *http.Request) error {
	id, err := a.protectedEnvironment(r)
	if err != nil {
		return err
	}
	var body client.NewShareLink
	if err := decode(r, &body); err != nil {
		return err
	}
	ttl, err := protect.ParseExpiry(body.ExpiresIn)
	if err != nil {
		return err
	}
	link, err := a.Protection.Share(r.Context(), id, protect.ShareRequest{PRNumber: body.PRNumber, ExpiresIn: ttl,
		Service: body.Service, Host: body.Host})
	if err != nil {
		return orNotFound(err, "Environment not found")
	}
	writeJSON(w, http.StatusCreated, client.ShareLink{URL: link.URL, ExpiresAt: client.FormatTime(link.ExpiresAt)})
	return nil
}

func protectionOf(s protect.Setting) client.Protection {
	p := client.Protection{EnvironmentID: s.EnvironmentID, Mode: string(s.Mode), IsDefault: s.Default, HasPassword: s.HasPassword}
	if !s.UpdatedAt.IsZero() {
		at := client.FormatTime(s.UpdatedAt)
		p.UpdatedAt = &at
	}
	return p
}
