// Package resourcestest gives tests an operator's account on the test
// PostgreSQL server (LIFTOFF_TEST_DATABASE_URL) and the test Redis server
// (LIFTOFF_TEST_REDIS_URL), each with the least privileges Liftoff's
// managed resources need, and removes at the test's end every database,
// role, Redis user and key made through it. A test without the server
// skips, saying how to run it.
package resourcestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Environment variables that point the tests at the servers.
const (
	EnvDatabaseURL = "LIFTOFF_TEST_DATABASE_URL"
	EnvRedisURL    = "LIFTOFF_TEST_REDIS_URL"
)

// Suffix is a random word of 8 lowercase letters and digits, for names
// of a test's own.
func Suffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// PostgresURL is the test server's URL, or the test skips.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := getenv(EnvDatabaseURL)
	if u == "" {
		t.Skip(EnvDatabaseURL + " is not set: the managed PostgreSQL tests need a server; run them with " +
			EnvDatabaseURL + "='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'")
	}
	return u
}

// RedisURL is the test Redis server's URL, or the test skips.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := getenv(EnvRedisURL)
	if u == "" {
		t.Skip(EnvRedisURL + " is not set: the managed Redis tests need a server (6 or later); run them with " +
			EnvRedisURL + "='redis://127.0.0.1:6379'")
	}
	return u
}

// PostgresAdmin makes a role with CREATEDB and CREATEROLE (not a
// superuser) on the test server and returns its URL, for
// --managed-postgres-url. When the test ends, every database owned by a
// role it is a member of (what Liftoff made through it), those roles and
// it are dropped.
func PostgresAdmin(t testing.TB) string {
	t.Helper()
	super := PostgresURL(t)
	role, password := "lotest_admin_"+Suffix(), Suffix()+Suffix()
	Exec(t, super, `CREATE ROLE `+role+` LOGIN CREATEDB CREATEROLE PASSWORD '`+password+`'`)
	t.Cleanup(func() { DropMadeBy(t, super, role); Exec(t, super, `DROP ROLE IF EXISTS `+role) })
	return WithUser(t, super, role, password)
}

// WithUser is u with another user and password.
func WithUser(t testing.TB, u, user, password string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	parsed.User = url.UserPassword(user, password)
	return parsed.String()
}

// DropMadeBy drops the databases owned by the roles admin is a member of,
// and those roles.
func DropMadeBy(t testing.TB, super, admin string) {
	t.Helper()
	roles := Strings(t, super, `SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
		JOIN pg_roles a ON a.oid = m.member WHERE a.rolname = $1`, admin)
	for _, r := range roles {
		for _, db := range Strings(t, super, `SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = $1`, r) {
			Exec(t, super, `DROP DATABASE IF EXISTS `+pgx.Identifier{db}.Sanitize()+` WITH (FORCE)`)
		}
		Exec(t, super, `DROP ROLE IF EXISTS `+pgx.Identifier{r}.Sanitize())
	}
}

// Exec runs statements on the server at u.
func Exec(t testing.TB, u string, statements ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL server: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	for _, s := range statements {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// Strings runs a query of one text column on the server at u.
func Strings(t testing.TB, u, query string, args ...any) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL server: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// RedisAdminRules are the least privileges of --managed-redis-url's user
// (docs/databases.md says the same).
var RedisAdminRules = []string{"~*", "&*", "-@all", "+@connection", "+acl|setuser", "+acl|deluser", "+acl|getuser", "+acl|save",
	"+scan", "+unlink"}

// RedisAdmin makes a user with RedisAdminRules on the test Redis server
// and returns its URL, for --managed-redis-url. When the test ends, the
// users whose names start with prefix (Liftoff's lo_<project slug>_, a
// slug of the test's own) and their keys are removed, and it.
func RedisAdmin(t testing.TB, prefix string) string {
	t.Helper()
	super := RedisURL(t)
	user, password := "lotest_admin_"+Suffix(), Suffix()+Suffix()
	args := []any{"ACL", "SETUSER", user, "reset", "on", ">" + password}
	for _, r := range RedisAdminRules {
		args = append(args, r)
	}
	RedisDo(t, super, args...)
	t.Cleanup(func() {
		RemoveRedisUsers(t, super, prefix)
		RedisDo(t, super, "ACL", "DELUSER", user)
	})
	return WithUser(t, super, user, password)
}

// RemoveRedisUsers deletes the users whose names start with prefix, and
// the keys under their names.
func RemoveRedisUsers(t testing.TB, super, prefix string) {
	t.Helper()
	if prefix == "" {
		t.Fatal("RemoveRedisUsers needs a prefix")
	}
	c := RedisClient(t, super)
	ctx := context.Background()
	users, err := c.Do(ctx, "ACL", "USERS").StringSlice()
	if err != nil {
		t.Fatalf("ACL USERS: %v", err)
	}
	for _, u := range users {
		if !strings.HasPrefix(u, prefix) {
			continue
		}
		if err := c.Do(ctx, "ACL", "DELUSER", u).Err(); err != nil {
			t.Errorf("ACL DELUSER %s: %v", u, err)
		}
		keys, err := c.Keys(ctx, u+":*").Result()
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("delete the keys of %s: %v", u, err)
		}
	}
}

// RedisClient is a client of the Redis server at u, closed when the test
// ends.
func RedisClient(t testing.TB, u string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	opts.DisableIdentity = true
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// RedisDo runs one command on the Redis server at u.
func RedisDo(t testing.TB, u string, args ...any) any {
	t.Helper()
	v, err := RedisClient(t, u).Do(context.Background(), args...).Result()
	if err != nil {
		t.Fatalf("%v: %v", args[:min(len(args), 3)], err)
	}
	return v
}

// getenv reads an environment variable.
func getenv(name string) string { return strings.TrimSpace(os.Getenv(name)) }
