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

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var body createAPIKeyBody
	if err := decode(r, &body); err != nil {
		a.fail(w, r, err, "")
		return
	}
	k, key, err := a.APIKeys.Create(r.Context(), apikey.CreateParams{Name: body.Name, Scope: apikey.Scope(body.Scope),
		EnvironmentIDs: body.EnvironmentIDs})
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	out := apiKeyOf(k)
	out.Key = key
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := a.APIKeys.List(r.Context())
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	out := struct {
		APIKeys []client.APIKey `json:"apiKeys"`
	}{APIKeys: []client.APIKey{}}
	for _, k := range keys {
		out.APIKeys = append(out.APIKeys, apiKeyOf(k))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteAPIKey(w http.ResponseWriter, r *http.Request) {
	if err := a.APIKeys.Delete(r.Context(), r.PathValue("apiKeyId")); err != nil {
		a.fail(w, r, err, "API key not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiKeyOf renders a key without its secret.
func apiKeyOf(k liftoff.APIKey) client.APIKey {
	envs := []int64{}
	envs = append(envs, k.EnvironmentIDs...)
	return client.APIKey{ID: k.ID, Name: k.Name, Scope: k.Scope, EnvironmentIDs: envs, CreatedAt: k.CreatedAt.String()}
}
