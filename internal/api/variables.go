package api

import (
	"net/http"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// variableScope is the scope a variables or secrets route is about: the
// {projectId}, {environmentId} or {serviceId} of its path.
func (a *API) variableScope(r *http.Request) (variables.Scope, error) {
	switch {
	case r.PathValue("serviceId") != "":
		return a.Variables.ServiceScope(r.Context(), r.PathValue("serviceId"))
	case r.PathValue("environmentId") != "":
		id, err := pathInt64(r, "environmentId")
		if err != nil {
			return variables.Scope{}, err
		}
		return a.Variables.EnvironmentScope(r.Context(), id)
	}
	return a.Variables.ProjectScope(r.Context(), r.PathValue("projectId"))
}

func (a *API) setEnvVariables(w http.ResponseWriter, r *http.Request) error {
	scope, err := a.variableScope(r)
	if err != nil {
		return err
	}
	var body variables.Groups
	if err := decode(r, &body); err != nil {
		return err
	}
	n, err := a.Variables.Set(r.Context(), scope, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, client.SavedEnvVariables{Status: "completed", SavedCount: n})
	return nil
}

func (a *API) listEnvVariables(w http.ResponseWriter, r *http.Request) error {
	scope, err := a.variableScope(r)
	if err != nil {
		return err
	}
	views, err := a.Variables.List(r.Context(), scope)
	if err != nil {
		return err
	}
	out := struct {
		EnvVariables []client.EnvVariable `json:"envVariables"`
	}{EnvVariables: make([]client.EnvVariable, 0, len(views))}
	for _, v := range views {
		out.EnvVariables = append(out.EnvVariables, client.EnvVariable{Name: v.Name, Scope: v.Scope, Type: string(v.Kind),
			Value: v.Value, UpdatedAt: client.FormatTime(v.UpdatedAt)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteEnvVariable(w http.ResponseWriter, r *http.Request) error {
	scope, err := a.variableScope(r)
	if err != nil {
		return err
	}
	if err := a.Variables.Unset(r.Context(), scope, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setSecret(w http.ResponseWriter, r *http.Request) error {
	scope, err := a.variableScope(r)
	if err != nil {
		return err
	}
	var body client.NewSecret
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := a.Variables.SetSecret(r.Context(), scope.ProjectID, scope.EnvironmentID, body.Name, body.Value); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listSecrets(w http.ResponseWriter, r *http.Request) error {
	scope, err := a.variableScope(r)
	if err != nil {
		return err
	}
	views, err := a.Variables.ListSecrets(r.Context(), scope.ProjectID, scope.EnvironmentID)
	if err != nil {
		return err
	}
	out := struct {
		Secrets []client.Secret `json:"secrets"`
	}{Secrets: make([]client.Secret, 0, len(views))}
	for _, v := range views {
		out.Secrets = append(out.Secrets, client.Secret{Name: v.Name, Scope: v.Scope, UpdatedAt: client.FormatTime(v.UpdatedAt)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	scope, err := a.variableScope(r)
	if err != nil {
		return err
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		return fail.Invalidf("give the secret's name as ?name=")
	}
	if err := a.Variables.DeleteSecret(r.Context(), scope.ProjectID, scope.EnvironmentID, name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
