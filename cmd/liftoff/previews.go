package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

func newPreviews(g *globals) *cobra.Command {
	cmd := g.clientFlags(&cobra.Command{Use: "previews", Short: "List and tear down pull request preview instances"})
	var env envRef
	list := &cobra.Command{
		Use:   "list [--project PROJECT] --env PREVIEW_ENV",
		Short: "List a preview environment's live preview instances",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), env)
			if err != nil {
				return err
			}
			ps, err := c.Previews(cmd.Context(), t.EnvironmentID)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), ps)
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "Previews of %s\n\n", t)
			rows := [][]string{}
			for _, p := range ps {
				rows = append(rows, []string{strconv.Itoa(p.PRNumber), orDash(p.HeadBranch), p.CreatedAt, p.LastDeployedAt, orDash(p.TeardownAt)})
			}
			return table(cmd.OutOrStdout(), []string{"PR", "BRANCH", "CREATED", "LAST DEPLOYED", "TEARDOWN AT"}, rows)
		},
	}
	env.flags(list, true)

	var delEnv envRef
	var pr int
	del := &cobra.Command{
		Use:   "delete [--project PROJECT] --env PREVIEW_ENV --pr NUMBER",
		Short: "Tear a preview down: stop its services, remove its routes and builds, keep its history",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), delEnv)
			if err != nil {
				return err
			}
			p, err := c.DeletePreview(cmd.Context(), t.EnvironmentID, pr)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), p)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Tore down the preview of PR #%d in %s; a later deployment of it starts afresh.\n", p.PRNumber, t)
			return err
		},
	}
	delEnv.flags(del, true)
	del.Flags().IntVar(&pr, "pr", 0, "pull request number")
	_ = del.MarkFlagRequired("pr")
	cmd.AddCommand(list, del, newPreviewShare(g))
	return cmd
}

// newPreviewShare makes a share link of a pull request's preview (or of
// a protected environment).
func newPreviewShare(g *globals) *cobra.Command {
	var env envRef
	var pr int
	var expires, service, host string
	cmd := &cobra.Command{
		Use:   "share [--project PROJECT] --env PREVIEW_ENV --pr NUMBER [--expires 24h] [--service SERVICE] [--host HOST]",
		Short: "Make a link that opens a protected preview until it expires",
		Long: `Make a link that opens a pull request's preview, protected by
default, for anyone who has it, until it expires (--expires: 24h by
default, at most 30d). It leads to the first web service of the preview
(else static), to --service, or to --host. For an environment that is
not a preview (set protected), leave out --pr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), env)
			if err != nil {
				return err
			}
			l, err := c.CreateShareLink(cmd.Context(), t.EnvironmentID, client.NewShareLink{PRNumber: pr, ExpiresIn: expires,
				Service: service, Host: host})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), l)
			}
			what := t.String()
			if pr > 0 {
				what = fmt.Sprintf("the preview of PR #%d in %s", pr, t)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n\nOpens %s for anyone who has it, until %s.\n", l.URL, what, l.ExpiresAt)
			return err
		},
	}
	env.flags(cmd, true)
	cmd.Flags().IntVar(&pr, "pr", 0, "pull request number (for a preview environment)")
	cmd.Flags().StringVar(&expires, "expires", "", "how long the link works: 24h (default), 90m, 7d; at most 30d")
	cmd.Flags().StringVar(&service, "service", "", "the service whose address the link opens (its id in liftoff.json); default the first web service")
	cmd.Flags().StringVar(&host, "host", "", "the host the link opens instead (host[:port], or https://host)")
	return cmd
}
