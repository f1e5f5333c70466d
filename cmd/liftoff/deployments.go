package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

func newDeployments(g *globals) *cobra.Command {
	cmd := g.clientFlags(&cobra.Command{Use: "deployments", Aliases: []string{"deploys"}, Short: "Show deployments"})
	get := &cobra.Command{
		Use:   "get DEPLOYMENT_ID",
		Short: "Show a deployment and its services",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.readClient()
			if err != nil {
				return err
			}
			d, err := c.Deployment(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printDeployment(cmd.OutOrStdout(), g, d)
		},
	}
	var f client.DeploymentFilter
	var env envRef
	list := &cobra.Command{
		Use:   "list",
		Short: "List deployments, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			heading := ""
			switch {
			case env.env != "":
				t, err := env.resolve(cmd.Context(), c)
				if err != nil {
					return err
				}
				f.EnvironmentID, heading = t.EnvironmentID, "Deployments of "+t.String()
			case env.project != "":
				projects, err := c.Projects(cmd.Context())
				if err != nil {
					return err
				}
				p, err := findProject(projects, env.project)
				if err != nil {
					return err
				}
				f.ProjectID, heading = p.ProjectID, fmt.Sprintf("Deployments of %s (%s)", p.Name, p.ProjectID)
			}
			page, err := c.Deployments(cmd.Context(), f)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), page)
			}
			if heading != "" {
				_, _ = fmt.Fprintf(cmd.OutOrStdout(), "%s\n\n", heading)
			}
			rows := [][]string{}
			for _, d := range page.Deployments {
				pr := "-"
				if d.PRNumber != nil {
					pr = strconv.Itoa(*d.PRNumber)
				}
				rows = append(rows, []string{d.DeploymentID, d.EnvironmentGivenID, pr, d.Status, shortSHA(d.GitCommit), d.CreatedAt})
			}
			if err := table(cmd.OutOrStdout(), []string{"ID", "ENVIRONMENT", "PR", "STATUS", "COMMIT", "CREATED"}, rows); err != nil {
				return err
			}
			if page.NextCursor != nil {
				_, _ = fmt.Fprintf(cmd.OutOrStdout(), "\nMore: --cursor %s\n", *page.NextCursor)
			}
			return nil
		},
	}
	env.flags(list, false)
	list.Flags().IntVar(&f.PRNumber, "pr", 0, "only this pull request number")
	list.Flags().StringVar(&f.Status, "status", "", "only this status, e.g. PENDING")
	list.Flags().IntVar(&f.Limit, "limit", 20, "page size (at most 100)")
	list.Flags().StringVar(&f.Cursor, "cursor", "", "the page after this cursor")
	cmd.AddCommand(g.hookSecretFlag(get), list)
	cmd.AddCommand(newDeploymentActions(g)...)
	return cmd
}

func shortSHA(s string) string {
	if s == "" {
		return "-"
	}
	return s[:min(len(s), 12)]
}

func printDeployment(w io.Writer, g *globals, d client.Deployment) error {
	if g.json {
		return printJSON(w, d)
	}
	target := d.EnvironmentGivenID
	if d.PRNumber != nil {
		target += fmt.Sprintf(" PR #%d", *d.PRNumber)
	}
	_, _ = fmt.Fprintf(w, "Deployment %s of %s: %s\nCommit: %s  Branch: %s  Force: %v  Created: %s\n", d.DeploymentID, target, d.Status,
		orDash(&d.GitCommit), orDash(&d.GitBranch), d.Force, d.CreatedAt)
	for _, e := range d.Error {
		for k, v := range e {
			_, _ = fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	if len(d.ServiceDeployments) == 0 {
		return nil
	}
	_, _ = fmt.Fprintln(w)
	rows := [][]string{}
	for _, s := range d.ServiceDeployments {
		rows = append(rows, []string{s.Service.ServiceGivenID, s.Status, orDash(s.Reason), orDash(s.Service.ServiceDomain)})
	}
	return table(w, []string{"SERVICE", "STATUS", "REASON", "URL"}, rows)
}
