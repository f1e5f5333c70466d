// Package demo sets up what `liftoff serve --demo` promises a newcomer: on
// first start, a project made from the example monorepo that ships with
// Liftoff, an admin API key, a deploy hook and a dashboard user, and a few
// lines on how to deploy with one curl, where to sign in, and how to make a
// deploy-scoped key for CI.
package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/liftoffhq/liftoff/examples"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/token"
	"github.com/liftoffhq/liftoff/internal/user"
)

// ProjectName is the demo project's name.
const ProjectName = "demo"

// UserEmail is the email of the demo's dashboard user.
const UserEmail = "demo@liftoff.localhost"

// RepoDir is where the demo keeps its repository in the data dir: Liftoff
// wrote it, so the repository access policy always allows it.
func RepoDir(dataDir string) string { return filepath.Join(dataDir, "demo", "monorepo") }

// Deps are the services the demo uses.
type Deps struct {
	Store    store.Store
	Projects *project.Service
	Hooks    *hook.Service
	APIKeys  *apikey.Service
	Users    *user.Service
}

// Setup creates the demo unless it exists, and writes what to do next to
// out. Secrets go to out (the terminal), never to the log.
func Setup(ctx context.Context, d Deps, dataDir, apiURL, proxyAddr string, out io.Writer) error {
	projects, err := d.Store.ListProjects(ctx)
	if err != nil {
		return err
	}
	storeFlag := "--data-dir " + dataDir
	if d.Store.Dialect() == "postgres" {
		storeFlag = "--database-url <this server's --database-url>"
	}
	for _, p := range projects {
		if p.Name == ProjectName {
			// The key, the hook URL and the password were shown once, on
			// the first start: say how to make new ones rather than point
			// at them.
			_, err := fmt.Fprintf(out, `
The demo project exists already: it was made on an earlier start, which showed its
API key, deploy hook URL and dashboard password once. If you no longer have them,
make a new admin key in this server's store, then a new hook with it:

  liftoff apikeys create --name me %[1]s
  export LIFTOFF_SERVER=%[2]s LIFTOFF_API_KEY=<the key it printed>
  liftoff hooks create --project %[3]s --env production --name me

and sign in to the dashboard at %[2]s/ with a new password for %[4]s:

  liftoff users set-password %[4]s %[1]s

`, storeFlag, apiURL, ProjectName, UserEmail)
			return err
		}
	}
	repo := RepoDir(dataDir)
	if err := writeRepo(ctx, repo, apiURL+config.SchemaPath); err != nil {
		return fmt.Errorf("demo repository: %w", err)
	}
	view, err := d.Projects.Create(ctx, project.CreateParams{Name: ProjectName, RepoURL: repo})
	if err != nil {
		return fmt.Errorf("demo project: %w", err)
	}
	var prod, preview liftoff.Environment
	for _, e := range view.Environments {
		switch e.GivenID {
		case "production":
			prod = e
		case "preview":
			preview = e
		}
	}
	_, key, err := d.APIKeys.Create(ctx, apikey.CreateParams{Name: "demo", Scope: apikey.Admin})
	if err != nil {
		return fmt.Errorf("demo API key: %w", err)
	}
	h, err := d.Hooks.Create(ctx, prod.ID, "demo")
	if err != nil {
		return fmt.Errorf("demo hook: %w", err)
	}
	ph, err := d.Hooks.Create(ctx, preview.ID, "demo previews")
	if err != nil {
		return fmt.Errorf("demo preview hook: %w", err)
	}
	password := token.New("")[:24] // 120 random bits
	_, err = d.Users.Create(ctx, user.CreateParams{Email: UserEmail, Password: password, Role: apikey.Admin})
	if fail.KindOf(err) == fail.Conflict {
		password = "the one set for " + UserEmail + " before (liftoff users set-password changes it)"
	} else if err != nil {
		return fmt.Errorf("demo user: %w", err)
	}
	previewURL := strings.NewReplacer("{prNumber}", "1", "{commitSHA}", view.Project.ConfigCommit).Replace(ph.URL)
	port := ""
	if _, p, err := net.SplitHostPort(proxyAddr); err == nil && p != "80" {
		port = ":" + p
	}
	_, err = fmt.Fprintf(out, `
Liftoff demo ready. Shown only now, keep them:

  API key:      %[1]s
  Deploy hook:  %[2]s

Sign in to the dashboard, watch deployments and make deploy hooks there:

  Dashboard:    %[3]s/
  Email:        %[10]s
  Password:     %[11]s

Deploy the demo monorepo (a Go API and a static site) and follow it:

  curl -X POST '%[2]s'
  export LIFTOFF_SERVER=%[3]s LIFTOFF_API_KEY=%[1]s
  liftoff deployments watch <deploymentId>      (or: go run ./cmd/liftoff deployments watch ...)

Then open the services, through Liftoff's proxy:

  http://api.production.localhost%[4]s
  http://site.production.localhost%[4]s

Commit a change under %[5]s/site and call the hook again: only the site builds.
A pull request preview of the same commit: curl -X POST '%[6]s'
Previews open only for the team; make a link that opens it for a day:

  liftoff previews share --env %[8]d --pr 1

The key above is an admin key: it can do everything. Give CI a deploy key
instead, which reaches only the hooks, deployments and previews of the
environments it names (production is %[7]d, preview %[8]d):

  liftoff apikeys create --name CI --scope deploy --env %[7]d --env %[8]d %[9]s

`, key, h.URL, apiURL, port, repo, previewURL, prod.ID, preview.ID, storeFlag, UserEmail, password)
	return err
}

// exampleSchemaURL is the "$schema" of the example's liftoff.json: where a
// Liftoff with the default --addr serves the schema.
const exampleSchemaURL = "http://127.0.0.1:8080" + config.SchemaPath

// writeRepo writes the example monorepo to dir as a git repository with one
// commit on main. Its liftoff.json names schemaURL, where this server
// serves the schema, as its "$schema".
func writeRepo(ctx context.Context, dir, schemaURL string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	err := fs.WalkDir(examples.Monorepo(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := fs.ReadFile(examples.Monorepo(), p)
		if err != nil {
			return err
		}
		if p == "liftoff.json" {
			data = bytes.Replace(data, []byte(`"$schema": "`+exampleSchemaURL+`"`), []byte(`"$schema": "`+schemaURL+`"`), 1)
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		return err
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=Liftoff demo", "-c", "user.email=demo@liftoff.invalid", "-c", "commit.gpgsign=false",
			"commit", "-q", "-m", "Liftoff demo monorepo"},
	} {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
