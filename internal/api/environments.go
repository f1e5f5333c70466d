package api

import (
	"net/http"

	"github.com/liftoffhq/liftoff/internal/liftoff"
)

func (a *API) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		return err
	}
	v, err := a.Projects.Environment(r.Context(), id)
	if err != nil {
		return orNotFound(err, "Environment not found")
	}
	// The runtime of its services, when this API reads the supervision
	// records.
	var states map[string][]liftoff.ServiceState
	if a.Supervision != nil {
		if states, err = a.Supervision.States(r.Context(), id); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, environmentOf(v, states, a.Resources.Available()))
	return nil
}
