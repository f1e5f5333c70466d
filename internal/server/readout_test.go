package server_test

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/server"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// readoutConfig has a static site between two services Liftoff does not
// run, and an environment of nothing else.
const readoutConfig = `{
  "environments": [
    {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
      {"id": "db", "name": "DB", "type": "rds"},
      {"id": "site", "name": "Site", "type": "static", "buildCommand": "mkdir -p public && echo hi > public/index.html && echo built site"},
      {"id": "cache", "name": "Cache", "type": "elasticache"}
    ]},
    {"id": "data", "name": "Data", "source": {"branch": "main"}, "services": [
      {"id": "db", "name": "DB", "type": "rds"}
    ]}
  ]
}`

// TestDeploymentReadout deploys with the real engine, following the output
// from right after the hook call, on a server whose hook answers use a
// boolean: the answers, the labels of the output, and the services Liftoff
// does not run in Get Deployment.
func TestDeploymentReadout(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg := baseConfig(t, dialect)
			cfg.Workers, cfg.Sandbox, cfg.HookSuccessType = 1, "none", "boolean"
			st, err := server.OpenStore(ctx, cfg.WithDefaults())
			if err != nil {
				t.Fatal(err)
			}
			_, key, err := apikey.NewService(st, cuid.New).Create(ctx, apikey.CreateParams{Name: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			srv := start(t, cfg)
			c := client.New(srv.base, key)
			repo := gittest.New(t)
			repo.Commit("init", map[string]string{"liftoff.json": readoutConfig})
			p, err := c.CreateProject(ctx, "readout", repo.Dir, "")
			if err != nil {
				t.Fatal(err)
			}
			envs := map[string]int64{}
			for _, e := range p.Environments {
				envs[e.GivenID] = e.EnvironmentID
			}
			prod, err := c.CreateHook(ctx, envs["production"], "CI")
			if err != nil {
				t.Fatal(err)
			}
			data, err := c.CreateHook(ctx, envs["data"], "CI")
			if err != nil {
				t.Fatal(err)
			}

			if status, _, body := raw(t, "GET", srv.base, hookPath(envs["data"], data.Secret), nil); status != 409 ||
				body != fmt.Sprintf(`{"success": false, "error": "Environment %d (data) has no services Liftoff runs: db is rds (not run by Liftoff)"}`, envs["data"]) {
				t.Fatalf("hook of an environment without services Liftoff runs: %d %s", status, body)
			}
			status, _, body := raw(t, "GET", srv.base, hookPath(envs["production"], prod.Secret), nil)
			m := regexp.MustCompile(`^\{"success": true, "deploymentId": "(c[a-z0-9]{24})"\}$`).FindStringSubmatch(body)
			if status != 200 || m == nil {
				t.Fatalf("hook call: %d %s", status, body)
			}
			id := m[1]

			// Right after the hook call: all of the output, and the site's.
			var wg sync.WaitGroup
			var all, site []string
			var allStatus, siteStatus string
			var allErr, siteErr error
			wg.Go(func() {
				allStatus, allErr = c.FollowLogs(ctx, id, "", func(l string) { all = append(all, l) })
			})
			wg.Go(func() {
				siteStatus, siteErr = c.FollowLogs(ctx, id, "site", func(l string) { site = append(site, l) })
			})
			wg.Wait()
			if allErr != nil || siteErr != nil || allStatus != "SUCCESS" || siteStatus != "SUCCESS" {
				t.Fatalf("followed to %s (%v) and %s (%v)\n%s", allStatus, allErr, siteStatus, siteErr, strings.Join(all, "\n"))
			}
			if !slices.Contains(all, "[site] built site") || slices.Contains(all, "[deploy] built site") {
				t.Errorf("the site's output is not labelled [site]:\n%s", strings.Join(all, "\n"))
			}
			if !slices.Contains(all, "[deploy]     db: not deployed (type rds does not run on Liftoff)") {
				t.Errorf("the deployment's output does not say db is not deployed:\n%s", strings.Join(all, "\n"))
			}
			if len(site) == 0 || !slices.Contains(site, "[site] built site") {
				t.Errorf("the site's own output:\n%s", strings.Join(site, "\n"))
			}
			for _, l := range site {
				if !strings.HasPrefix(l, "[site] ") {
					t.Errorf("a line of another source in the site's output: %q", l)
				}
			}

			d, err := c.Deployment(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			type row struct{ id, serviceID, status, reason string }
			var got []row
			for _, s := range d.ServiceDeployments {
				r := row{id: s.Service.ServiceGivenID, serviceID: s.Service.ServiceID, status: s.Status}
				if s.Reason != nil {
					r.reason = *s.Reason
				}
				if r.id == "site" {
					r.serviceID, r.reason = "", "" // its own: a cuid, and the watch-path reason
				}
				got = append(got, r)
			}
			want := []row{
				{"db", "", "NO_CHANGE", "not deployed: type rds does not run on Liftoff"},
				{"site", "", "SUCCESS", ""},
				{"cache", "", "NO_CHANGE", "not deployed: no managed Redis configured (liftoff serve --managed-redis-url)"},
			}
			if d.Status != "SUCCESS" || !reflect.DeepEqual(got, want) {
				t.Errorf("deployment %s with services %+v, want SUCCESS with %+v", d.Status, got, want)
			}
			page, err := c.Deployments(ctx, client.DeploymentFilter{Limit: 10})
			if err != nil || len(page.Deployments) != 1 || !reflect.DeepEqual(page.Deployments[0], d) {
				t.Errorf("listed as %+v (%v), want %+v", page.Deployments, err, d)
			}
		})
	}
}
