package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// testUsers: users are created with their role and environments, found by
// id and by email (one user per email), listed oldest first, given a new
// password (which ends their sessions) and deleted (with their sessions).
func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	admin, err := s.CreateUser(ctx, store.CreateUserParams{ID: "u1", Email: "ada@example.com", PasswordHash: "$argon2id$a", Role: "admin", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	want := liftoff.User{ID: "u1", Email: "ada@example.com", PasswordHash: "$argon2id$a", Role: "admin", CreatedAt: t0}
	if !sameUser(admin, want) {
		t.Fatalf("CreateUser = %+v, want %+v", admin, want)
	}
	deployer, err := s.CreateUser(ctx, store.CreateUserParams{ID: "u2", Email: "bob@example.com", PasswordHash: "$argon2id$b", Role: "deploy",
		EnvironmentIDs: []int64{3, 7}, At: t0.Add(time.Second)})
	if err != nil || !slices.Equal(deployer.EnvironmentIDs, []int64{3, 7}) {
		t.Fatalf("CreateUser(deploy) = %+v, %v", deployer, err)
	}
	if _, err := s.CreateUser(ctx, store.CreateUserParams{ID: "u3", Email: "ada@example.com", PasswordHash: "x", Role: "read", At: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second user with the same email: %v, want ErrConflict", err)
	}

	if u, err := s.GetUser(ctx, store.GetUserParams{ID: "u2"}); err != nil || !sameUser(u, deployer) {
		t.Fatalf("GetUser(u2) = %+v, %v", u, err)
	}
	if u, err := s.GetUserByEmail(ctx, store.GetUserByEmailParams{Email: "ada@example.com"}); err != nil || !sameUser(u, admin) {
		t.Fatalf("GetUserByEmail = %+v, %v", u, err)
	}
	for _, email := range []string{"nobody@example.com", "ADA@example.com"} {
		if _, err := s.GetUserByEmail(ctx, store.GetUserByEmailParams{Email: email}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUserByEmail(%s) = %v, want ErrNotFound", email, err)
		}
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].ID != "u1" || users[1].ID != "u2" {
		t.Fatalf("ListUsers = %+v, %v", users, err)
	}

	// Sessions: live ones are found with their user; expired ones are not.
	expires := t0.Add(14 * 24 * time.Hour)
	for _, p := range []store.CreateSessionParams{
		{Hash: "s-ada", UserID: "u1", At: t0, ExpiresAt: expires},
		{Hash: "s-ada-2", UserID: "u1", At: t0, ExpiresAt: expires},
		{Hash: "s-bob", UserID: "u2", At: t0, ExpiresAt: t0.Add(time.Hour)},
	} {
		if err := s.CreateSession(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, store.CreateSessionParams{Hash: "s-ghost", UserID: "nobody", At: t0, ExpiresAt: expires}); err == nil {
		t.Error("a session of a user that does not exist was stored")
	}
	sess, err := s.GetSession(ctx, store.GetSessionParams{Hash: "s-bob", At: t0.Add(time.Minute)})
	if err != nil || sess.UserID != "u2" || !sameUser(sess.User, deployer) || !sess.CreatedAt.Equal(t0) || !sess.LastSeenAt.Equal(t0) ||
		!sess.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("GetSession(s-bob) = %+v, %v", sess, err)
	}
	for _, at := range []time.Time{t0.Add(time.Hour), t0.Add(2 * time.Hour)} {
		if _, err := s.GetSession(ctx, store.GetSessionParams{Hash: "s-bob", At: at}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSession at %v, after the expiry: %v, want ErrNotFound", at, err)
		}
	}
	if _, err := s.GetSession(ctx, store.GetSessionParams{Hash: "s-none", At: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession of no session: %v", err)
	}

	// Touching pushes the expiry forward, but not of an expired session.
	seen := t0.Add(30 * time.Minute)
	if err := s.TouchSession(ctx, store.TouchSessionParams{Hash: "s-bob", At: seen, ExpiresAt: seen.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if sess, err := s.GetSession(ctx, store.GetSessionParams{Hash: "s-bob", At: t0.Add(80 * time.Minute)}); err != nil ||
		!sess.LastSeenAt.Equal(seen) || !sess.ExpiresAt.Equal(seen.Add(time.Hour)) {
		t.Fatalf("after TouchSession: %+v, %v", sess, err)
	}
	late := seen.Add(2 * time.Hour)
	if err := s.TouchSession(ctx, store.TouchSessionParams{Hash: "s-bob", At: late, ExpiresAt: late.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TouchSession of an expired session: %v, want ErrNotFound", err)
	}
	if n, err := s.DeleteExpiredSessions(ctx, store.DeleteExpiredSessionsParams{Before: late}); err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1 (s-bob)", n, err)
	}

	// Signing out ends one session; a new password ends them all.
	if err := s.DeleteSession(ctx, store.DeleteSessionParams{Hash: "s-ada"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, store.DeleteSessionParams{Hash: "s-ada"}); err != nil {
		t.Errorf("deleting a session twice: %v", err)
	}
	if _, err := s.GetSession(ctx, store.GetSessionParams{Hash: "s-ada", At: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted session: %v", err)
	}
	if _, err := s.GetSession(ctx, store.GetSessionParams{Hash: "s-ada-2", At: t0}); err != nil {
		t.Fatalf("the other session of the user: %v", err)
	}
	if err := s.SetUserPassword(ctx, store.SetUserPasswordParams{ID: "u1", PasswordHash: "$argon2id$new"}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.GetUser(ctx, store.GetUserParams{ID: "u1"}); err != nil || u.PasswordHash != "$argon2id$new" {
		t.Fatalf("after SetUserPassword: %+v, %v", u, err)
	}
	if _, err := s.GetSession(ctx, store.GetSessionParams{Hash: "s-ada-2", At: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session from before the new password: %v, want ErrNotFound", err)
	}
	if err := s.SetUserPassword(ctx, store.SetUserPasswordParams{ID: "nobody", PasswordHash: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetUserPassword of nobody: %v", err)
	}

	// Deleting a user ends its sessions and frees its email.
	if err := s.CreateSession(ctx, store.CreateSessionParams{Hash: "s-ada-3", UserID: "u1", At: t0, ExpiresAt: expires}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, store.DeleteUserParams{ID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, store.GetSessionParams{Hash: "s-ada-3", At: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session of a deleted user: %v", err)
	}
	if n, err := s.DeleteExpiredSessions(ctx, store.DeleteExpiredSessionsParams{Before: expires.Add(time.Hour)}); err != nil || n != 0 {
		t.Errorf("sessions left after their user was deleted: %d, %v", n, err)
	}
	if err := s.DeleteUser(ctx, store.DeleteUserParams{ID: "u1"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a user twice: %v", err)
	}
	if _, err := s.GetUser(ctx, store.GetUserParams{ID: "u1"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser of a deleted user: %v", err)
	}
	if _, err := s.CreateUser(ctx, store.CreateUserParams{ID: "u4", Email: "ada@example.com", PasswordHash: "y", Role: "read", At: t0}); err != nil {
		t.Errorf("the email of a deleted user is not free: %v", err)
	}
}

func sameUser(a, b liftoff.User) bool {
	return a.ID == b.ID && a.Email == b.Email && a.PasswordHash == b.PasswordHash && a.Role == b.Role &&
		slices.Equal(a.EnvironmentIDs, b.EnvironmentIDs) && a.CreatedAt.Equal(b.CreatedAt)
}

// testUserRoles: a user's role and environments change, its sessions
// going on with the new role; with KeepAnAdmin, neither a role change nor
// a deletion takes the admin role from the last user who has it, and two
// admins demoting each other at once leave one admin.
func testUserRoles(t *testing.T, s store.Store) {
	ctx := context.Background()
	expires := t0.Add(time.Hour)
	for _, p := range []store.CreateUserParams{
		{ID: "a1", Email: "a1@example.com", PasswordHash: "x", Role: "admin", At: t0},
		{ID: "a2", Email: "a2@example.com", PasswordHash: "x", Role: "admin", At: t0.Add(time.Second)},
		{ID: "r1", Email: "r1@example.com", PasswordHash: "x", Role: "read", At: t0.Add(2 * time.Second)},
	} {
		if _, err := s.CreateUser(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, store.CreateSessionParams{Hash: "s-r1", UserID: "r1", At: t0, ExpiresAt: expires}); err != nil {
		t.Fatal(err)
	}
	u, err := s.SetUserRole(ctx, store.SetUserRoleParams{ID: "r1", Role: "deploy", EnvironmentIDs: []int64{4, 9}, KeepAnAdmin: true})
	if err != nil || u.Role != "deploy" || !slices.Equal(u.EnvironmentIDs, []int64{4, 9}) || u.Email != "r1@example.com" {
		t.Fatalf("SetUserRole(r1, deploy) = %+v, %v", u, err)
	}
	if sess, err := s.GetSession(ctx, store.GetSessionParams{Hash: "s-r1", At: t0}); err != nil || sess.User.Role != "deploy" ||
		!slices.Equal(sess.User.EnvironmentIDs, []int64{4, 9}) {
		t.Fatalf("the session after SetUserRole: %+v, %v", sess, err)
	}
	if u, err := s.SetUserRole(ctx, store.SetUserRoleParams{ID: "r1", Role: "read", KeepAnAdmin: true}); err != nil || u.EnvironmentIDs != nil {
		t.Fatalf("SetUserRole(r1, read) = %+v, %v", u, err)
	}
	if _, err := s.SetUserRole(ctx, store.SetUserRoleParams{ID: "nobody", Role: "read", KeepAnAdmin: true}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetUserRole(nobody) = %v, want ErrNotFound", err)
	}
	if _, err := s.SetUserRole(ctx, store.SetUserRoleParams{ID: "nobody", Role: "admin"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetUserRole(nobody, admin) = %v, want ErrNotFound", err)
	}

	// Two admins demote each other at once: one of them stays admin.
	errs := make(chan error, 2)
	for _, id := range []string{"a1", "a2"} {
		go func() {
			_, err := s.SetUserRole(ctx, store.SetUserRoleParams{ID: id, Role: "read", KeepAnAdmin: true})
			errs <- err
		}()
	}
	var refused int
	for range 2 {
		switch err := <-errs; {
		case errors.Is(err, store.ErrLastAdmin):
			refused++
		case err != nil:
			t.Fatalf("SetUserRole of an admin: %v", err)
		}
	}
	admins := adminsOf(t, s)
	if refused != 1 || len(admins) != 1 {
		t.Fatalf("two admins demoted each other: %d refused, admins left %v; want 1 and 1", refused, admins)
	}
	last := admins[0]
	if _, err := s.SetUserRole(ctx, store.SetUserRoleParams{ID: last, Role: "deploy", EnvironmentIDs: []int64{4}, KeepAnAdmin: true}); !errors.Is(err, store.ErrLastAdmin) ||
		!errors.Is(err, store.ErrConflict) {
		t.Errorf("demoting the last admin: %v, want ErrLastAdmin (a conflict)", err)
	}
	if err := s.DeleteUser(ctx, store.DeleteUserParams{ID: last, KeepAnAdmin: true}); !errors.Is(err, store.ErrLastAdmin) {
		t.Errorf("deleting the last admin: %v, want ErrLastAdmin", err)
	}
	if err := s.DeleteUser(ctx, store.DeleteUserParams{ID: "nobody", KeepAnAdmin: true}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteUser(nobody) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteUser(ctx, store.DeleteUserParams{ID: "r1", KeepAnAdmin: true}); err != nil {
		t.Errorf("deleting a read user: %v", err)
	}
	if got := adminsOf(t, s); !slices.Equal(got, []string{last}) {
		t.Fatalf("admins after the refusals: %v, want [%s]", got, last)
	}
	// Promoting another first lets the last one go; without KeepAnAdmin
	// nothing is refused.
	other := "a1"
	if last == "a1" {
		other = "a2"
	}
	if _, err := s.SetUserRole(ctx, store.SetUserRoleParams{ID: other, Role: "admin", KeepAnAdmin: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, store.DeleteUserParams{ID: last, KeepAnAdmin: true}); err != nil {
		t.Fatalf("deleting an admin when another is left: %v", err)
	}
	if _, err := s.SetUserRole(ctx, store.SetUserRoleParams{ID: other, Role: "read"}); err != nil {
		t.Fatalf("demoting the last admin without KeepAnAdmin: %v", err)
	}
}

// adminsOf lists the ids of the users with the admin role.
func adminsOf(t *testing.T, s store.Store) []string {
	t.Helper()
	users, err := s.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, u := range users {
		if u.Role == "admin" {
			out = append(out, u.ID)
		}
	}
	return out
}
