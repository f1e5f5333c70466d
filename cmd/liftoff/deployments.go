package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

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
	force := strconv.FormatBool(d.Force)
	if d.ClearCache {
		force += " (clear cache)"
	}
	_, _ = fmt.Fprintf(w, "Deployment %s of %s: %s\nCommit: %s  Branch: %s  Force: %s  Created: %s\n", d.DeploymentID, target, d.Status,
		orDash(&d.GitCommit), orDash(&d.GitBranch), force, d.CreatedAt)
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

// newDeploymentActions are the commands that act on one deployment.
func newDeploymentActions(g *globals) []*cobra.Command {
	var logs bool
	var interval time.Duration
	watch := &cobra.Command{
		Use:   "watch DEPLOYMENT_ID",
		Short: "Follow a deployment live, service by service; exit non-zero if it fails",
		Long: `Follow a deployment until it ends, printing each status change of the
deployment and of its services (and, with --logs, every line of output). The
exit status is 0 when it ends SUCCESS or NO_CHANGE, 1 otherwise. Works with
an API key, or with the hook's secret in LIFTOFF_HOOK_SECRET.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.readClient()
			if err != nil {
				return err
			}
			d, err := watchDeployment(cmd.Context(), c, args[0], cmd.OutOrStdout(), logs, interval, g.json)
			if err != nil {
				return err
			}
			if d.Status != "SUCCESS" && d.Status != "NO_CHANGE" {
				return exitError{code: 1}
			}
			return nil
		},
	}
	watch.Flags().BoolVar(&logs, "logs", false, "also print the deployment's output")
	watch.Long += "\n\nWith --json it prints one JSON object a line (docs/cli.md)."
	watch.Flags().DurationVar(&interval, "interval", time.Second, "how often to poll the deployment")

	cancel := &cobra.Command{
		Use:   "cancel DEPLOYMENT_ID",
		Short: "Cancel a PENDING deployment, or stop a running one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			d, err := c.CancelDeployment(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printDeployment(cmd.OutOrStdout(), g, d)
		},
	}
	redeploy := &cobra.Command{
		Use:   "redeploy DEPLOYMENT_ID",
		Short: "Release the builds of a deployment again, without building (rollback)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			d, err := c.RedeployDeployment(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printDeployment(cmd.OutOrStdout(), g, d)
		},
	}
	var service string
	var follow bool
	logsCmd := &cobra.Command{
		Use:   "logs DEPLOYMENT_ID",
		Short: "Print a deployment's output (--follow to stream it until it ends)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.readClient()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !follow {
				text, err := c.Logs(cmd.Context(), args[0], service)
				if err != nil {
					return err
				}
				if !g.json {
					_, err = io.WriteString(out, text)
					return err
				}
				for _, l := range strings.SplitAfter(text, "\n") {
					if l = strings.TrimSuffix(l, "\n"); l != "" {
						writeJSONLine(out, logEvent(args[0], l))
					}
				}
				return nil
			}
			status, err := c.FollowLogs(cmd.Context(), args[0], service, func(l string) {
				if g.json {
					writeJSONLine(out, logEvent(args[0], l))
					return
				}
				_, _ = fmt.Fprintln(out, l)
			})
			if err != nil {
				return err
			}
			if g.json {
				writeJSONLine(out, watchEvent{Type: "end", Time: time.Now().UTC().Format(time.RFC3339Nano), DeploymentID: args[0], Status: status})
				return nil
			}
			_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "deployment ended", status)
			return nil
		},
	}
	logsCmd.Flags().StringVar(&service, "service", "", "only this service's output (its id in liftoff.json)")
	logsCmd.Flags().BoolVarP(&follow, "follow", "f", false, "stream the output until the deployment ends")
	return []*cobra.Command{g.hookSecretFlag(watch), cancel, redeploy, g.hookSecretFlag(logsCmd)}
}
