package dashboard

import (
	"net/http"
	"strings"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// variablesData is an environment's variables and secrets page: the
// variables set on the environment (every service's) and on each of its
// services, the environment's named secrets, and for those who may deploy
// it the forms that set and delete them. A secret's value is never shown,
// not even on the answer to the form that set it.
type variablesData struct {
	Project   liftoff.Project
	Env       project.EnvironmentView
	Groups    []variableGroup
	Secrets   []variables.SecretView
	CanDeploy bool
	// VarForm and SecretForm are what the forms were sent with (never a
	// secret's value), with their refusals, when shown again.
	VarForm    variableForm
	VarErrors  formErrors
	SecretForm struct{ Name string }
	SecErrors  formErrors
}

// variableGroup is the variables of one scope: the environment's, or one
// service's.
type variableGroup struct {
	// Service is the service's id ("" for the environment's), Label how
	// the page names the group.
	Service, Label string
	Vars           []variables.View
}

// variableForm is what the set form was sent with.
type variableForm struct {
	Service, Name, Value string
	Secret               bool
}

func (d *Dashboard) variablesPage(w http.ResponseWriter, r *http.Request) error {
	id, err := positive(r.PathValue("environmentId"))
	if err != nil {
		return err
	}
	return d.renderVariables(w, r, http.StatusOK, id, func(*variablesData) {})
}

// renderVariables shows the page, as fill changes it.
func (d *Dashboard) renderVariables(w http.ResponseWriter, r *http.Request, status int, id int64, fill func(*variablesData)) error {
	if d.Variables == nil {
		return errNotFound
	}
	ctx := r.Context()
	scope, err := d.Variables.EnvironmentScope(ctx, id)
	if err != nil {
		return notFoundAs(notFoundOf(err))
	}
	ev, err := d.Projects.Environment(ctx, id)
	if err != nil {
		return notFoundAs(err)
	}
	p, err := d.Projects.Get(ctx, ev.Environment.ProjectID)
	if err != nil {
		return notFoundAs(err)
	}
	data := variablesData{Project: p.Project, Env: ev, CanDeploy: viewerOf(r).may(apikey.NeedDeploy, id)}
	vars, err := d.Variables.List(ctx, scope)
	if err != nil {
		return err
	}
	data.Groups = append(data.Groups, variableGroup{Label: "Every service of " + ev.Environment.Name, Vars: vars})
	for _, svc := range ev.Services {
		sc, err := d.Variables.ServiceScope(ctx, svc.ID)
		if err != nil {
			return notFoundAs(notFoundOf(err))
		}
		vars, err := d.Variables.List(ctx, sc)
		if err != nil {
			return err
		}
		data.Groups = append(data.Groups, variableGroup{Service: svc.ID, Label: "Service " + svc.Name + " (" + svc.GivenID + ")", Vars: vars})
	}
	if data.Secrets, err = d.Variables.ListSecrets(ctx, scope.ProjectID, scope.EnvironmentID); err != nil {
		return err
	}
	fill(&data)
	return d.render(w, r, status, "variables", envName(ev.Environment)+" variables", data)
}

// variableScope is where a form sets or deletes a variable: the
// environment, or one of its services (by the service's id); a service of
// another environment is refused as one that does not exist.
func (d *Dashboard) variableScope(r *http.Request, env int64, service string) (variables.Scope, error) {
	if service == "" {
		return d.Variables.EnvironmentScope(r.Context(), env)
	}
	sc, err := d.Variables.ServiceScope(r.Context(), service)
	if err == nil && sc.EnvironmentID != env {
		err = fail.New(fail.Invalid, "Choose a service of this environment from the list")
	}
	if fail.KindOf(err) == fail.NotFound {
		err = fail.Wrap(fail.Invalid, err, "Choose a service of this environment from the list")
	}
	return sc, err
}

// variablesEnvironment is the environment of a variables or secrets form;
// 404 where this dashboard has no variables.
func (d *Dashboard) variablesEnvironment(r *http.Request) (int64, error) {
	if d.Variables == nil {
		return 0, errNotFound
	}
	return positive(r.PathValue("environmentId"))
}

// secretScope is the environment, and its scope, of a named secret's form.
func (d *Dashboard) secretScope(r *http.Request) (int64, variables.Scope, error) {
	id, err := d.variablesEnvironment(r)
	if err != nil {
		return 0, variables.Scope{}, err
	}
	scope, err := d.Variables.EnvironmentScope(r.Context(), id)
	if err != nil {
		return 0, scope, notFoundAs(notFoundOf(err))
	}
	return id, scope, nil
}

// setVariable sets one variable, plain or secret, on the environment or
// one of its services, with the API's use case.
func (d *Dashboard) setVariable(w http.ResponseWriter, r *http.Request) error {
	id, err := d.variablesEnvironment(r)
	if err != nil {
		return err
	}
	form := variableForm{Service: r.PostFormValue("service"), Name: strings.TrimSpace(r.PostFormValue("name")), Value: r.PostFormValue("value"),
		Secret: r.PostFormValue("secret") == "on"}
	again := func(field string, err error) error {
		fe := fail.As(err)
		if fe == nil || fe.Kind != fail.Invalid {
			return notFoundAs(err)
		}
		return d.renderVariables(w, r, http.StatusBadRequest, id, func(data *variablesData) {
			if form.Secret {
				form.Value = "" // a secret is never sent back
			}
			data.VarForm, data.VarErrors = form, formErrors{field: capital(fe.Message)}
		})
	}
	scope, err := d.variableScope(r, id, form.Service)
	if err != nil {
		return again("service", err)
	}
	g := variables.Groups{PlainText: map[string]string{form.Name: form.Value}}
	if form.Secret {
		g = variables.Groups{SecretsManager: map[string]string{form.Name: form.Value}}
	}
	if _, err := d.Variables.Set(r.Context(), scope, g); err != nil {
		field := "name"
		if fe := fail.As(err); fe != nil && strings.Contains(fe.Message, "the value") {
			field = "value"
		}
		return again(field, err)
	}
	kind := "variable"
	if form.Secret {
		kind = "secret variable"
	}
	return d.redirectWith(w, r, variablesPath(id), "Set "+kind+" "+form.Name+" of "+scopeWords(scope)+
		". It takes effect at the next deployment that builds the service"+plural2(scope)+".")
}

// deleteVariable removes a variable, once confirmed.
func (d *Dashboard) deleteVariable(w http.ResponseWriter, r *http.Request) error {
	id, err := d.variablesEnvironment(r)
	if err != nil {
		return err
	}
	name := r.PostFormValue("name")
	scope, err := d.variableScope(r, id, r.PostFormValue("service"))
	if err != nil {
		return err
	}
	if !confirmed(r) {
		return d.askConfirm(w, r, confirmData{Title: "Delete variable " + name + " of " + scopeWords(scope) + "?",
			Message: "The next deployment that builds the service" + plural2(scope) + " runs without it (or with the value a wider scope or the config file gives). " +
				"Running instances keep it until then. This cannot be undone.",
			Button: "Delete variable", Cancel: variablesPath(id),
			Fields: map[string]string{"name": name, "service": r.PostFormValue("service")}})
	}
	if err := d.Variables.Unset(r.Context(), scope, name); err != nil {
		return err
	}
	return d.redirectWith(w, r, variablesPath(id), "Deleted variable "+name+" of "+scopeWords(scope)+".")
}

// setSecret stores a named secret of the environment, which variables
// read by reference.
func (d *Dashboard) setSecret(w http.ResponseWriter, r *http.Request) error {
	id, scope, err := d.secretScope(r)
	if err != nil {
		return err
	}
	name := r.PostFormValue("name")
	if err := d.Variables.SetSecret(r.Context(), scope.ProjectID, scope.EnvironmentID, name, r.PostFormValue("value")); err != nil {
		fe := fail.As(err)
		if fe == nil || fe.Kind != fail.Invalid {
			return err
		}
		field := "name"
		if strings.Contains(fe.Message, "the value") {
			field = "value"
		}
		return d.renderVariables(w, r, http.StatusBadRequest, id, func(data *variablesData) {
			data.SecretForm.Name, data.SecErrors = name, formErrors{field: capital(fe.Message)}
		})
	}
	return d.redirectWith(w, r, variablesPath(id)+"#secrets", "Set secret "+name+". Variables that read it get its value at their next deployment.")
}

// deleteSecret removes a named secret, once confirmed.
func (d *Dashboard) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	id, scope, err := d.secretScope(r)
	if err != nil {
		return err
	}
	name := r.PostFormValue("name")
	if !confirmed(r) {
		return d.askConfirm(w, r, confirmData{Title: "Delete secret " + name + "?",
			Message: "Variables that read it then read the project's secret of the same name, or fail to deploy when there is none. This cannot be undone.",
			Button:  "Delete secret", Cancel: variablesPath(id) + "#secrets", Fields: map[string]string{"name": name}})
	}
	if err := d.Variables.DeleteSecret(r.Context(), scope.ProjectID, scope.EnvironmentID, name); err != nil {
		return err
	}
	return d.redirectWith(w, r, variablesPath(id)+"#secrets", "Deleted secret "+name+".")
}

// notFoundOf makes the variables domain's NotFound the dashboard's.
func notFoundOf(err error) error {
	if fail.KindOf(err) == fail.NotFound {
		return errNotFound
	}
	return err
}

// scopeWords names a variable's scope.
func scopeWords(s variables.Scope) string {
	if s.ServiceID != "" {
		return "service " + s.ServiceID
	}
	return "every service of the environment"
}

func plural2(s variables.Scope) string {
	if s.ServiceID != "" {
		return ""
	}
	return "s"
}

// variablesPath is the variables page of an environment.
func variablesPath(id int64) string { return settingsPath(id) + "/variables" }
