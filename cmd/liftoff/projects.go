package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

func newProjects(g *globals) *cobra.Command {
	cmd := g.clientFlags(&cobra.Command{Use: "projects", Short: "Create, list, sync and delete projects"})
	var name, slug, repo, configPath, githubRepo string
	create := &cobra.Command{
		Use:   "create --name NAME --repo URL",
		Short: "Create a project from a git repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			p, err := c.CreateProjectWith(cmd.Context(), client.NewProject{Name: name, Slug: slug, RepoURL: repo,
				ConfigPath: configPath, GitHubRepository: githubRepo})
			if err != nil {
				return err
			}
			return printProject(cmd.OutOrStdout(), g, p)
		},
	}
	create.Flags().StringVar(&name, "name", "", "project name")
	create.Flags().StringVar(&slug, "slug", "", "label of the project's host names, <service>.<environment>.<slug>.localhost (default: from --name)")
	create.Flags().StringVar(&repo, "repo", "", "git repository: a path, file://, https:// or ssh:// URL")
	create.Flags().StringVar(&configPath, "config-path", "", "config file in the repository (default liftoff.json, then flightcontrol.json)")
	create.Flags().StringVar(&githubRepo, "github-repo", "", "GitHub owner/name for webhooks, when --repo is not a github.com URL")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("repo")

	list := &cobra.Command{
		Use:   "list",
		Short: "List projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			ps, err := c.Projects(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), ps)
			}
			rows := [][]string{}
			for _, p := range ps {
				rows = append(rows, []string{p.ProjectID, p.Name, p.Slug, p.RepoURL, strconv.Itoa(len(p.Environments))})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "NAME", "SLUG", "REPOSITORY", "ENVIRONMENTS"}, rows)
		},
	}
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a project and its environments",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			p, err := c.Project(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printProject(cmd.OutOrStdout(), g, p)
		},
	}
	sync := &cobra.Command{
		Use:   "sync ID",
		Short: "Re-read the project's config from its default branch",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			p, err := c.SyncProject(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printProject(cmd.OutOrStdout(), g, p)
		},
	}
	del := &cobra.Command{
		Use:   "delete PROJECT",
		Short: "Delete a project (by name or id): cancel its deployments, stop its releases, revoke its hooks",
		Long: `Delete a project, whatever it is running: its PENDING deployments are
cancelled and its running ones stopped, its releases stop and their routes
and host names go, its environments, deploy hooks (their URLs answer 404)
and previews are deleted. Its deployments and their logs stay readable.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			projects, err := c.Projects(cmd.Context())
			if err != nil {
				return err
			}
			p, err := findProject(projects, args[0])
			if err != nil {
				return err
			}
			if err := c.DeleteProject(cmd.Context(), p.ProjectID); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"ok": true, "projectId": p.ProjectID, "name": p.Name})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Deleted project %s (%s): its deployments were cancelled, its releases stop and its hooks are revoked.\n",
				p.Name, p.ProjectID)
			return err
		},
	}
	cmd.AddCommand(create, list, get, sync, del)
	return cmd
}

func printProject(w io.Writer, g *globals, p client.Project) error {
	if g.json {
		return printJSON(w, p)
	}
	_, _ = fmt.Fprintf(w, "Project %s (%s)\nRepository: %s\nConfig: %s on %s at %.12s\nHost names: <service>.<environment>.%s.localhost\n\n",
		p.Name, p.ProjectID, p.RepoURL, p.ConfigPath, p.DefaultBranch, p.ConfigCommit, p.Slug)
	rows := [][]string{}
	for _, e := range p.Environments {
		rows = append(rows, []string{strconv.FormatInt(e.EnvironmentID, 10), e.GivenID, e.Name, deploys(e)})
	}
	if err := table(w, []string{"ENV ID", "GIVEN ID", "NAME", "DEPLOYS"}, rows); err != nil {
		return err
	}
	for _, warn := range p.Warnings {
		_, _ = fmt.Fprintln(w, "warning:", warn)
	}
	return nil
}
