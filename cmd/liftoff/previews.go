package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
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
	cmd.AddCommand(list, del)
	return cmd
}
