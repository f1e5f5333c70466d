package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/client"
)

// TestHookCallsSeeSyncAndDeletion: hook calls read their environment
// through a cache, which a project sync or deletion must empty, or a call
// just after it would deploy an environment that left the config, or a
// project that is gone.
func TestHookCallsSeeSyncAndDeletion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, c *client.Client, f fixture)
		want   int
	}{
		{"sync without the environment", func(t *testing.T, c *client.Client, f fixture) {
			f.repo.Commit("only previews", map[string]string{"liftoff.json": strings.Replace(testConfig,
				`{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
      {"id": "api", "name": "API", "type": "web", "startCommand": "./api"}
    ]},`, "", 1)})
			p, err := c.SyncProject(context.Background(), f.project)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Environments {
				if e.GivenID == "production" {
					t.Fatalf("production is still in the config: %+v", p.Environments)
				}
			}
		}, http.StatusConflict},
		{"project deleted", func(t *testing.T, c *client.Client, f fixture) {
			if err := c.DeleteProject(context.Background(), f.project); err != nil {
				t.Fatal(err)
			}
		}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := baseConfig(t, "sqlite")
			f := setUp(t, cfg)
			srv := start(t, cfg)
			if status, _, body := raw(t, http.MethodGet, srv.base, hookPath(f.env, f.secret), nil); status != http.StatusOK {
				t.Fatalf("first call: %d %s", status, body)
			}
			tc.change(t, client.New(srv.base, f.key), f)
			if status, _, body := raw(t, http.MethodGet, srv.base, hookPath(f.env, f.secret), nil); status != tc.want {
				t.Errorf("a call after the change answered %d %s, want %d", status, body, tc.want)
			}
		})
	}
}
