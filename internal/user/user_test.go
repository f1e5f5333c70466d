package user

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/pgnote"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/testclock"
)

func TestMain(m *testing.M) { pgnote.Main(m) }

const goodPassword = "correct horse battery"

// newService is the users domain on a fresh store of the dialect, with an
// environment (its id returned) and a clock the test moves.
func newService(t *testing.T, dialect string, cfg Config) (*Service, store.Store, int64, *testclock.Clock) {
	t.Helper()
	st := storetest.Open(t, dialect)
	ctx := context.Background()
	p, err := st.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "shop", RepoURL: "/srv/shop", ConfigPath: "liftoff.json",
		DefaultBranch: "main", ConfigCommit: "abc", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main", Config: config.Environment{ID: "production"}}}})
	if err != nil {
		t.Fatal(err)
	}
	c := testclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	s := NewService(st, cuid.New, cfg)
	s.now = c.Now
	return s, st, envs[0].ID, c
}

func TestCreate(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, st, env, _ := newService(t, dialect, Config{})
			for _, c := range []struct {
				name string
				p    CreateParams
				kind fail.Kind
				want string
			}{
				{"no email", CreateParams{Password: goodPassword}, fail.Invalid, "email must be an address"},
				{"a name with the address", CreateParams{Email: "Ada <ada@example.com>", Password: goodPassword}, fail.Invalid, "email must be"},
				{"no at", CreateParams{Email: "ada", Password: goodPassword}, fail.Invalid, "email must be"},
				{"short password", CreateParams{Email: "ada@example.com", Password: "short"}, fail.Invalid, "at least 12 characters"},
				{"long password", CreateParams{Email: "ada@example.com", Password: strings.Repeat("x", MaxPasswordLen+1)}, fail.Invalid, "at most"},
				{"unknown role", CreateParams{Email: "ada@example.com", Password: goodPassword, Role: "owner"}, fail.Invalid, "scope must be admin, deploy or read"},
				{"deploy without environments", CreateParams{Email: "ada@example.com", Password: goodPassword, Role: apikey.Deploy}, fail.Invalid,
					"a deploy user must name the environments it deploys: give the environments' integer ids (in the CLI: --env-ids 3,4)"},
				{"read with environments", CreateParams{Email: "ada@example.com", Password: goodPassword, Role: apikey.Read, EnvironmentIDs: []int64{env}},
					fail.Invalid, "a user of scope read reaches every environment"},
				{"an environment that does not exist", CreateParams{Email: "ada@example.com", Password: goodPassword, Role: apikey.Deploy,
					EnvironmentIDs: []int64{env + 100}}, fail.Invalid, "does not exist"},
			} {
				_, err := s.Create(ctx, c.p)
				if fail.KindOf(err) != c.kind || err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: %v (%v), want %v %q", c.name, err, fail.KindOf(err), c.kind, c.want)
				}
			}

			u, err := s.Create(ctx, CreateParams{Email: "  Ada@Example.com ", Password: goodPassword})
			if err != nil {
				t.Fatal(err)
			}
			if u.Email != "ada@example.com" || u.Role != "admin" || u.EnvironmentIDs != nil {
				t.Errorf("created %+v; want an admin user with the email in lower case", u)
			}
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(u.PasswordHash, goodPassword) {
				t.Errorf("stored hash %q", u.PasswordHash)
			}
			if _, err := s.Create(ctx, CreateParams{Email: "ADA@example.com", Password: goodPassword}); fail.KindOf(err) != fail.Conflict {
				t.Errorf("the same email again: %v, want a conflict", err)
			}
			d, err := s.Create(ctx, CreateParams{Email: "ci@example.com", Password: goodPassword, Role: apikey.Deploy, EnvironmentIDs: []int64{env, env}})
			if err != nil || d.Role != "deploy" || len(d.EnvironmentIDs) != 1 || d.EnvironmentIDs[0] != env {
				t.Fatalf("deploy user %+v, %v", d, err)
			}
			list, err := s.List(ctx)
			if err != nil || len(list) != 2 || list[0].Email != "ada@example.com" {
				t.Fatalf("List = %+v, %v", list, err)
			}
			stored, err := st.GetUserByEmail(ctx, store.GetUserByEmailParams{Email: "ada@example.com"})
			if err != nil || stored.PasswordHash != u.PasswordHash {
				t.Fatalf("stored %+v, %v", stored, err)
			}
		})
	}
}

func TestLoginAndSessions(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, _, _, clk := newService(t, dialect, Config{SessionTTL: time.Hour, TouchEvery: 10 * time.Minute})
			if _, err := s.Create(ctx, CreateParams{Email: "ada@example.com", Password: goodPassword, Role: apikey.Read}); err != nil {
				t.Fatal(err)
			}
			for _, p := range []LoginParams{
				{Email: "ada@example.com", Password: goodPassword + "!", Address: "10.0.0.1"},
				{Email: "bob@example.com", Password: goodPassword, Address: "10.0.0.1"},
				{Email: "", Password: "", Address: "10.0.0.1"},
			} {
				if _, err := s.Login(ctx, p); !errors.Is(err, ErrBadLogin) {
					t.Errorf("Login(%s) = %v, want ErrBadLogin", p.Email, err)
				}
			}
			in, err := s.Login(ctx, LoginParams{Email: "ADA@example.com ", Password: goodPassword, Address: "10.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(in.Token, "lfs_") || in.Session.User.Email != "ada@example.com" || in.Session.Hash == in.Token {
				t.Fatalf("login %+v", in)
			}
			sess, err := s.Session(ctx, in.Token)
			if err != nil || sess.User.Role != "read" || !sess.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
				t.Fatalf("Session = %+v, %v", sess, err)
			}
			for _, tok := range []string{"", "nonsense", in.Token + "x", strings.Replace(in.Token, "lfs_", "lfk_", 1)} {
				if _, err := s.Session(ctx, tok); !errors.Is(err, ErrNoSession) {
					t.Errorf("Session(%q) = %v, want ErrNoSession", tok, err)
				}
			}

			// The expiry slides with use: 50 minutes, then 50 more, is past
			// the first hour but within an hour of the last use.
			clk.Advance(50 * time.Minute)
			if sess, err = s.Session(ctx, in.Token); err != nil || !sess.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
				t.Fatalf("after 50 minutes: %+v, %v", sess, err)
			}
			clk.Advance(50 * time.Minute)
			if _, err = s.Session(ctx, in.Token); err != nil {
				t.Fatalf("used 50 minutes ago: %v", err)
			}
			clk.Advance(61 * time.Minute)
			if _, err := s.Session(ctx, in.Token); !errors.Is(err, ErrNoSession) {
				t.Fatalf("unused for 61 minutes: %v, want ErrNoSession", err)
			}

			// Signing out ends one session; a new password ends them all,
			// and the old password no longer signs in.
			a, err := s.Login(ctx, LoginParams{Email: "ada@example.com", Password: goodPassword, Address: "10.0.0.2"})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Login(ctx, LoginParams{Email: "ada@example.com", Password: goodPassword, Address: "10.0.0.2"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Logout(ctx, a.Token); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Session(ctx, a.Token); !errors.Is(err, ErrNoSession) {
				t.Errorf("a session after Logout: %v", err)
			}
			if _, err := s.Session(ctx, b.Token); err != nil {
				t.Errorf("the other session after Logout: %v", err)
			}
			if _, err := s.SetPassword(ctx, "ada@example.com", "a brand new password"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Session(ctx, b.Token); !errors.Is(err, ErrNoSession) {
				t.Errorf("a session after a new password: %v", err)
			}
			if _, err := s.Login(ctx, LoginParams{Email: "ada@example.com", Password: goodPassword, Address: "10.0.0.3"}); !errors.Is(err, ErrBadLogin) {
				t.Errorf("the old password: %v", err)
			}
			c, err := s.Login(ctx, LoginParams{Email: "ada@example.com", Password: "a brand new password", Address: "10.0.0.3"})
			if err != nil {
				t.Fatal(err)
			}
			// Deleting the user ends its sessions.
			if _, err := s.Delete(ctx, "ada@example.com"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Session(ctx, c.Token); !errors.Is(err, ErrNoSession) {
				t.Errorf("a session of a deleted user: %v", err)
			}
			if _, err := s.Delete(ctx, "ada@example.com"); fail.KindOf(err) != fail.NotFound {
				t.Errorf("deleting twice: %v", err)
			}
		})
	}
}

// TestLoginRateLimits: an address that tries too often is refused, whatever
// the emails, and so is an email tried too often, whatever the addresses;
// a minute later they may try again.
func TestLoginRateLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _, clk := newService(t, "sqlite", Config{LoginsPerMinute: 3})
	if _, err := s.Create(ctx, CreateParams{Email: "ada@example.com", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	for i, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if _, err := s.Login(ctx, LoginParams{Email: email, Password: "x", Address: "10.0.0.9"}); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, err := s.Login(ctx, LoginParams{Email: "ada@example.com", Password: goodPassword, Address: "10.0.0.9"})
	fe := fail.As(err)
	if fe == nil || fe.Kind != fail.RateLimited || fe.RetryAfter < time.Second || !strings.Contains(fe.Message, "Too many sign-in attempts") {
		t.Fatalf("the fourth attempt from one address: %v", err)
	}
	// Another address may sign in.
	if _, err := s.Login(ctx, LoginParams{Email: "ada@example.com", Password: goodPassword, Address: "10.0.0.10"}); err != nil {
		t.Fatal(err)
	}
	// One email from many addresses: its fourth attempt in the minute (one
	// above, and two wrong here) is refused.
	for i := range 2 {
		if _, err := s.Login(ctx, LoginParams{Email: "ada@example.com", Password: "wrong", Address: "10.1.0." + string(rune('1'+i))}); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("attempt %d for the email: %v", i, err)
		}
	}
	if _, err := s.Login(ctx, LoginParams{Email: "ada@example.com", Password: goodPassword, Address: "10.1.0.9"}); fail.KindOf(err) != fail.RateLimited {
		t.Fatalf("the fourth attempt for one email: %v", err)
	}
	clk.Advance(time.Minute)
	if _, err := s.Login(ctx, LoginParams{Email: "ada@example.com", Password: goodPassword, Address: "10.0.0.9"}); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
}

func TestParseHashRefusesWhatItCannotBound(t *testing.T) {
	t.Parallel()
	h := newHasher(1)
	good, err := h.Hash(context.Background(), goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(context.Background(), goodPassword, good); !ok || err != nil {
		t.Fatalf("Verify(good) = %v, %v", ok, err)
	}
	if ok, err := h.Verify(context.Background(), goodPassword+".", good); ok || err != nil {
		t.Fatalf("Verify(a wrong password) = %v, %v", ok, err)
	}
	salt, key := strings.Split(good, "$")[4], strings.Split(good, "$")[5]
	for _, bad := range []string{
		"",
		"plain",
		"$2a$10$bcrypthashbcrypthashbcrypthashbcrypthashbcrypthashbcr",
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key, // 4 GiB
		"$argon2id$v=19$m=19456,t=100,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$!!$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$",
	} {
		if _, err := h.Verify(context.Background(), goodPassword, bad); !errors.Is(err, errBadHash) {
			t.Errorf("Verify against %q: %v, want errBadHash", bad, err)
		}
	}
}

// TestSetRoleAndLastAdmin: a role changes with its environments checked as
// Create checks them, and the session goes on with the new role; the last
// admin can be neither demoted nor deleted.
func TestSetRoleAndLastAdmin(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, _, env, _ := newService(t, dialect, Config{})
			ada, err := s.Create(ctx, CreateParams{Email: "ada@example.com", Password: goodPassword})
			if err != nil {
				t.Fatal(err)
			}
			bob, err := s.Create(ctx, CreateParams{Email: "bob@example.com", Password: goodPassword, Role: apikey.Read})
			if err != nil {
				t.Fatal(err)
			}
			in, err := s.Login(ctx, LoginParams{Email: "bob@example.com", Password: goodPassword, Address: "10.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				role apikey.Scope
				envs []int64
				want string
			}{
				{"owner", nil, "scope must be admin, deploy or read"},
				{apikey.Deploy, nil, "a deploy user must name the environments"},
				{apikey.Read, []int64{env}, "environmentIds are only for scope deploy"},
				{apikey.Deploy, []int64{env + 100}, "does not exist"},
			} {
				if _, err := s.SetRole(ctx, bob.ID, c.role, c.envs); fail.KindOf(err) != fail.Invalid || !strings.Contains(err.Error(), c.want) {
					t.Errorf("SetRole(%s, %v) = %v, want Invalid %q", c.role, c.envs, err, c.want)
				}
			}
			u, err := s.SetRole(ctx, "bob@example.com", apikey.Deploy, []int64{env})
			if err != nil || u.Role != "deploy" || len(u.EnvironmentIDs) != 1 || u.EnvironmentIDs[0] != env {
				t.Fatalf("SetRole(bob, deploy) = %+v, %v", u, err)
			}
			if sess, err := s.Session(ctx, in.Token); err != nil || sess.User.Role != "deploy" {
				t.Errorf("bob's session after SetRole: %+v, %v", sess, err)
			}
			if _, err := s.SetRole(ctx, "nobody@example.com", apikey.Read, nil); fail.KindOf(err) != fail.NotFound {
				t.Errorf("SetRole(nobody) = %v, want NotFound", err)
			}

			// Ada is the only admin.
			if _, err := s.SetRole(ctx, ada.ID, apikey.Read, nil); !errors.Is(err, store.ErrLastAdmin) || fail.KindOf(err) != fail.Conflict ||
				!strings.Contains(err.Error(), "last admin") {
				t.Errorf("demoting the last admin: %v, want Conflict ErrLastAdmin", err)
			}
			if _, err := s.Delete(ctx, ada.Email); fail.KindOf(err) != fail.Conflict {
				t.Errorf("deleting the last admin: %v, want Conflict", err)
			}
			if _, err := s.SetRole(ctx, bob.ID, apikey.Admin, nil); err != nil {
				t.Fatal(err)
			}
			if u, err := s.SetRole(ctx, ada.ID, apikey.Read, nil); err != nil || u.Role != "read" {
				t.Fatalf("demoting an admin when another is left: %+v, %v", u, err)
			}
			if _, err := s.Delete(ctx, bob.ID); fail.KindOf(err) != fail.Conflict {
				t.Errorf("deleting bob, now the last admin: %v, want Conflict", err)
			}
			if _, err := s.Delete(ctx, ada.ID); err != nil {
				t.Errorf("deleting a read user: %v", err)
			}
		})
	}
}
