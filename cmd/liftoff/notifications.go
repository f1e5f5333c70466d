package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

func newNotifications(g *globals) *cobra.Command {
	cmd := g.clientFlags(&cobra.Command{Use: "notifications", Short: "Manage the webhooks told of an environment's deployments"})

	var env envRef
	var url, format string
	var events []string
	create := &cobra.Command{
		Use:   "create [--project PROJECT] --env ENV --url URL [--events TYPE,...] [--format json|slack]",
		Short: "Create a webhook; its signing secret is shown once",
		Example: `  liftoff notifications create --project shop --env production --url https://ci.example.com/liftoff
  liftoff notifications create --env 3 --url https://hooks.slack.com/services/... --format slack --events deployment.failed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), env)
			if err != nil {
				return err
			}
			n, err := c.CreateNotification(cmd.Context(), t.EnvironmentID, url, events, format)
			if err != nil {
				return err
			}
			return printCreatedNotification(cmd, g, n, fmt.Sprintf("Created webhook %s for %s.", n.ID, t))
		},
	}
	env.flags(create, true)
	create.Flags().StringVar(&url, "url", "", "where to POST the events: an http or https URL")
	create.Flags().StringSliceVar(&events, "events", nil, "event types it hears, comma-separated (default every type): "+
		"deployment.created, deployment.started, deployment.succeeded, deployment.failed, deployment.cancelled, deployment.no_change")
	create.Flags().StringVar(&format, "format", "json", "json (the signed event) or slack (a Slack incoming webhook's text)")
	_ = create.MarkFlagRequired("url")

	var listEnv envRef
	list := &cobra.Command{
		Use:   "list [--project PROJECT] --env ENV",
		Short: "List an environment's webhooks, those of liftoff.json included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), listEnv)
			if err != nil {
				return err
			}
			ns, err := c.Notifications(cmd.Context(), t.EnvironmentID)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), ns)
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "Webhooks of %s\n\n", t)
			rows := [][]string{}
			for _, n := range ns {
				ev := "all"
				if len(n.Events) > 0 {
					ev = strings.Join(n.Events, ",")
				}
				rows = append(rows, []string{n.ID, n.URL, n.Format, ev, n.Source, n.CreatedAt})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "URL", "FORMAT", "EVENTS", "SOURCE", "CREATED"}, rows)
		},
	}
	listEnv.flags(list, true)

	var rotEnv envRef
	rotate := &cobra.Command{
		Use:   "rotate [--project PROJECT] --env ENV WEBHOOK_ID",
		Short: "Give a webhook a new signing secret, shown once (how a liftoff.json webhook's secret is seen)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, t, err := g.envClient(cmd.Context(), rotEnv)
			if err != nil {
				return err
			}
			n, err := c.RotateNotification(cmd.Context(), t.EnvironmentID, args[0])
			if err != nil {
				return err
			}
			return printCreatedNotification(cmd, g, n, fmt.Sprintf("Gave webhook %s a new secret; the old one signs nothing from now on.", n.ID))
		},
	}
	rotEnv.flags(rotate, true)

	var delEnv envRef
	del := &cobra.Command{
		Use:   "delete [--project PROJECT] --env ENV WEBHOOK_ID",
		Short: "Delete a webhook made with create (those of liftoff.json go when removed there)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, t, err := g.envClient(cmd.Context(), delEnv)
			if err != nil {
				return err
			}
			if err := c.DeleteNotification(cmd.Context(), t.EnvironmentID, args[0]); err != nil {
				return err
			}
			return done(cmd, g, "Deleted webhook "+args[0])
		},
	}
	delEnv.flags(del, true)

	var delivEnv envRef
	var limit int
	deliveries := &cobra.Command{
		Use:   "deliveries [--project PROJECT] --env ENV WEBHOOK_ID",
		Short: "Show a webhook's deliveries, newest first: state, attempts, last error, next attempt",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, t, err := g.envClient(cmd.Context(), delivEnv)
			if err != nil {
				return err
			}
			ds, err := c.NotificationDeliveries(cmd.Context(), t.EnvironmentID, args[0], limit)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), ds)
			}
			rows := [][]string{}
			for _, d := range ds {
				status := "-"
				if d.LastStatus != nil {
					status = strconv.Itoa(*d.LastStatus)
				}
				rows = append(rows, []string{d.EventID, d.State, strconv.Itoa(d.Attempts), status, orDash(d.LastError), orDash(d.NextAttemptAt)})
			}
			return table(cmd.OutOrStdout(), []string{"EVENT", "STATE", "ATTEMPTS", "STATUS", "LAST ERROR", "NEXT ATTEMPT"}, rows)
		},
	}
	delivEnv.flags(deliveries, true)
	deliveries.Flags().IntVar(&limit, "limit", 50, "how many deliveries to show (at most 500)")

	cmd.AddCommand(create, list, rotate, del, deliveries)
	return cmd
}

// printCreatedNotification prints a webhook with its secret, the one time
// it is shown.
func printCreatedNotification(cmd *cobra.Command, g *globals, n client.CreatedNotification, what string) error {
	if g.json {
		return printJSON(cmd.OutOrStdout(), n)
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s Its signing secret is shown only now; keep it secret:\n\n%s\n\n"+
		"Each request carries X-Liftoff-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\"> (docs/notifications.md).\n", what, n.Secret)
	return err
}
