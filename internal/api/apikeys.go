package api

import (
	"net/http"

	"github.com/liftoffhq/liftoff/client"
)

type createAPIKeyBody struct {
	Name string `json:"name"`
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var body createAPIKeyBody
	if err := decode(r, &body); err != nil {
		a.fail(w, r, err, "")
		return
	}
	k, key, err := a.APIKeys.Create(r.Context(), body.Name)
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusCreated, client.APIKey{ID: k.ID, Name: k.Name, Key: key, CreatedAt: k.CreatedAt.String()})
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
		out.APIKeys = append(out.APIKeys, client.APIKey{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt.String()})
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
