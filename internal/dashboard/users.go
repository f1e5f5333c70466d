package dashboard

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/user"
)

// usersData is the users page, for admins: the users with their roles,
// the form that creates one, and on each user the forms that change its
// role and delete it.
type usersData struct {
	Users   []userRow
	Choices []envChoice
	// Form and Errors are the create form's, when it is shown again.
	Form   scopeForm
	Errors formErrors
	// MinPassword is the shortest password the users domain takes.
	MinPassword int
}

// userRow is a user as the page lists it, with its role form (shown again
// with its refusals when it was the one sent).
type userRow struct {
	User         liftoff.User
	Environments []envLabel
	Self         bool
	Form         scopeForm
	Errors       formErrors
	Choices      []envChoice
}

func (d *Dashboard) usersPage(w http.ResponseWriter, r *http.Request) error {
	return d.renderUsers(w, r, http.StatusOK, func(*usersData) {})
}

// renderUsers shows the users page, as fill changes it.
func (d *Dashboard) renderUsers(w http.ResponseWriter, r *http.Request, status int, fill func(*usersData)) error {
	ctx := r.Context()
	users, err := d.Users.List(ctx)
	if err != nil {
		return err
	}
	choices, err := d.envChoices(ctx)
	if err != nil {
		return err
	}
	data := usersData{Choices: choices, Form: scopeForm{Scope: string(apikey.Read)}, MinPassword: user.MinPasswordLen}
	labels := d.envLabels(ctx)
	me := viewerOf(r).User.ID
	for _, u := range users {
		row := userRow{User: u, Self: u.ID == me, Choices: choices, Form: scopeForm{Scope: u.Role, Environments: map[int64]bool{}}}
		for _, id := range u.EnvironmentIDs {
			row.Environments = append(row.Environments, labels(id))
			row.Form.Environments[id] = true
		}
		data.Users = append(data.Users, row)
	}
	fill(&data)
	return d.render(w, r, status, "users", "Users", data)
}

// createUser makes a user with the password typed in the form, checked by
// the users domain as liftoff users create has it checked.
func (d *Dashboard) createUser(w http.ResponseWriter, r *http.Request) error {
	form, envs, bad := readScopeForm(r)
	form.Email = r.PostFormValue("email")
	again := func(errs formErrors) error {
		return d.renderUsers(w, r, http.StatusBadRequest, func(data *usersData) { data.Form, data.Errors = form, errs })
	}
	if bad != "" {
		return again(formErrors{"environmentIds": bad})
	}
	password := r.PostFormValue("password")
	if password != r.PostFormValue("passwordAgain") {
		return again(formErrors{"passwordAgain": "The two passwords differ: type the same one twice."})
	}
	u, err := d.Users.Create(r.Context(), user.CreateParams{Email: form.Email, Password: password, Role: apikey.Scope(form.Scope), EnvironmentIDs: envs})
	if err != nil {
		field, msg, ok := scopeFieldOf(err, "")
		switch {
		case !ok:
			return err
		case errors.Is(err, user.ErrBadEmail) || fail.KindOf(err) == fail.Conflict:
			field = "email"
		case errors.Is(err, user.ErrShortPassword) || errors.Is(err, user.ErrLongPassword):
			field = "password"
		}
		return again(formErrors{field: capital(msg)})
	}
	d.Log.Info("user created in the dashboard", "user_id", u.ID, "role", u.Role, "by", viewerOf(r).User.ID)
	return d.redirectWith(w, r, "/users", "Created user "+u.Email+" ("+u.Role+"). They sign in here with the password you typed: hand it to them privately.")
}

// setUserRole changes a user's role and environments; its sessions go on
// with the new role at once.
func (d *Dashboard) setUserRole(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("userId")
	form, envs, bad := readScopeForm(r)
	again := func(status int, errs formErrors) error {
		return d.renderUsers(w, r, status, func(data *usersData) {
			for i := range data.Users {
				if data.Users[i].User.ID == id {
					data.Users[i].Form, data.Users[i].Errors = form, errs
				}
			}
		})
	}
	if bad != "" {
		return again(http.StatusBadRequest, formErrors{"environmentIds": bad})
	}
	u, err := d.Users.SetRole(r.Context(), id, apikey.Scope(form.Scope), envs)
	if err != nil {
		if fail.KindOf(err) == fail.NotFound {
			return errNotFound
		}
		field, msg, ok := scopeFieldOf(err, "scope")
		if !ok {
			return err
		}
		return again(fail.HTTPStatus(fail.As(err)), formErrors{field: capital(msg)})
	}
	d.Log.Info("user's role changed in the dashboard", "user_id", u.ID, "role", u.Role, "by", viewerOf(r).User.ID)
	return d.redirectWith(w, r, "/users", "User "+u.Email+" now has the role "+u.Role+onEnvironments(u)+".")
}

// deleteUser deletes a user and ends its sessions, once confirmed.
func (d *Dashboard) deleteUser(w http.ResponseWriter, r *http.Request) error {
	u, err := d.Users.Find(r.Context(), r.PathValue("userId"))
	if err != nil {
		return notFoundOf(err)
	}
	self := u.ID == viewerOf(r).User.ID
	if !confirmed(r) {
		msg := u.Email + " can no longer sign in; their open pages stop working. This cannot be undone: a new user would need a new password."
		if self {
			msg = "This is you: you are signed out at once and can no longer sign in. This cannot be undone."
		}
		return d.askConfirm(w, r, confirmData{Title: "Delete user " + u.Email + "?", Message: msg, Button: "Delete user", Cancel: "/users"})
	}
	if _, err := d.Users.Delete(r.Context(), u.ID); err != nil {
		if fail.KindOf(err) == fail.NotFound {
			return errNotFound
		}
		if fail.KindOf(err) != fail.Conflict {
			return err
		}
		return d.renderUsers(w, r, http.StatusConflict, func(data *usersData) {
			for i := range data.Users {
				if data.Users[i].User.ID == u.ID {
					data.Users[i].Errors = formErrors{"delete": capital(fail.As(err).Message)}
				}
			}
		})
	}
	d.Log.Info("user deleted in the dashboard", "user_id", u.ID, "by", viewerOf(r).User.ID)
	if self {
		http.SetCookie(w, d.cookie(r, sessionCookie, "", -1))
		return d.redirectWith(w, r, "/login", "You deleted your own user: you are signed out.")
	}
	return d.redirectWith(w, r, "/users", "Deleted user "+u.Email+" and ended their sessions.")
}

// onEnvironments says which environments a deploy user acts on.
func onEnvironments(u liftoff.User) string {
	if u.Role != string(apikey.Deploy) {
		return ""
	}
	s := " on environment"
	if len(u.EnvironmentIDs) > 1 {
		s += "s"
	}
	for i, id := range u.EnvironmentIDs {
		if i > 0 {
			s += ","
		}
		s += " " + strconv.FormatInt(id, 10)
	}
	return s
}

// capital is a use case's message as a sentence of the page.
func capital(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// ScopeFields are the role fields of the create form.
func (u usersData) ScopeFields() scopeFields {
	return scopeFields{Prefix: "user", Holder: "user", Label: "Role", Hint: "What the user may do, with the powers of an API key's scope of the same name.",
		Form: u.Form, Choices: u.Choices, Errors: u.Errors}
}

// ScopeFields are the role fields of a user's change-role form.
func (u userRow) ScopeFields() scopeFields {
	return scopeFields{Prefix: "role-" + u.User.ID, Holder: "user", Label: "Role of " + u.User.Email, Hint: "Takes effect on their next page.",
		Form: u.Form, Choices: u.Choices, Errors: u.Errors}
}
