//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// runIn executes the CLI with args and stdin, returning what it printed
// on stdout.
func runIn(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

// TestUsers: users are made on the store with the password from stdin,
// listed, refused what the service refuses (naming the flag), and deleted.
func TestUsers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := runIn(t, "correct horse battery\n", "users", "create", "--email", "Ada@Example.com", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var u userJSON
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.Email != "ada@example.com" || u.Role != "admin" || u.ID == "" ||
		u.EnvironmentIDs == nil || strings.Contains(out, "correct horse") {
		t.Fatalf("users create --json printed %s (%v)", out, err)
	}
	out, err = runIn(t, "another good password", "users", "create", "--email", "read@example.com", "--role", "read", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "Created user read@example.com") || !strings.Contains(out, "role read") {
		t.Fatalf("users create: %s %v", out, err)
	}
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"correct horse battery\n", []string{"--email", "ada@example.com"}, "a user with the email ada@example.com exists already"},
		{"short\n", []string{"--email", "bob@example.com"}, "the password must be at least 12 characters"},
		{"", []string{"--email", "bob@example.com"}, "no password"},
		{"correct horse battery\n", []string{"--email", "bob"}, "--email: email must be an address"},
		{"correct horse battery\n", []string{"--email", "bob@example.com", "--role", "deploy"}, "--role deploy: a deploy user must name the environments it deploys"},
		{"correct horse battery\n", []string{"--email", "bob@example.com", "--role", "deploy", "--env-ids", "41"}, "environment 41 does not exist"},
		{"correct horse battery\n", []string{"--email", "bob@example.com", "--role", "owner"}, "--role owner: scope must be admin, deploy or read"},
	} {
		_, err := runIn(t, c.stdin, append(append([]string{"users", "create"}, c.args...), "--data-dir", dir)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("users create %v: %v, want %q", c.args, err, c.want)
		}
	}

	out, err = runIn(t, "", "users", "list", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "read@example.com") || strings.Contains(out, "bob@") {
		t.Fatalf("users list: %s %v", out, err)
	}
	if _, err := runIn(t, "a new good password\n", "users", "set-password", "ada@example.com", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	if out, err := runIn(t, "", "users", "delete", "read@example.com", "--data-dir", dir); err != nil || !strings.Contains(out, "Deleted user read@example.com") {
		t.Fatalf("users delete: %s %v", out, err)
	}
	if _, err := runIn(t, "", "users", "delete", "read@example.com", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "no user has the email or id") {
		t.Fatalf("deleting twice: %v", err)
	}
	out, err = runIn(t, "", "users", "list", "--data-dir", dir, "--json")
	var list []userJSON
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].Email != "ada@example.com" {
		t.Fatalf("users list --json: %s %v", out, err)
	}
}
