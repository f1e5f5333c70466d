package dashboard

import "net/http"

// confirmData is the page that asks before a destructive action.
type confirmData struct {
	Title   string
	Message string
	// Action is where the form posts again, with confirm=yes; Button says
	// what it does ("Delete hook"); Cancel is where "Keep it" goes.
	Action, Button, Cancel string
	// Fields are more of the form's fields, carried or chosen there (a
	// rotation's grace period).
	Grace bool
	// Fields are hidden fields the form carries to its second post (which
	// variable to delete).
	Fields map[string]string
}

// confirmed reports whether a destructive form was confirmed.
func confirmed(r *http.Request) bool { return r.PostFormValue("confirm") == "yes" }

// askConfirm answers a destructive form that was not confirmed yet with a
// page that says what it will do and posts again with confirm=yes. It is a
// step of the form, so it works without JavaScript.
func (d *Dashboard) askConfirm(w http.ResponseWriter, r *http.Request, c confirmData) error {
	c.Action = r.URL.Path
	return d.render(w, r, http.StatusOK, "confirm", c.Title, c)
}
