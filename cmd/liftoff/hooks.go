package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

func newHooks(g *globals) *cobra.Command {
	cmd := g.clientFlags(&cobra.Command{Use: "hooks", Short: "Manage deploy hooks"})
	var env envRef
	var name string
	create := &cobra.Command{
		Use:   "create [--project PROJECT] --env ENV --name NAME",
		Short: "Create a deploy hook; its URL is shown once",
		Example: `  liftoff hooks create --project shop --env production --name CI
  liftoff hooks create --env 3 --name CI`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), env)
			if err != nil {
				return err
			}
			h, err := c.CreateHook(cmd.Context(), t.EnvironmentID, name)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), createdHookJSON{CreatedHook: h, ProjectID: t.ProjectID, ProjectName: t.ProjectName,
					EnvironmentGivenID: t.GivenID})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Created deploy hook %q (%s) for %s. Its URL is shown only now; keep it secret:\n\n%s\n",
				h.Name, h.ID, t, h.URL)
			return err
		},
	}
	env.flags(create, true)
	create.Flags().StringVar(&name, "name", "", "what calls the hook, e.g. CI or CMS")
	_ = create.MarkFlagRequired("name")

	var listEnv envRef
	list := &cobra.Command{
		Use:   "list [--project PROJECT] --env ENV",
		Short: "List an environment's deploy hooks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), listEnv)
			if err != nil {
				return err
			}
			hooks, err := c.Hooks(cmd.Context(), t.EnvironmentID)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), hooks)
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "Deploy hooks of %s\n\n", t)
			rows := [][]string{}
			for _, h := range hooks {
				state := "active"
				if h.Paused {
					state = "paused"
				}
				rows = append(rows, []string{h.ID, h.Name, state, strconv.FormatInt(h.UseCount, 10), orDash(h.LastUsedAt), orDash(h.LastCallerAddress)})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "NAME", "STATE", "CALLS", "LAST USED", "LAST CALLER"}, rows)
		},
	}
	listEnv.flags(list, true)

	var grace time.Duration
	rotate := &cobra.Command{
		Use:   "rotate HOOK_ID [--grace 1h]",
		Short: "Give a deploy hook a new secret; the new URL is shown once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			h, err := c.RotateHook(cmd.Context(), args[0], grace)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), h)
			}
			msg := "The old URL stops working now."
			if h.PreviousSecretExpiresAt != nil {
				msg = "The old URL keeps working until " + *h.PreviousSecretExpiresAt + "."
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Rotated deploy hook %s. %s New URL, shown only now:\n\n%s\n", h.ID, msg, h.URL)
			return err
		},
	}
	rotate.Flags().DurationVar(&grace, "grace", 0, "how long the old secret keeps working, e.g. 1h (at most 720h)")

	simple := func(use, short, msg string, fn func(cmd *cobra.Command, c *client.Client, id string) error) *cobra.Command {
		return &cobra.Command{
			Use: use + " HOOK_ID", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.apiClient()
				if err != nil {
					return err
				}
				if err := fn(cmd, c, args[0]); err != nil {
					return err
				}
				return done(cmd, g, msg+" "+args[0])
			},
		}
	}
	pause := simple("pause", "Pause a deploy hook: calls get 409 and queue nothing", "Paused deploy hook", func(cmd *cobra.Command, c *client.Client, id string) error {
		_, err := c.SetHookPaused(cmd.Context(), id, true)
		return err
	})
	resume := simple("resume", "Resume a paused deploy hook", "Resumed deploy hook", func(cmd *cobra.Command, c *client.Client, id string) error {
		_, err := c.SetHookPaused(cmd.Context(), id, false)
		return err
	})
	del := simple("delete", "Revoke a deploy hook: its URL answers 404 from now on", "Deleted deploy hook", func(cmd *cobra.Command, c *client.Client, id string) error {
		return c.DeleteHook(cmd.Context(), id)
	})

	var limit int
	calls := &cobra.Command{
		Use:   "calls HOOK_ID",
		Short: "Show a deploy hook's recent calls, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			cs, err := c.HookCalls(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), cs)
			}
			rows := [][]string{}
			for _, c := range cs {
				rows = append(rows, []string{c.At, c.Address, strconv.Itoa(c.Status), c.Outcome, orDash(c.DeploymentID)})
			}
			return table(cmd.OutOrStdout(), []string{"AT", "FROM", "STATUS", "OUTCOME", "DEPLOYMENT"}, rows)
		},
	}
	calls.Flags().IntVar(&limit, "limit", 50, "how many calls to show (at most 1000)")
	cmd.AddCommand(create, list, rotate, pause, resume, del, calls)
	return cmd
}

// createdHookJSON is what hooks create --json prints: the API's answer, and
// the project and environment the hook belongs to.
type createdHookJSON struct {
	client.CreatedHook
	ProjectID          string `json:"projectId"`
	ProjectName        string `json:"projectName"`
	EnvironmentGivenID string `json:"environmentGivenId"`
}
