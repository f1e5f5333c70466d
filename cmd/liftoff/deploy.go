package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

func newDeploy(g *globals) *cobra.Command {
	var env envRef
	var force, clearCache, watch, logs bool
	var commit, branch string
	cmd := &cobra.Command{
		Use:   "deploy [--project PROJECT] --env ENV [--force] [--clear-cache] [--commit SHA] [--branch BRANCH] [--watch]",
		Short: "Deploy an environment now, as a call of its deploy hook would",
		Long: `Start a deployment of an environment with the API key (an admin key, or a
deploy key that names the environment). It does what a call of the
environment's deploy hook does: an equal PENDING deployment answers (--force
upgrading it), one of another commit is superseded. --clear-cache (which
implies --force) builds every service from an empty build cache and saves
a new one: for a build that fails because of what its cache holds. It
prints the
deployment's id; with --watch it follows the deployment to its end and exits
non-zero unless it ends SUCCESS or NO_CHANGE.`,
		Example: `  liftoff deploy --project shop --env production --watch
  liftoff deploy --env 3 --commit 4f2a9c1 --force
  liftoff deploy --project shop --env production --clear-cache --watch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), env)
			if err != nil {
				return err
			}
			d, err := c.StartDeploymentWith(cmd.Context(), t.EnvironmentID,
				client.DeploymentRequest{Force: force || clearCache, ClearCache: clearCache, Commit: commit, Branch: branch})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !watch {
				if g.json {
					return printJSON(out, d)
				}
				verb := "Queued"
				if d.Outcome != "queued" {
					verb = "Joined the PENDING"
				}
				_, err = fmt.Fprintf(out, "%s deployment %s of %s.\nFollow it with: liftoff deployments watch %s\n", verb, d.DeploymentID, t, d.DeploymentID)
				return err
			}
			if !g.json {
				_, _ = fmt.Fprintf(out, "Deployment %s of %s (%s)\n", d.DeploymentID, t, d.Outcome)
			}
			end, err := watchDeployment(cmd.Context(), c, d.DeploymentID, out, logs, time.Second, g.json)
			if err != nil {
				return err
			}
			if end.Status != "SUCCESS" && end.Status != "NO_CHANGE" {
				return exitError{code: 1}
			}
			return nil
		},
	}
	env.flags(cmd, true)
	cmd.Flags().BoolVar(&force, "force", false, "build and deploy every service, whatever the watch paths say")
	cmd.Flags().BoolVar(&clearCache, "clear-cache", false, "build every service from an empty build cache, then save a new one (implies --force)")
	cmd.Flags().StringVar(&commit, "commit", "", "the commit to deploy (default: the branch's head)")
	cmd.Flags().StringVar(&branch, "branch", "", "the branch to deploy instead of the environment's")
	cmd.Flags().BoolVar(&watch, "watch", false, "follow the deployment to its end; exit non-zero if it fails")
	cmd.Flags().BoolVar(&logs, "logs", false, "with --watch, also print the deployment's output")
	return g.clientFlags(cmd)
}
