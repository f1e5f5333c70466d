package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

// envRef is how a command names the environment it acts on: --env alone
// (the integer id, or a given id that one project has) or --project with
// --env (the project by name or id, the environment by given id or id).
type envRef struct {
	project string
	env     string
}

// flags adds --project and --env to cmd; --env is required when required.
func (r *envRef) flags(cmd *cobra.Command, required bool) {
	cmd.Flags().StringVar(&r.project, "project", "", "the environment's project, by name or id")
	cmd.Flags().StringVar(&r.env, "env", "", "the environment: its id (3), or its id in liftoff.json (production) with --project")
	if required {
		_ = cmd.MarkFlagRequired("env")
	}
}

// envTarget is the environment a command acts on, with its project.
type envTarget struct {
	ProjectID   string
	ProjectName string
	client.EnvironmentSummary
}

// String names the target as the CLI prints it: shop/production (environment 3).
func (t envTarget) String() string {
	return fmt.Sprintf("%s/%s (environment %d)", t.ProjectName, t.GivenID, t.EnvironmentID)
}

// envClient is the API client and the environment r names, for a command
// that acts on one environment.
func (g *globals) envClient(ctx context.Context, r envRef) (*client.Client, envTarget, error) {
	c, err := g.apiClient()
	if err != nil {
		return nil, envTarget{}, err
	}
	t, err := r.resolve(ctx, c)
	return c, t, err
}

// resolve finds the environment r names, or says what exists.
func (r envRef) resolve(ctx context.Context, c *client.Client) (envTarget, error) {
	if r.env == "" {
		return envTarget{}, errors.New("--env is missing: name the environment with --env ID, or --project P --env GIVEN_ID")
	}
	id, numeric := positiveInt(r.env)
	if r.project == "" && numeric {
		return environmentByID(ctx, c, id)
	}
	projects, err := c.Projects(ctx)
	if err != nil {
		var ae *client.Error
		if errors.As(err, &ae) && ae.Status == http.StatusForbidden {
			return envTarget{}, fmt.Errorf("this API key cannot list projects, so it cannot find %s: pass the environment's integer id (--env 3) instead", r)
		}
		return envTarget{}, err
	}
	if r.project != "" {
		p, err := findProject(projects, r.project)
		if err != nil {
			return envTarget{}, err
		}
		for _, e := range p.Environments {
			if e.GivenID == r.env {
				return envTarget{ProjectID: p.ProjectID, ProjectName: p.Name, EnvironmentSummary: e}, nil
			}
		}
		for _, e := range p.Environments {
			if numeric && e.EnvironmentID == id {
				return envTarget{ProjectID: p.ProjectID, ProjectName: p.Name, EnvironmentSummary: e}, nil
			}
		}
		return envTarget{}, fmt.Errorf("project %s has no environment %q; its environments are %s", p.Name, r.env, listEnvironments(p))
	}
	var found []envTarget
	var all []string
	for _, p := range projects {
		for _, e := range p.Environments {
			t := envTarget{ProjectID: p.ProjectID, ProjectName: p.Name, EnvironmentSummary: e}
			all = append(all, t.String())
			if e.GivenID == r.env {
				found = append(found, t)
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if len(all) == 0 {
			return envTarget{}, fmt.Errorf("no environment %q: there are no projects yet (liftoff projects create)", r.env)
		}
		return envTarget{}, fmt.Errorf("no environment %q; the environments are %s", r.env, strings.Join(all, ", "))
	}
	var names []string
	for _, t := range found {
		names = append(names, t.String())
	}
	return envTarget{}, fmt.Errorf("--env %s is ambiguous: %s; say which with --project (--project %s --env %s) or use the integer id",
		r.env, strings.Join(names, ", "), found[0].ProjectName, r.env)
}

func (r envRef) String() string {
	if r.project == "" {
		return "--env " + r.env
	}
	return "--project " + r.project + " --env " + r.env
}

// environmentByID reads an environment and names its project; a key that
// may not read projects (a deploy key) sees the project's id.
func environmentByID(ctx context.Context, c *client.Client, id int64) (envTarget, error) {
	e, err := c.Environment(ctx, id)
	if err != nil {
		var ae *client.Error
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return envTarget{}, fmt.Errorf("no environment %d (liftoff envs list shows them)", id)
		}
		return envTarget{}, err
	}
	t := envTarget{ProjectID: e.ProjectID, ProjectName: e.ProjectID, EnvironmentSummary: e.EnvironmentSummary}
	if p, err := c.Project(ctx, e.ProjectID); err == nil {
		t.ProjectName = p.Name
	}
	return t, nil
}

// findProject finds a project by name, else by id, or lists the projects.
func findProject(projects []client.Project, nameOrID string) (client.Project, error) {
	for _, p := range projects {
		if p.Name == nameOrID {
			return p, nil
		}
	}
	for _, p := range projects {
		if p.ProjectID == nameOrID || p.Slug == nameOrID {
			return p, nil
		}
	}
	if len(projects) == 0 {
		return client.Project{}, fmt.Errorf("no project %q: there are no projects yet (liftoff projects create)", nameOrID)
	}
	var names []string
	for _, p := range projects {
		names = append(names, fmt.Sprintf("%s (%s)", p.Name, p.ProjectID))
	}
	slices.Sort(names)
	return client.Project{}, fmt.Errorf("no project %q; the projects are %s", nameOrID, strings.Join(names, ", "))
}

func listEnvironments(p client.Project) string {
	if len(p.Environments) == 0 {
		return "none"
	}
	var s []string
	for _, e := range p.Environments {
		s = append(s, fmt.Sprintf("%s (%d)", e.GivenID, e.EnvironmentID))
	}
	return strings.Join(s, ", ")
}

func positiveInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}
