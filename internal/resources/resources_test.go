package resources_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/lucsky/cuid"
	"github.com/redis/go-redis/v9"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/resources"
	rt "github.com/liftoffhq/liftoff/internal/resources/resourcestest"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
)

var (
	rdsDB = config.Service{ID: "db", Type: "rds", Engine: "postgres"}
	cache = config.Service{ID: "cache", Type: "elasticache"}
)

// harness is a resources.Service on a store of its own.
type harness struct {
	t     *testing.T
	store store.Store
	keys  *secretbox.Keyring
	slug  string // the project's: every name starts with lo_<slug>_
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "liftoff.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	keys, _, err := secretbox.LoadOrCreate(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, store: st, keys: keys, slug: "t" + rt.Suffix()}
}

func (h *harness) service(cfg resources.Config) *resources.Service {
	h.t.Helper()
	s, err := resources.New(cfg, h.store, h.keys, cuid.New, slog.New(slog.DiscardHandler))
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// id is the identity of service svc of environment env (PR pr).
func (h *harness) id(env int64, pr int, svc string) resources.Identity {
	given := "production"
	if pr > 0 {
		given = "preview"
	}
	return resources.Identity{ProjectID: "p-" + h.slug, ProjectSlug: h.slug, EnvironmentID: env, EnvGivenID: given, PRNumber: pr, ServiceID: svc}
}

func (h *harness) count() int {
	h.t.Helper()
	list, err := h.store.ListManagedResources(context.Background(), store.ListManagedResourcesParams{AllInstances: true})
	if err != nil {
		h.t.Fatal(err)
	}
	return len(list)
}

// pgQuery runs a query of one text column as url, returning the error.
func pgQuery(ctx context.Context, url, query string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close(ctx) }()
	var out string
	err = conn.QueryRow(ctx, query).Scan(&out)
	return out, err
}

func pgExec(t *testing.T, url string, statements ...string) {
	t.Helper()
	rt.Exec(t, url, statements...)
}

// closedPort is the URL of a server that is down: nothing listens there.
func closedPort(t *testing.T, scheme string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return scheme + "://admin:secret@" + addr + "/postgres"
}

// TestPostgresDatabases: each environment instance gets a database and a
// role of its own, kept across deployments, that other roles cannot
// connect to; a preview's is dropped with it, the others stay.
func TestPostgresDatabases(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := rt.PostgresAdmin(t)
	s := h.service(resources.Config{PostgresURL: admin})
	ctx := context.Background()

	prod, created, err := s.Ensure(ctx, h.id(1, 0, "db"), rdsDB, nil)
	if err != nil || !created {
		t.Fatalf("Ensure production's db = %v, created %v", err, created)
	}
	pr1, _, err := s.Ensure(ctx, h.id(2, 1, "db"), rdsDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	pr2, _, err := s.Ensure(ctx, h.id(2, 2, "db"), rdsDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{prod.Name: true, pr1.Name: true, pr2.Name: true}
	if len(names) != 3 {
		t.Fatalf("three instances share names: %v", names)
	}
	for _, k := range []string{"dbConnectionString", "host", "port", "username", "password", "dbName"} {
		if prod.Values[k] == "" {
			t.Errorf("no %s among %v", k, prod.Values)
		}
	}
	if !prod.Secret["password"] || !prod.Secret["dbConnectionString"] || prod.Secret["host"] {
		t.Errorf("secret values: %v", prod.Secret)
	}
	if prod.Values["dbName"] != prod.Name || prod.Values["username"] != prod.Name || prod.Values["port"] != "5432" {
		t.Errorf("values %v, want the name %s", prod.Values, prod.Name)
	}

	// Each writes and reads its own database, owned by its role.
	for _, r := range []resources.Resource{prod, pr1, pr2} {
		url := r.Values["dbConnectionString"]
		pgExec(t, url, `CREATE TABLE notes (body text)`, `INSERT INTO notes VALUES ('`+r.Name+`')`)
		if got, err := pgQuery(ctx, url, `SELECT body FROM notes`); err != nil || got != r.Name {
			t.Errorf("%s reads %q, %v", r.Name, got, err)
		}
		if owner, err := pgQuery(ctx, url, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()`); err != nil || owner != r.Name {
			t.Errorf("database %s is owned by %q, %v", r.Name, owner, err)
		}
	}
	// One preview's role cannot connect to the other's database, nor to
	// production's.
	for _, other := range []resources.Resource{pr2, prod} {
		url := rt.WithUser(t, other.Values["dbConnectionString"], pr1.Name, pr1.Values["password"])
		if _, err := pgQuery(ctx, url, `SELECT body FROM notes`); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s connecting to %s: %v, want permission denied", pr1.Name, other.Name, err)
		}
	}

	// Kept across deployments: the same database, its data and password.
	again, created, err := s.Ensure(ctx, h.id(1, 0, "db"), rdsDB, nil)
	if err != nil || created || again.Name != prod.Name || again.Values["password"] != prod.Values["password"] {
		t.Fatalf("Ensure again = %v (created %v, %s), want %s as it was", err, created, again.Name, prod.Name)
	}
	if got, err := pgQuery(ctx, again.Values["dbConnectionString"], `SELECT body FROM notes`); err != nil || got != prod.Name {
		t.Errorf("production's data after Ensure again: %q, %v", got, err)
	}

	// A dump, in pg_restore's format.
	var dump bytes.Buffer
	if err := s.Dump(ctx, 1, 0, "db", &dump); err != nil || !bytes.HasPrefix(dump.Bytes(), []byte("PGDMP")) {
		t.Errorf("Dump = %v, %d bytes starting %q", err, dump.Len(), dump.Bytes()[:min(5, dump.Len())])
	}

	// PR 1 torn down: its database and role go, PR 2's and production's stay.
	if dropped, err := s.DropInstance(ctx, 2, 1); err != nil || len(dropped) != 1 || dropped[0].Name != pr1.Name {
		t.Fatalf("DropInstance = %v, %v", dropped, err)
	}
	super := rt.PostgresURL(t)
	if got := rt.Strings(t, super, `SELECT datname FROM pg_database WHERE datname = $1 UNION ALL SELECT rolname FROM pg_roles WHERE rolname = $1`, pr1.Name); len(got) != 0 {
		t.Errorf("after the teardown of PR 1: %v left", got)
	}
	for _, r := range []resources.Resource{pr2, prod} {
		if got, err := pgQuery(ctx, r.Values["dbConnectionString"], `SELECT body FROM notes`); err != nil || got != r.Name {
			t.Errorf("%s after PR 1's teardown: %q, %v", r.Name, got, err)
		}
	}
	if h.count() != 2 {
		t.Errorf("%d resources recorded, want 2", h.count())
	}

	// The operator's explicit delete drops production's.
	if _, err := s.Delete(ctx, 1, 0, "db"); err != nil {
		t.Fatal(err)
	}
	if got := rt.Strings(t, super, `SELECT datname FROM pg_database WHERE datname = $1`, prod.Name); len(got) != 0 {
		t.Errorf("production's database after Delete: %v", got)
	}
	if _, err := s.Delete(ctx, 1, 0, "db"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete again: %v, want ErrNotFound", err)
	}
}

// TestPostgresBadInput: a service id that would make a bad name; an
// operator's role without the privileges (nothing made); a server that is
// down (the next attempt succeeds once it is back); a failure midway
// (what was made is removed).
func TestPostgresBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := rt.PostgresAdmin(t)
	super := rt.PostgresURL(t)
	ctx := context.Background()
	s := h.service(resources.Config{PostgresURL: admin})

	t.Run("quoted and long ids", func(t *testing.T) {
		for _, svc := range []string{`db"; DROP DATABASE postgres; --`, strings.Repeat("VeryLongDatabaseId", 6)} {
			id := h.id(10, 0, svc)
			id.EnvGivenID = `pro'duction`
			r, _, err := s.Ensure(ctx, id, config.Service{ID: svc, Type: "rds", Engine: "postgres"}, nil)
			if err != nil {
				t.Fatalf("%q: %v", svc, err)
			}
			if len(r.Name) > resources.MaxNameLen {
				t.Errorf("%q: name %q is longer than %d", svc, r.Name, resources.MaxNameLen)
			}
			if got, err := pgQuery(ctx, r.Values["dbConnectionString"], `SELECT current_database()`); err != nil || got != r.Name {
				t.Errorf("%q: connected to %q, %v; want %s", svc, got, err, r.Name)
			}
		}
	})

	t.Run("without the privileges", func(t *testing.T) {
		weak, password := "lotest_weak_"+rt.Suffix(), rt.Suffix()
		pgExec(t, super, `CREATE ROLE `+weak+` LOGIN PASSWORD '`+password+`'`)
		t.Cleanup(func() { pgExec(t, super, `DROP ROLE IF EXISTS `+weak) })
		before := h.count()
		ws := h.service(resources.Config{PostgresURL: rt.WithUser(t, admin, weak, password)})
		_, _, err := ws.Ensure(ctx, h.id(11, 0, "db"), rdsDB, nil)
		if err == nil || !strings.Contains(err.Error(), "lacks CREATEROLE and CREATEDB") || !strings.Contains(err.Error(), `ALTER ROLE "`+weak+`" CREATEROLE CREATEDB`) {
			t.Errorf("Ensure as a role without privileges: %v", err)
		}
		if h.count() != before {
			t.Errorf("a resource stayed recorded")
		}
		name := resources.Name(h.id(11, 0, "db"))
		if got := rt.Strings(t, super, `SELECT rolname FROM pg_roles WHERE rolname = $1`, name); len(got) != 0 {
			t.Errorf("role %s was made", name)
		}
	})

	t.Run("server down, then back", func(t *testing.T) {
		down := h.service(resources.Config{PostgresURL: closedPort(t, "postgres")})
		_, _, err := down.Ensure(ctx, h.id(12, 0, "db"), rdsDB, nil)
		if err == nil || !strings.Contains(err.Error(), "connect to the managed PostgreSQL server") || strings.Contains(err.Error(), "secret") {
			t.Errorf("Ensure with the server down: %v", err)
		}
		if _, err := h.store.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: 12, ServiceID: "db"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after a failed creation the resource is recorded: %v", err)
		}
		if _, created, err := s.Ensure(ctx, h.id(12, 0, "db"), rdsDB, nil); err != nil || !created {
			t.Errorf("Ensure once the server is back: %v, created %v", err, created)
		}
	})

	t.Run("a failure midway removes what was made", func(t *testing.T) {
		// A database of that name exists already (not Liftoff's): the
		// role made before it must go again.
		name := resources.Name(h.id(13, 0, "db"))
		pgExec(t, super, `CREATE DATABASE `+name)
		t.Cleanup(func() { pgExec(t, super, `DROP DATABASE IF EXISTS `+name) })
		_, _, err := s.Ensure(ctx, h.id(13, 0, "db"), rdsDB, nil)
		if err == nil || !strings.Contains(err.Error(), "PostgreSQL said") || !strings.Contains(err.Error(), "already exists") {
			t.Errorf("Ensure over a database that exists: %v", err)
		}
		if got := rt.Strings(t, super, `SELECT rolname FROM pg_roles WHERE rolname = $1`, name); len(got) != 0 {
			t.Errorf("role %s stayed", name)
		}
		if _, err := h.store.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: 13, ServiceID: "db"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the resource stayed recorded: %v", err)
		}
	})

	t.Run("half-made by a Liftoff that stopped", func(t *testing.T) {
		// Recorded creating, its role made, its database not: the next
		// Ensure removes the role and makes both.
		id := h.id(14, 0, "db")
		name := resources.Name(id)
		keyID, sealed, err := h.keys.Seal([]byte("x"), liftoff.ManagedResourceAAD("postgres", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.store.InsertManagedResource(ctx, liftoff.ManagedResource{ID: cuid.New(), ProjectID: id.ProjectID, EnvironmentID: 14,
			ServiceID: "db", Kind: "postgres", Name: name, KeyID: keyID, Sealed: sealed, State: liftoff.ResourceCreating}); err != nil {
			t.Fatal(err)
		}
		pgExec(t, admin, `CREATE ROLE `+name+` LOGIN`, `GRANT `+name+` TO CURRENT_USER`)
		r, created, err := s.Ensure(ctx, id, rdsDB, nil)
		if err != nil || !created {
			t.Fatalf("Ensure after a crash midway: %v, created %v", err, created)
		}
		if got, err := pgQuery(ctx, r.Values["dbConnectionString"], `SELECT current_user`); err != nil || got != name {
			t.Errorf("connected as %q, %v", got, err)
		}
	})
}

// TestPostgresSeed: a preview's database made from production's holds a
// copy of its tables and rows, owned by the preview's role; production's
// is untouched.
func TestPostgresSeed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.service(resources.Config{PostgresURL: rt.PostgresAdmin(t)})
	ctx := context.Background()
	prod, _, err := s.Ensure(ctx, h.id(1, 0, "db"), rdsDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	pgExec(t, prod.Values["dbConnectionString"], `CREATE TABLE users (name text)`, `INSERT INTO users VALUES ('ada')`)
	preview, _, err := s.Ensure(ctx, h.id(2, 5, "db"), rdsDB, &prod.ManagedResource)
	if err != nil {
		t.Fatalf("Ensure a seeded preview: %v", err)
	}
	url := preview.Values["dbConnectionString"]
	if got, err := pgQuery(ctx, url, `SELECT name FROM users`); err != nil || got != "ada" {
		t.Errorf("the preview's copy: %q, %v", got, err)
	}
	if owner, err := pgQuery(ctx, url, `SELECT tableowner FROM pg_tables WHERE tablename = 'users'`); err != nil || owner != preview.Name {
		t.Errorf("users is owned by %q, %v; want %s", owner, err, preview.Name)
	}
	pgExec(t, url, `INSERT INTO users VALUES ('grace')`)
	if got, err := pgQuery(ctx, prod.Values["dbConnectionString"], `SELECT count(*)::text FROM users`); err != nil || got != "1" {
		t.Errorf("production's rows after the preview wrote: %s, %v", got, err)
	}
}

// TestRedisUsers: each environment instance gets a user of its own, kept
// to its key prefix and channels; a preview's user and keys go with it.
func TestRedisUsers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := rt.RedisAdmin(t, "lo_"+h.slug+"_")
	s := h.service(resources.Config{RedisURL: admin})
	ctx := context.Background()
	prod, created, err := s.Ensure(ctx, h.id(1, 0, "cache"), cache, nil)
	if err != nil || !created {
		t.Fatalf("Ensure production's cache = %v, created %v", err, created)
	}
	pr1, _, err := s.Ensure(ctx, h.id(2, 1, "cache"), cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"connectionString", "host", "port", "authToken"} {
		if prod.Values[k] == "" {
			t.Errorf("no %s among %v", k, prod.Values)
		}
	}
	if prod.Env[resources.RedisPrefixVariable] != prod.Name+":" {
		t.Errorf("%s = %q", resources.RedisPrefixVariable, prod.Env[resources.RedisPrefixVariable])
	}
	client := func(r resources.Resource) *redis.Client { return rt.RedisClient(t, r.Values["connectionString"]) }
	for _, r := range []resources.Resource{prod, pr1} {
		if err := client(r).Set(ctx, r.Name+":greeting", r.Name, 0).Err(); err != nil {
			t.Fatalf("%s writes its own key: %v", r.Name, err)
		}
	}
	// Outside its prefix, another's keys, the key space: refused.
	c1 := client(pr1)
	for what, err := range map[string]error{
		"a key outside its prefix": c1.Set(ctx, "greeting", "x", 0).Err(),
		"production's key":         c1.Get(ctx, prod.Name+":greeting").Err(),
		"KEYS":                     c1.Keys(ctx, "*").Err(),
		"SCAN":                     c1.Scan(ctx, 0, "*", 10).Err(),
		"FLUSHALL":                 c1.FlushAll(ctx).Err(),
		"another's channel":        c1.Publish(ctx, prod.Name+":events", "x").Err(),
	} {
		if err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("%s by PR 1's user: %v, want NOPERM", what, err)
		}
	}
	if err := c1.Publish(ctx, pr1.Name+":events", "x").Err(); err != nil {
		t.Errorf("its own channel: %v", err)
	}

	// Kept across deployments.
	again, created, err := s.Ensure(ctx, h.id(1, 0, "cache"), cache, nil)
	if err != nil || created || again.Values["authToken"] != prod.Values["authToken"] {
		t.Errorf("Ensure again: %v, created %v", err, created)
	}

	// PR 1 torn down: its user and keys go; production's stay.
	if _, err := s.DropInstance(ctx, 2, 1); err != nil {
		t.Fatal(err)
	}
	super := rt.RedisClient(t, rt.RedisURL(t))
	if n, err := super.Exists(ctx, pr1.Name+":greeting").Result(); err != nil || n != 0 {
		t.Errorf("PR 1's key after its teardown: %d, %v", n, err)
	}
	if err := super.Do(ctx, "ACL", "GETUSER", pr1.Name).Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("PR 1's user after its teardown: %v", err)
	}
	if got, err := client(prod).Get(ctx, prod.Name+":greeting").Result(); err != nil || got != prod.Name {
		t.Errorf("production's key after PR 1's teardown: %q, %v", got, err)
	}
}

// TestRedisBadInput: an operator's user that may not manage users (a
// clear error, nothing made); a server that is down (the next attempt
// succeeds once it is back).
func TestRedisBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	admin := rt.RedisAdmin(t, "lo_"+h.slug+"_")
	super := rt.RedisURL(t)

	weak, password := "lotest_weak_"+rt.Suffix(), rt.Suffix()
	rt.RedisDo(t, super, "ACL", "SETUSER", weak, "on", ">"+password, "~*", "+@read", "+@write", "+@connection", "+acl|getuser")
	t.Cleanup(func() { rt.RedisDo(t, super, "ACL", "DELUSER", weak) })
	ws := h.service(resources.Config{RedisURL: rt.WithUser(t, admin, weak, password)})
	_, _, err := ws.Ensure(ctx, h.id(1, 0, "cache"), cache, nil)
	if err == nil || !strings.Contains(err.Error(), "may not") || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("Ensure as a user that may not manage users: %v", err)
	}
	if h.count() != 0 {
		t.Errorf("a resource stayed recorded")
	}
	if err := rt.RedisClient(t, super).Do(ctx, "ACL", "GETUSER", resources.Name(h.id(1, 0, "cache"))).Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("the user was made: %v", err)
	}

	down := h.service(resources.Config{RedisURL: strings.Replace(closedPort(t, "redis"), "/postgres", "", 1)})
	if _, _, err := down.Ensure(ctx, h.id(2, 0, "cache"), cache, nil); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Ensure with the server down: %v", err)
	}
	if h.count() != 0 {
		t.Errorf("a resource stayed recorded after the server was down")
	}
	s := h.service(resources.Config{RedisURL: admin})
	if _, created, err := s.Ensure(ctx, h.id(2, 0, "cache"), cache, nil); err != nil || !created {
		t.Errorf("Ensure once the server is back: %v, created %v", err, created)
	}
}

// TestNotConfigured: without a server of its kind, a service is not made,
// and says why.
func TestNotConfigured(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.service(resources.Config{})
	if _, _, err := s.Ensure(context.Background(), h.id(1, 0, "db"), rdsDB, nil); err == nil || !strings.Contains(err.Error(), "--managed-postgres-url") {
		t.Errorf("Ensure without a server: %v", err)
	}
	for _, bad := range []resources.Config{{PostgresURL: "mysql://x"}, {PostgresURL: "postgres://host/db"}, {RedisURL: "http://x"}} {
		if _, err := resources.New(bad, h.store, h.keys, cuid.New, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
	_, err := resources.New(resources.Config{PostgresURL: "postgres://admin:hunter2@/db?port=x"}, h.store, h.keys, cuid.New, slog.New(slog.DiscardHandler))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a bad URL's error: %v", err)
	}
}
