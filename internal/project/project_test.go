package project

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// shopConfig has production and a preview environment; production also
// lists a database Liftoff does not run. extra is more environments.
func shopConfig(extra string) string {
	return `{"environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
    {"id": "api", "name": "API", "type": "web", "startCommand": "./api"},
    {"id": "db", "name": "DB", "type": "rds"}]},
  {"id": "preview", "name": "Previews", "source": {"pr": true}, "services": [
    {"id": "api", "name": "API", "type": "web", "startCommand": "./api"}]}` + extra + `]}`
}

const staging = `,
  {"id": "staging", "name": "Staging", "source": {"branch": "develop"}, "services": [
    {"id": "api", "name": "API", "type": "web", "startCommand": "./api"},
    {"id": "jobs", "name": "Jobs", "type": "worker", "startCommand": "./jobs"}]}`

type projectHarness struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	s   *Service
}

func newProjectHarness(t *testing.T) *projectHarness {
	t.Helper()
	st := storetest.Open(t, "sqlite")
	log := slog.New(slog.DiscardHandler)
	keys, _, err := secretbox.LoadOrCreate(filepath.Join(t.TempDir(), "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	return &projectHarness{t: t, ctx: context.Background(), st: st,
		s: NewService(st, gitsource.NewManager(filepath.Join(t.TempDir(), "mirrors"), log, nil), keys, log, cuid.New)}
}

// environments describes a project's live environments: given id, kind or
// branch, and services, in order.
func (h *projectHarness) environments(envs []liftoff.Environment) []string {
	h.t.Helper()
	var out []string
	for _, e := range envs {
		svcs, err := h.st.ListServices(h.ctx, store.ListServicesParams{EnvironmentID: e.ID})
		if err != nil {
			h.t.Fatal(err)
		}
		var ids []string
		for _, s := range svcs {
			ids = append(ids, s.GivenID)
		}
		where := "branch " + e.Branch
		if e.IsPreview {
			where = "previews"
		}
		out = append(out, fmt.Sprintf("%s (%s): %s", e.GivenID, where, strings.Join(ids, " ")))
	}
	return out
}

// TestCreate: a project is made from a real repository's config on its
// default branch, or refused with a message saying what to fix, and then
// nothing is stored.
func TestCreate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		files      map[string]string
		params     CreateParams // RepoURL "" is the test repository
		configPath string       // the path stored
		envs       []string
		err        string // a part of the message
	}{
		{
			name:       "liftoff.json at the root",
			files:      map[string]string{"liftoff.json": shopConfig("")},
			configPath: "liftoff.json",
			envs:       []string{"production (branch main): api", "preview (previews): api"},
		},
		{
			name:       "flightcontrol.json when there is no liftoff.json",
			files:      map[string]string{"flightcontrol.json": shopConfig(staging)},
			configPath: "flightcontrol.json",
			envs:       []string{"production (branch main): api", "preview (previews): api", "staging (branch develop): api jobs"},
		},
		{
			name:       "a configPath of the caller's",
			files:      map[string]string{"deploy/shop.json": shopConfig(""), "liftoff.json": "not read"},
			params:     CreateParams{ConfigPath: "./deploy/shop.json"},
			configPath: "deploy/shop.json",
			envs:       []string{"production (branch main): api", "preview (previews): api"},
		},
		{
			name:  "no config file",
			files: map[string]string{"README.md": "shop"},
			err:   "neither liftoff.json nor flightcontrol.json was found at the root of the default branch main; add one, or set configPath",
		},
		{
			name:   "the configPath is not in the repository",
			files:  map[string]string{"liftoff.json": shopConfig("")},
			params: CreateParams{ConfigPath: "deploy/shop.json"},
			err:    "deploy/shop.json was not found on the default branch main",
		},
		{
			name:   "a configPath out of the repository",
			files:  map[string]string{"liftoff.json": shopConfig("")},
			params: CreateParams{ConfigPath: "../shop.json"},
			err:    `configPath "../shop.json" must be a path to a .json file inside the repository`,
		},
		{
			name:  "an invalid config",
			files: map[string]string{"liftoff.json": `{"environments": [{"id": "production"}]}`},
			err:   "liftoff.json on branch main is not valid:\n",
		},
		{
			name:  "a config that is not JSON",
			files: map[string]string{"liftoff.json": `{"environments": [`},
			err:   "liftoff.json on branch main is not valid:\n",
		},
		{
			name:   "a repository that does not exist",
			files:  map[string]string{"liftoff.json": shopConfig("")},
			params: CreateParams{RepoURL: "/nonexistent/shop.git"},
			err:    `repoUrl: invalid repository URL "/nonexistent/shop.git": local repository /nonexistent/shop.git does not exist`,
		},
		{
			name:   "no name",
			files:  map[string]string{"liftoff.json": shopConfig("")},
			params: CreateParams{Name: " "},
			err:    "name must be 1 to 100 characters",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newProjectHarness(t)
			repo := gittest.New(t)
			repo.Commit("init", tc.files)
			p := tc.params
			if p.Name == "" {
				p.Name = "Shop Front"
			}
			if p.RepoURL == "" {
				p.RepoURL = repo.Dir
			}
			view, err := h.s.Create(h.ctx, p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Create = %v, want an error saying %q", err, tc.err)
				}
				if ps, err := h.st.ListProjects(h.ctx); err != nil || len(ps) != 0 {
					t.Errorf("after a refusal the store holds %+v, %v", ps, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := view.Project
			if got.Name != "Shop Front" || got.Slug != "shop-front" || got.RepoURL != repo.Dir || got.ConfigPath != tc.configPath ||
				got.DefaultBranch != "main" || got.ConfigCommit != repo.Head() {
				t.Errorf("project = %+v", got)
			}
			if envs := h.environments(view.Environments); !slices.Equal(envs, tc.envs) {
				t.Errorf("environments:\n%s\nwant:\n%s", strings.Join(envs, "\n"), strings.Join(tc.envs, "\n"))
			}
			stored, err := h.s.Get(h.ctx, got.ID)
			if err != nil || stored.Project != got || len(stored.Environments) != len(tc.envs) {
				t.Errorf("Get = %+v, %v; want what Create returned", stored, err)
			}
		})
	}
}

// TestSync: a sync reads the config again from the default branch: new
// environments get ids, existing ones keep theirs, removed ones are
// deleted, services follow; an invalid config changes nothing.
func TestSync(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		before string // liftoff.json when the project is made
		after  string // liftoff.json committed before the sync
		envs   []string
		err    string
	}{
		{
			name:   "a new environment is added, the others keep their ids",
			before: shopConfig(""),
			after:  shopConfig(staging),
			envs:   []string{"production (branch main): api", "preview (previews): api", "staging (branch develop): api jobs"},
		},
		{
			name:   "a removed environment is deleted",
			before: shopConfig(staging),
			after:  shopConfig(""),
			envs:   []string{"production (branch main): api", "preview (previews): api"},
		},
		{
			name:   "services follow the config",
			before: shopConfig(staging),
			after:  strings.Replace(shopConfig(staging), `{"id": "jobs", "name": "Jobs", "type": "worker", "startCommand": "./jobs"}`, `{"id": "cron", "name": "Cron", "type": "worker", "startCommand": "./cron"}`, 1),
			envs:   []string{"production (branch main): api", "preview (previews): api", "staging (branch develop): api cron"},
		},
		{
			name:   "an invalid config is refused and changes nothing",
			before: shopConfig(staging),
			after:  `{"environments": 3}`,
			err:    "liftoff.json on branch main is not valid:\n",
			envs:   []string{"production (branch main): api", "preview (previews): api", "staging (branch develop): api jobs"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newProjectHarness(t)
			repo := gittest.New(t)
			first := repo.Commit("init", map[string]string{"liftoff.json": tc.before})
			created, err := h.s.Create(h.ctx, CreateParams{Name: "shop", RepoURL: repo.Dir})
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]int64{}
			for _, e := range created.Environments {
				ids[e.GivenID] = e.ID
			}
			second := repo.Commit("change", map[string]string{"liftoff.json": tc.after})

			view, err := h.s.Sync(h.ctx, created.Project.ID)
			wantCommit := second
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Sync = %v, want an error saying %q", err, tc.err)
				}
				if view, err = h.s.Get(h.ctx, created.Project.ID); err != nil {
					t.Fatal(err)
				}
				wantCommit = first
			} else if err != nil {
				t.Fatal(err)
			}
			if view.Project.ConfigCommit != wantCommit {
				t.Errorf("the project's config commit is %s, want %s", view.Project.ConfigCommit, wantCommit)
			}
			if envs := h.environments(view.Environments); !slices.Equal(envs, tc.envs) {
				t.Errorf("environments:\n%s\nwant:\n%s", strings.Join(envs, "\n"), strings.Join(tc.envs, "\n"))
			}
			live := map[string]bool{}
			for _, e := range view.Environments {
				live[e.GivenID] = true
				if id, ok := ids[e.GivenID]; ok && id != e.ID {
					t.Errorf("%s changed id: %d, was %d", e.GivenID, e.ID, id)
				}
			}
			for given, id := range ids {
				_, err := h.s.Environment(h.ctx, id)
				if live[given] != (err == nil) {
					t.Errorf("environment %s (%d): live %v, Environment() = %v", given, id, live[given], err)
				}
			}
		})
	}
}

// TestEnvironmentView: an environment shows the services Liftoff runs and,
// apart, those of its config it does not, with why.
func TestEnvironmentView(t *testing.T) {
	t.Parallel()
	h := newProjectHarness(t)
	repo := gittest.New(t)
	repo.Commit("init", map[string]string{"liftoff.json": shopConfig("")})
	view, err := h.s.Create(h.ctx, CreateParams{Name: "shop", RepoURL: repo.Dir})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := h.s.Environment(h.ctx, view.Environments[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Services) != 1 || ev.Services[0].GivenID != "api" {
		t.Errorf("services = %+v, want api", ev.Services)
	}
	want := []NotRunService{{GivenID: "db", Name: "DB", Type: "rds", Reason: "type rds does not run on Liftoff"}}
	if !slices.Equal(ev.NotRun, want) {
		t.Errorf("not run = %+v, want %+v", ev.NotRun, want)
	}
}

// TestSealCredentials: a credential an older Liftoff stored in clear is
// sealed at the next start, and git still gets it whole.
func TestSealCredentials(t *testing.T) {
	t.Parallel()
	h := newProjectHarness(t)
	const userinfo = "x-access-token:ghp_legacy0123"
	p, err := h.st.CreateProject(h.ctx, store.CreateProjectParams{ID: cuid.New(), Name: "old", RepoURL: "https://example.com/old.git",
		ConfigPath: "liftoff.json", RepoCredential: liftoff.RepoCredential{Userinfo: userinfo}, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := h.s.SealCredentials(h.ctx); err != nil || n != 1 {
		t.Fatalf("SealCredentials = %d, %v", n, err)
	}
	stored, err := h.st.GetRepoCredential(h.ctx, store.GetRepoCredentialParams{ProjectID: p.ID})
	if err != nil || !secretbox.IsSealedText(stored.Userinfo) || strings.Contains(stored.Userinfo, "ghp_") {
		t.Fatalf("stored credential after sealing: sealed %v, %v", secretbox.IsSealedText(stored.Userinfo), err)
	}
	remote, err := Remote(h.ctx, h.st, h.s.keys, p)
	if err != nil || remote.Credential.Userinfo() != userinfo {
		t.Fatalf("Remote after sealing: %v", err)
	}
	if n, err := h.s.SealCredentials(h.ctx); err != nil || n != 0 {
		t.Fatalf("SealCredentials again = %d, %v; want nothing to seal", n, err)
	}
}
