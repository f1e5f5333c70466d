package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// monorepo is a config with api and site, each watching its own folder,
// and the services of extra after them. apiGreeting is api's one variable:
// changing it changes api's configuration.
func monorepo(apiGreeting, extra string) string {
	return fmt.Sprintf(`{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
  {"id": "api", "name": "API", "type": "web", "watchPaths": ["api/**", "!api/**/*.md"], "buildCommand": "test -f api/main.go",
   "startCommand": "./api", "envVariables": {"GREETING": %q}},
  {"id": "site", "name": "Site", "type": "web", "watchPaths": ["site/**"], "startCommand": "./site"}%s]}]}`, apiGreeting, extra)
}

var monorepoFiles = map[string]string{"api/main.go": "package main", "site/index.html": "<h1>v1</h1>", "README.md": "shop"}

// TestDecide: which services a deployment deploys for a change set, and
// the reason each service deployment records: watchPaths matched or not,
// no watchPaths, a first deployment, force, a configuration change, and
// the base being the last success, not the last attempt.
func TestDecide(t *testing.T) {
	t.Parallel()
	type want struct {
		status liftoff.Status
		reason string // {base} is the short base commit
	}
	cases := []struct {
		name  string
		extra string // services after api and site
		// before deploys what the environment runs and returns the
		// commit the services' last success deployed (the base).
		before func(h *engineHarness) string
		// change commits what the deployment looked at deploys.
		change   func(h *engineHarness)
		force    bool
		status   liftoff.Status
		services map[string]want
	}{
		{
			name:   "first deployment deploys every service",
			before: func(h *engineHarness) string { return "" },
			status: liftoff.StatusSuccess,
			services: map[string]want{
				"api":  {liftoff.StatusSuccess, "first deployment here"},
				"site": {liftoff.StatusSuccess, "first deployment here"},
			},
		},
		{
			name:   "a change under one service's watchPaths deploys only it",
			before: deployedHead,
			change: func(h *engineHarness) {
				h.repo.Commit("site", map[string]string{"site/index.html": "<h1>v2</h1>", "site/new.css": "h1{}"})
			},
			status: liftoff.StatusSuccess,
			services: map[string]want{
				"api":  {liftoff.StatusNoChange, "no change matches its watchPaths (2 files changed since {base})"},
				"site": {liftoff.StatusSuccess, "matched site/** (2 files)"},
			},
		},
		{
			name:   "an excluded path deploys nothing",
			before: deployedHead,
			change: func(h *engineHarness) { h.repo.Commit("docs", map[string]string{"api/README.md": "docs"}) },
			status: liftoff.StatusNoChange,
			services: map[string]want{
				"api":  {liftoff.StatusNoChange, "no change matches its watchPaths (1 file changed since {base})"},
				"site": {liftoff.StatusNoChange, "no change matches its watchPaths (1 file changed since {base})"},
			},
		},
		{
			name:   "nothing changed since the last success",
			before: deployedHead,
			status: liftoff.StatusNoChange,
			services: map[string]want{
				"api":  {liftoff.StatusNoChange, "no files changed since {base}"},
				"site": {liftoff.StatusNoChange, "no files changed since {base}"},
			},
		},
		{
			name:   "a service without watchPaths deploys on every change",
			extra:  `, {"id": "jobs", "name": "Jobs", "type": "worker", "startCommand": "./jobs"}`,
			before: deployedHead,
			change: func(h *engineHarness) { h.repo.Commit("readme", map[string]string{"README.md": "the shop"}) },
			status: liftoff.StatusSuccess,
			services: map[string]want{
				"api":  {liftoff.StatusNoChange, "no change matches its watchPaths (1 file changed since {base})"},
				"site": {liftoff.StatusNoChange, "no change matches its watchPaths (1 file changed since {base})"},
				"jobs": {liftoff.StatusSuccess, "no watchPaths: every change deploys it"},
			},
		},
		{
			name:   "force deploys every service",
			before: deployedHead,
			force:  true,
			status: liftoff.StatusSuccess,
			services: map[string]want{
				"api":  {liftoff.StatusSuccess, "forced (force=true)"},
				"site": {liftoff.StatusSuccess, "forced (force=true)"},
			},
		},
		{
			name:   "a configuration change deploys that service only",
			before: deployedHead,
			change: func(h *engineHarness) { h.repo.Commit("greet", map[string]string{"liftoff.json": monorepo("hi", "")}) },
			status: liftoff.StatusSuccess,
			services: map[string]want{
				"api":  {liftoff.StatusSuccess, "its configuration changed"},
				"site": {liftoff.StatusNoChange, "no change matches its watchPaths (1 file changed since {base})"},
			},
		},
		{
			name: "the base is the last success, not the last attempt",
			before: func(h *engineHarness) string {
				base := deployedHead(h)
				h.tg.failWith("api", "health check failed")
				h.repo.Commit("api v2", map[string]string{"api/main.go": "package main // v2"})
				if d := h.deploy(liftoff.Deployment{}); d.Status != liftoff.StatusDeployError {
					h.t.Fatalf("the failing deployment ended %s", d.Status)
				}
				h.tg.failWith("api", "")
				return base
			},
			change: func(h *engineHarness) { h.repo.Commit("site", map[string]string{"site/index.html": "<h1>v2</h1>"}) },
			status: liftoff.StatusSuccess,
			services: map[string]want{
				"api":  {liftoff.StatusSuccess, "matched api/** (1 file)"},
				"site": {liftoff.StatusSuccess, "matched site/** (1 file)"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newEngineHarness(t, monorepo("hello", tc.extra), monorepoFiles, newFakeTarget())
			base := tc.before(h)
			if tc.change != nil {
				tc.change(h)
			}
			d := h.deploy(liftoff.Deployment{Force: tc.force})
			if d.Status != tc.status || d.GitCommit != h.repo.Head() {
				t.Errorf("deployment ended %s at %s, want %s at %s (errors %+v)", d.Status, d.GitCommit, tc.status, h.repo.Head(), d.Errors)
			}
			if len(d.Services) != len(tc.services) {
				t.Errorf("%d service deployments, want %d: %+v", len(d.Services), len(tc.services), d.Services)
			}
			for given, w := range tc.services {
				sd := service(t, d, given)
				reason := strings.ReplaceAll(w.reason, "{base}", short(base))
				if sd.Status != w.status || sd.Reason != reason {
					t.Errorf("%s: %s %q, want %s %q", given, sd.Status, sd.Reason, w.status, reason)
				}
			}
		})
	}
}

// deployedHead deploys the head of main successfully and returns it.
func deployedHead(h *engineHarness) string {
	h.t.Helper()
	d := h.deploy(liftoff.Deployment{})
	if d.Status != liftoff.StatusSuccess {
		h.t.Fatalf("the deployment before ended %s: %+v", d.Status, d.Errors)
	}
	return d.GitCommit
}
