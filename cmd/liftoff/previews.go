package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newPreviews(g *globals) *cobra.Command {
	cmd := g.clientFlags(&cobra.Command{Use: "previews", Short: "List and tear down pull request preview instances"})
	var env int64
	list := &cobra.Command{
		Use:   "list --env PREVIEW_ENV_ID",
		Short: "List a preview environment's live preview instances",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			ps, err := c.Previews(cmd.Context(), env)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), ps)
			}
			rows := [][]string{}
			for _, p := range ps {
				rows = append(rows, []string{strconv.Itoa(p.PRNumber), orDash(p.HeadBranch), p.CreatedAt, p.LastDeployedAt, orDash(p.TeardownAt)})
			}
			return table(cmd.OutOrStdout(), []string{"PR", "BRANCH", "CREATED", "LAST DEPLOYED", "TEARDOWN AT"}, rows)
		},
	}
	list.Flags().Int64Var(&env, "env", 0, "preview environment id")
	_ = list.MarkFlagRequired("env")

	var delEnv int64
	var pr int
	del := &cobra.Command{
		Use:   "delete --env PREVIEW_ENV_ID --pr NUMBER",
		Short: "Tear a preview down: stop its services, remove its routes and builds, keep its history",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			p, err := c.DeletePreview(cmd.Context(), delEnv, pr)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), p)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Tore down the preview of PR #%d; a later deployment of it starts afresh.\n", p.PRNumber)
			return err
		},
	}
	del.Flags().Int64Var(&delEnv, "env", 0, "preview environment id")
	del.Flags().IntVar(&pr, "pr", 0, "pull request number")
	_ = del.MarkFlagRequired("env")
	_ = del.MarkFlagRequired("pr")
	cmd.AddCommand(list, del)
	return cmd
}
