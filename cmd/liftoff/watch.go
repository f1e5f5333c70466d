package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

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
			d, err := watchDeployment(cmd.Context(), c, args[0], cmd.OutOrStdout(), logs, interval)
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
			if !follow {
				text, err := c.Logs(cmd.Context(), args[0], service)
				if err != nil {
					return err
				}
				_, err = io.WriteString(cmd.OutOrStdout(), text)
				return err
			}
			status, err := c.FollowLogs(cmd.Context(), args[0], service, func(l string) { _, _ = fmt.Fprintln(cmd.OutOrStdout(), l) })
			if err != nil {
				return err
			}
			_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "deployment ended", status)
			return nil
		},
	}
	logsCmd.Flags().StringVar(&service, "service", "", "only this service's output (its id in liftoff.json)")
	logsCmd.Flags().BoolVarP(&follow, "follow", "f", false, "stream the output until the deployment ends")
	return []*cobra.Command{g.hookSecretFlag(watch), cancel, redeploy, g.hookSecretFlag(logsCmd)}
}

// readClient authenticates with the API key, or with a hook secret
// (LIFTOFF_HOOK_SECRET) that may read the deployments its hook started.
func (g *globals) readClient() (*client.Client, error) {
	if g.apiKey == "" && g.hookSecret != "" {
		return g.client().WithHookSecret(g.hookSecret), nil
	}
	return g.apiClient()
}

// watchDeployment polls a deployment and prints every change until it ends.
func watchDeployment(ctx context.Context, c *client.Client, id string, w io.Writer, logs bool, interval time.Duration) (client.Deployment, error) {
	if logs {
		go func() {
			_, _ = c.FollowLogs(ctx, id, "", func(l string) { _, _ = fmt.Fprintln(w, "  | "+l) })
		}()
	}
	seen := map[string]string{}
	for {
		d, err := c.Deployment(ctx, id)
		if err != nil {
			return d, err
		}
		stamp := time.Now().Format("15:04:05")
		if seen[""] != d.Status {
			seen[""] = d.Status
			_, _ = fmt.Fprintf(w, "%s deployment %s: %s\n", stamp, d.DeploymentID, d.Status)
		}
		for _, s := range d.ServiceDeployments {
			if seen[s.ServiceDeploymentID] == s.Status {
				continue
			}
			seen[s.ServiceDeploymentID] = s.Status
			line := fmt.Sprintf("%s   %s: %s", stamp, s.Service.ServiceGivenID, s.Status)
			if s.Reason != nil && (s.Status == "PENDING" || s.Status == "NO_CHANGE") {
				line += " (" + *s.Reason + ")"
			}
			for _, e := range s.Error {
				for _, msg := range e {
					line += ": " + msg
				}
			}
			if s.Status == "SUCCESS" && s.Service.ServiceDomain != nil {
				line += " → " + *s.Service.ServiceDomain
			}
			_, _ = fmt.Fprintln(w, line)
		}
		if isFinal(d.Status) {
			for _, e := range d.Error {
				for k, v := range e {
					_, _ = fmt.Fprintf(w, "%s %s: %s\n", stamp, k, v)
				}
			}
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-time.After(interval):
		}
	}
}

func isFinal(status string) bool {
	switch status {
	case "SUCCESS", "NO_CHANGE", "BUILD_ERROR", "DEPLOY_ERROR", "ERROR", "CANCELLED":
		return true
	}
	return false
}
