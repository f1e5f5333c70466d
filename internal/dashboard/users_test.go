package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestUsers: an admin creates a user with a password typed in the form
// (checked as the CLI has it checked, never shown back), changes its role
// (its open session follows at once) and deletes it; the last admin can
// neither demote nor delete themself.
func TestUsers(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			ctx := t.Context()
			prod, staging := h.env["production"], h.env["staging"]
			admin := h.signIn("admin@example.com")
			status, body, _ := admin.get("/users")
			if status != 200 {
				t.Fatalf("GET /users: %d", status)
			}
			formsCarryToken(t, body, admin.csrf)

			const newPassword = "a long enough passphrase"
			good := url.Values{"email": {"ci@example.com"}, "password": {newPassword}, "passwordAgain": {newPassword},
				"scope": {"deploy"}, "environmentIds": {fmt.Sprint(prod)}}
			with := func(k, v string) url.Values {
				f := url.Values{}
				for key, vs := range good {
					f[key] = vs
				}
				if v == "" {
					delete(f, k)
				} else {
					f.Set(k, v)
				}
				return f
			}
			for _, c := range []struct {
				form  url.Values
				field string
				want  string
			}{
				{with("email", "not an address"), "user-email", "Email must be an address"},
				{with("email", "read@example.com"), "user-email", "exists already"},
				{with("passwordAgain", "something else entirely"), "user-password-again", "The two passwords differ"},
				{with("password", "short"), "user-password-again", "The two passwords differ"},
				{with("scope", "owner"), "user-scope", "cope must be admin, deploy or read"},
				{with("environmentIds", ""), "user-envs", "deploy user must name the environments"},
			} {
				status, body, _ := admin.post("/users", c.form)
				if status != http.StatusBadRequest || !strings.Contains(fieldError(body, c.field), c.want) {
					t.Errorf("POST /users %v: %d, error at %s %q, want %q", c.form, status, c.field, fieldError(body, c.field), c.want)
				}
				if strings.Contains(body, newPassword) {
					t.Errorf("a refused form shows the password back")
				}
			}
			short := with("password", "short")
			short.Set("passwordAgain", "short")
			if status, body, _ := admin.post("/users", short); status != http.StatusBadRequest || !strings.Contains(fieldError(body, "user-password"), "at least 12 characters") {
				t.Errorf("a short password: %d %q", status, fieldError(body, "user-password"))
			}
			if _, err := h.users.Find(ctx, "ci@example.com"); err == nil {
				t.Fatal("a refused form made the user")
			}

			status, _, hdr := admin.post("/users", good)
			if status != http.StatusSeeOther || hdr.Get("Location") != "/users" {
				t.Fatalf("create a user: %d to %s", status, hdr.Get("Location"))
			}
			u, err := h.users.Find(ctx, "ci@example.com")
			if err != nil || u.Role != "deploy" || !slices.Equal(u.EnvironmentIDs, []int64{prod}) {
				t.Fatalf("the user made: %+v, %v", u, err)
			}
			_, body, _ = admin.get("/users")
			if !strings.Contains(body, "Created user ci@example.com") || !strings.Contains(body, `data-user="ci@example.com"`) || strings.Contains(body, newPassword) {
				t.Errorf("the list after creating:\n%s", body)
			}
			ci := h.browser()
			if status, loc := ci.login("ci@example.com", newPassword, "/"); status != http.StatusSeeOther || loc != "/" {
				t.Fatalf("the new user signs in: %d to %s", status, loc)
			}
			if status, _, _ := ci.get(envPath(staging)); status != http.StatusNotFound {
				t.Errorf("a deploy user of production opens staging: %d", status)
			}

			// A new role: the open session follows at once.
			for _, c := range []struct {
				form  url.Values
				field string
				want  string
			}{
				{url.Values{"scope": {"deploy"}}, "role-" + u.ID + "-envs", "deploy user must name the environments"},
				{url.Values{"scope": {"owner"}}, "role-" + u.ID + "-scope", "cope must be admin, deploy or read"},
			} {
				status, body, _ := admin.post("/users/"+u.ID+"/role", c.form)
				if status != http.StatusBadRequest || !strings.Contains(fieldError(body, c.field), c.want) {
					t.Errorf("POST role %v: %d, error at %s %q, want %q", c.form, status, c.field, fieldError(body, c.field), c.want)
				}
			}
			status, _, _ = admin.post("/users/"+u.ID+"/role", url.Values{"scope": {"deploy"}, "environmentIds": {fmt.Sprint(prod), fmt.Sprint(staging)}})
			if status != http.StatusSeeOther {
				t.Fatalf("change the role: %d", status)
			}
			if u, err := h.users.Find(ctx, u.ID); err != nil || !slices.Equal(u.EnvironmentIDs, []int64{prod, staging}) {
				t.Fatalf("after the change: %+v, %v", u, err)
			}
			if status, _, _ := ci.get(envPath(staging)); status != http.StatusOK {
				t.Errorf("a deploy user given staging opens it: %d", status)
			}
			if status, _, _ := admin.post("/users/"+u.ID+"/role", url.Values{"scope": {"read"}, "environmentIds": {fmt.Sprint(prod)}}); status != http.StatusSeeOther {
				t.Fatalf("make it read (the ticked environments are not a read role's): %d", status)
			}
			if u, err := h.users.Find(ctx, u.ID); err != nil || u.Role != "read" || u.EnvironmentIDs != nil {
				t.Fatalf("after the change to read: %+v, %v", u, err)
			}
			if status, _, _ := ci.post(envPath(prod)+"/deploy-hooks", url.Values{"name": {"x"}}); status != http.StatusForbidden {
				t.Errorf("a user made read creates a hook: %d", status)
			}

			// Deleting asks first, then ends the sessions.
			status, body, _ = admin.post("/users/"+u.ID+"/delete", nil)
			if status != 200 || !strings.Contains(body, "Delete user ci@example.com?") {
				t.Fatalf("delete without confirm: %d\n%s", status, body)
			}
			formsCarryToken(t, body, admin.csrf)
			if status, _, _ := admin.post("/users/"+u.ID+"/delete", url.Values{"confirm": {"yes"}}); status != http.StatusSeeOther {
				t.Fatalf("delete: %d", status)
			}
			if _, err := h.users.Find(ctx, u.ID); err == nil {
				t.Error("the user is still there")
			}
			if status, _, hdr := ci.get("/projects"); status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login") {
				t.Errorf("a deleted user's session: %d to %s", status, hdr.Get("Location"))
			}

			// The last admin stays one.
			me, err := h.users.Find(ctx, "admin@example.com")
			if err != nil {
				t.Fatal(err)
			}
			status, body, _ = admin.post("/users/"+me.ID+"/role", url.Values{"scope": {"read"}})
			if status != http.StatusConflict || !strings.Contains(fieldError(body, "role-"+me.ID+"-scope"), "last admin") {
				t.Errorf("the last admin demotes themself: %d %q", status, fieldError(body, "role-"+me.ID+"-scope"))
			}
			status, body, _ = admin.post("/users/"+me.ID+"/delete", url.Values{"confirm": {"yes"}})
			if status != http.StatusConflict || !strings.Contains(body, "last admin") {
				t.Errorf("the last admin deletes themself: %d", status)
			}
			if me, err := h.users.Find(ctx, me.ID); err != nil || me.Role != "admin" {
				t.Fatalf("the last admin after the refusals: %+v, %v", me, err)
			}
			// With another admin, one may go: signed out at once.
			readUser, _ := h.users.Find(ctx, "read@example.com")
			if status, _, _ := admin.post("/users/"+readUser.ID+"/role", url.Values{"scope": {"admin"}}); status != http.StatusSeeOther {
				t.Fatalf("promote: %d", status)
			}
			status, _, hdr = admin.post("/users/"+me.ID+"/delete", url.Values{"confirm": {"yes"}})
			if status != http.StatusSeeOther || hdr.Get("Location") != "/login" {
				t.Fatalf("delete oneself: %d to %s", status, hdr.Get("Location"))
			}
			if status, _, _ := admin.get("/users"); status != http.StatusSeeOther {
				t.Errorf("after deleting oneself: %d", status)
			}
		})
	}
}
