package api

import (
	"net/http"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

type createAPIKeyBody struct {
	Name string `json:"name"`
	// Scope is admin (the default), deploy or read.
	Scope string `json:"scope"`
	// EnvironmentIDs are a deploy key's environments.
	EnvironmentIDs []int64 `json:"environmentIds"`
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var body createAPIKeyBody
	if err := decode(r, &body); err != nil {
		return err
	}
	k, key, err := a.APIKeys.Create(r.Context(), apikey.CreateParams{Name: body.Name, Scope: apikey.Scope(body.Scope),
		EnvironmentIDs: body.EnvironmentIDs})
	if err != nil {
		return err
	}
	out := apiKeyOf(k)
	out.Key = key
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := a.APIKeys.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		APIKeys []client.APIKey `json:"apiKeys"`
	}{APIKeys: []client.APIKey{}}
	for _, k := range keys {
		out.APIKeys = append(out.APIKeys, apiKeyOf(k))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := a.APIKeys.Delete(r.Context(), r.PathValue("apiKeyId")); err != nil {
		return orNotFound(err, "API key not found")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiKeyOf renders a key without its secret.
func apiKeyOf(k liftoff.APIKey) client.APIKey {
	envs := []int64{}
	envs = append(envs, k.EnvironmentIDs...)
	return client.APIKey{ID: k.ID, Name: k.Name, Scope: k.Scope, EnvironmentIDs: envs, CreatedAt: client.FormatTime(k.CreatedAt)}
}
