package dashboard

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// apiKeysData is the API keys page: the live keys, never their secrets,
// and for admins the form that creates one.
type apiKeysData struct {
	Keys     []apiKeyRow
	CanAdmin bool
	// Choices are the environments a deploy key may name.
	Choices []envChoice
	// Created is the key just created, shown this once.
	Created *createdKey
	Form    scopeForm
	Errors  formErrors
}

// apiKeyRow is a key as the page lists it.
type apiKeyRow struct {
	Key          liftoff.APIKey
	Environments []envLabel
}

// createdKey is a new key with its secret, shown once.
type createdKey struct {
	Name, Scope, Key, Curl string
}

// scopeForm is what a form that gives a scope (an API key's) or a role (a
// user's) was sent with, to show it again with its refusals.
type scopeForm struct {
	Name, Email, Scope string
	Environments       map[int64]bool
}

// envChoice is an environment a deploy scope may name, in a form.
type envChoice struct {
	ID      int64
	Project string
	Name    string
	Preview bool
}

// envLabel names an environment a key or a user names; Gone when it was
// deleted since.
type envLabel struct {
	ID   int64
	Name string
	Gone bool
}

func (d *Dashboard) apiKeysPage(w http.ResponseWriter, r *http.Request) error {
	return d.renderAPIKeys(w, r, http.StatusOK, func(*apiKeysData) {})
}

// renderAPIKeys shows the API keys page, as fill changes it.
func (d *Dashboard) renderAPIKeys(w http.ResponseWriter, r *http.Request, status int, fill func(*apiKeysData)) error {
	if d.APIKeys == nil {
		return errNotFound
	}
	ctx := r.Context()
	keys, err := d.APIKeys.List(ctx)
	if err != nil {
		return err
	}
	data := apiKeysData{CanAdmin: viewerOf(r).may(apikey.NeedAdmin, 0), Form: scopeForm{Scope: string(apikey.Deploy)}}
	labels := d.envLabels(ctx)
	for _, k := range keys {
		row := apiKeyRow{Key: k}
		for _, id := range k.EnvironmentIDs {
			row.Environments = append(row.Environments, labels(id))
		}
		data.Keys = append(data.Keys, row)
	}
	if data.CanAdmin {
		if data.Choices, err = d.envChoices(ctx); err != nil {
			return err
		}
	}
	fill(&data)
	return d.render(w, r, status, "apikeys", "API keys", data)
}

// createAPIKey issues a key and answers the page with its secret, shown
// this once: only its hash is stored, so no later page can show it.
func (d *Dashboard) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	if d.APIKeys == nil {
		return errNotFound
	}
	form, envs, bad := readScopeForm(r)
	form.Name = r.PostFormValue("name")
	if bad != "" {
		return d.renderAPIKeys(w, r, http.StatusBadRequest, func(data *apiKeysData) {
			data.Form, data.Errors = form, formErrors{"environmentIds": bad}
		})
	}
	k, key, err := d.APIKeys.Create(r.Context(), apikey.CreateParams{Name: form.Name, Scope: apikey.Scope(form.Scope), EnvironmentIDs: envs})
	if err != nil {
		field, msg, ok := scopeFieldOf(err, "name")
		if !ok {
			return err
		}
		return d.renderAPIKeys(w, r, http.StatusBadRequest, func(data *apiKeysData) {
			data.Form, data.Errors = form, formErrors{field: msg}
		})
	}
	d.Log.Info("API key created in the dashboard", "api_key_id", k.ID, "scope", k.Scope, "by", viewerOf(r).User.ID)
	return d.renderAPIKeys(w, r, http.StatusCreated, func(data *apiKeysData) {
		data.Created = &createdKey{Name: k.Name, Scope: k.Scope, Key: key,
			Curl: `curl -H "Authorization: Bearer ` + key + `" ` + d.apiBase(r) + `/v1/projects`}
	})
}

// deleteAPIKey revokes a key, once confirmed.
func (d *Dashboard) deleteAPIKey(w http.ResponseWriter, r *http.Request) error {
	if d.APIKeys == nil {
		return errNotFound
	}
	id := r.PathValue("apiKeyId")
	keys, err := d.APIKeys.List(r.Context())
	if err != nil {
		return err
	}
	var k liftoff.APIKey
	for _, each := range keys {
		if each.ID == id {
			k = each
		}
	}
	if k.ID == "" {
		return errNotFound
	}
	if !confirmed(r) {
		return d.askConfirm(w, r, confirmData{Title: "Revoke API key " + k.Name + "?",
			Message: "Whatever uses it (CI, scripts, the CLI) is refused from now on (401). This cannot be undone: a new key is a new secret to hand out.",
			Button:  "Revoke key", Cancel: "/api-keys"})
	}
	if err := d.APIKeys.Delete(r.Context(), k.ID); err != nil {
		return notFoundAs(err)
	}
	d.Log.Info("API key revoked in the dashboard", "api_key_id", k.ID, "by", viewerOf(r).User.ID)
	return d.redirectWith(w, r, "/api-keys", "Revoked API key "+k.Name+": it no longer works.")
}

// readScopeForm reads the scope (or role) and environments of a form, as
// the API takes them (environment ids); bad says what is wrong with the
// environments, "" when nothing.
func readScopeForm(r *http.Request) (form scopeForm, envs []int64, bad string) {
	form.Scope = r.PostFormValue("scope")
	form.Environments = map[int64]bool{}
	for _, s := range r.PostForm["environmentIds"] {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return form, nil, "environment ids are integers, got " + strconv.Quote(s)
		}
		form.Environments[id] = true
		envs = append(envs, id)
	}
	if form.Scope != string(apikey.Deploy) {
		// The environments are a deploy scope's; the form may keep some
		// ticked while another scope is chosen.
		envs = nil
	}
	return form, envs, ""
}

// scopeFieldOf places the refusal of a scope's use case: the scope and
// its environments, or the other field (the name or the email).
func scopeFieldOf(err error, other string) (string, string, bool) {
	fe := fail.As(err)
	if fe == nil || (fe.Kind != fail.Invalid && fe.Kind != fail.Conflict) {
		return "", "", false
	}
	if errors.Is(err, apikey.ErrBadScope) {
		if strings.HasPrefix(fe.Message, "scope must be") {
			return "scope", fe.Message, true
		}
		return "environmentIds", fe.Message, true
	}
	return other, fe.Message, true
}

// envChoices lists the live environments, by project, for a form that
// names some.
func (d *Dashboard) envChoices(ctx context.Context) ([]envChoice, error) {
	views, err := d.Projects.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []envChoice
	for _, v := range views {
		for _, e := range v.Environments {
			if e.Deleted() {
				continue
			}
			out = append(out, envChoice{ID: e.ID, Project: v.Project.Name, Name: envName(e), Preview: e.IsPreview})
		}
	}
	return out, nil
}

// envLabels returns how a page names environments by id, each looked up
// once.
func (d *Dashboard) envLabels(ctx context.Context) func(int64) envLabel {
	seen := map[int64]envLabel{}
	return func(id int64) envLabel {
		if l, ok := seen[id]; ok {
			return l
		}
		// A failure to read it leaves it named by its id alone.
		l := envLabel{ID: id}
		ev, err := d.Projects.Environment(ctx, id)
		switch {
		case notFoundAs(err) == errNotFound || err == nil && ev.Environment.Deleted():
			l.Gone = true
		case err == nil:
			l.Name = envName(ev.Environment)
			if p, err := d.Projects.Get(ctx, ev.Environment.ProjectID); err == nil {
				l.Name = p.Project.Name + " / " + l.Name
			}
		}
		seen[id] = l
		return l
	}
}

// apiBase is the base of the API's URLs, for examples.
func (d *Dashboard) apiBase(r *http.Request) string {
	if d.APIURL != "" {
		return strings.TrimSuffix(d.APIURL, "/")
	}
	scheme := "http"
	if d.overTLS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// scopeFields are the scope (or role) fields of a form, as the
// "scope_fields" partial shows them.
type scopeFields struct {
	// Prefix makes the fields' ids unique on the page; Holder is "key" or
	// "user"; Label and Hint are the scope's.
	Prefix, Holder, Label, Hint string
	Form                        scopeForm
	Choices                     []envChoice
	Errors                      formErrors
}

// ScopeFields are the scope fields of the create form.
func (a apiKeysData) ScopeFields() scopeFields {
	return scopeFields{Prefix: "key", Holder: "key", Label: "Scope", Hint: "What the key may do. Give CI the narrowest that works.",
		Form: a.Form, Choices: a.Choices, Errors: a.Errors}
}
