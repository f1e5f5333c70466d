package api

import "net/http"

func (a *API) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		return err
	}
	v, err := a.Projects.Environment(r.Context(), id)
	if err != nil {
		return orNotFound(err, "Environment not found")
	}
	writeJSON(w, http.StatusOK, environmentOf(v))
	return nil
}
