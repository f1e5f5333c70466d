package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// run executes the CLI with args and returns what it printed.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func find(t *testing.T, path ...string) *cobra.Command {
	t.Helper()
	c, rest, err := newRoot().Find(path)
	if err != nil || len(rest) != 0 {
		t.Fatalf("find %v: %v (left %v)", path, err, rest)
	}
	return c
}

func hasFlag(c *cobra.Command, name string) bool {
	return c.Flags().Lookup(name) != nil || c.PersistentFlags().Lookup(name) != nil || c.InheritedFlags().Lookup(name) != nil
}

func TestServeListsOnlyItsFlags(t *testing.T) {
	serve := find(t, "serve")
	for _, f := range []string{"server", "api-key", "json", "hook-secret"} {
		if hasFlag(serve, f) {
			t.Errorf("serve has --%s, a flag of the client commands", f)
		}
	}
	out, err := run(t, "serve", "--help")
	if err != nil || strings.Contains(out, "--api-key") || strings.Contains(out, "--server") || !strings.Contains(out, "--data-dir") {
		t.Errorf("serve --help (err %v):\n%s", err, out)
	}
	if _, err := run(t, "serve", "--api-key", "k"); err == nil || !strings.Contains(err.Error(), "unknown flag: --api-key") {
		t.Errorf("serve --api-key: %v", err)
	}
}

func TestClientCommandsHaveClientFlags(t *testing.T) {
	for _, path := range [][]string{
		{"projects", "list"}, {"projects", "create"}, {"envs", "get"}, {"hooks", "create"}, {"previews", "list"},
		{"deployments", "list"}, {"deployments", "get"}, {"deployments", "watch"}, {"apikeys", "list"}, {"apikeys", "delete"},
	} {
		c := find(t, path...)
		for _, f := range []string{"server", "api-key", "json"} {
			if !hasFlag(c, f) {
				t.Errorf("%s has no --%s", c.CommandPath(), f)
			}
		}
	}
	for _, path := range [][]string{{"deployments", "get"}, {"deployments", "watch"}, {"deployments", "logs"}} {
		if c := find(t, path...); !hasFlag(c, "hook-secret") {
			t.Errorf("%s has no --hook-secret", c.CommandPath())
		}
	}
	// apikeys create writes to the store: it talks to no server.
	if c := find(t, "apikeys", "create"); hasFlag(c, "server") || !hasFlag(c, "json") {
		t.Errorf("apikeys create: --server %v, --json %v", hasFlag(c, "server"), hasFlag(c, "json"))
	}
}

// The environment variables still reach the flags that moved off the root,
// wherever the flags are written on the command line.
func TestClientFlagsFromEnvironment(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"projects": []}`))
	}))
	defer srv.Close()
	t.Setenv("LIFTOFF_SERVER", srv.URL)
	t.Setenv("LIFTOFF_API_KEY", "lfk_from_env")
	if _, err := run(t, "projects", "list"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LIFTOFF_SERVER", "http://127.0.0.1:1")
	if _, err := run(t, "--server", srv.URL, "--api-key", "lfk_flag", "projects", "list", "--json"); err != nil {
		t.Fatal(err)
	}
	if len(auth) != 2 || auth[0] != "Bearer lfk_from_env" || auth[1] != "Bearer lfk_flag" {
		t.Errorf("authorizations %q", auth)
	}
}

// A server that is not there is named in words, with how to point the CLI
// elsewhere, not as a dial error.
func TestUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	for _, args := range [][]string{
		{"projects", "list"},
		{"deployments", "logs", "d1"},
	} {
		_, err := run(t, append(args, "--server", addr, "--api-key", "lfk_x")...)
		want := `cannot reach Liftoff at ` + addr + `: is "liftoff serve" running? (set --server or LIFTOFF_SERVER)`
		if err == nil || message(err) != want {
			t.Errorf("%v: %v\nwant %s", args, err, want)
		}
	}
}

func TestVersion(t *testing.T) {
	long, err := run(t, "version")
	if err != nil || !strings.HasPrefix(long, "liftoff ") || !strings.Contains(long, runtime.Version()) {
		t.Errorf("version: %v %q", err, long)
	}
	short, err := run(t, "--version")
	if err != nil || short != long {
		t.Errorf("--version: %v %q, version said %q", err, short, long)
	}
	out, err := run(t, "version", "--json")
	var v buildVersion
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v.GoVersion != runtime.Version() || v.Version == "" {
		t.Errorf("version --json: %v %s", err, out)
	}
}
