package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

// newLogs is "liftoff logs": the runtime log of a service's release.
func newLogs(g *globals) *cobra.Command {
	var ref serviceRef
	var follow bool
	var since string
	cmd := g.clientFlags(&cobra.Command{
		Use:   "logs",
		Short: "Print (or follow, -f) what a service's release prints while it runs",
		Long: "Print the runtime log of a service's release, each line with its time, secrets scrubbed.\n" +
			"With -f, go on printing new lines until interrupted. The log is on the node that runs the\n" +
			"release: with several replicas, ask that node's API (another answers 503 naming it).",
		Example: "  liftoff logs --project shop --env production --service api -f --since 10m",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, svc, err := ref.resolve(cmd.Context(), g)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			return c.ServiceLogs(cmd.Context(), svc, client.ServiceLogsParams{PRNumber: ref.pr, Since: since, Follow: follow},
				func(line string) { fmt.Fprintln(out, line) })
		},
	})
	ref.flags(cmd)
	cmd.Flags().Lookup("service").Usage = "the service: its serviceId, or its id in liftoff.json (api) with --env"
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "go on printing new lines until interrupted")
	cmd.Flags().StringVar(&since, "since", "", "only lines since a duration ago (10m, 2h) or an RFC 3339 time")
	return cmd
}
