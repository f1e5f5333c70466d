package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"
)

func newResources(g *globals) *cobra.Command {
	cmd := g.clientFlags(&cobra.Command{Use: "resources",
		Short: "List, drop and dump the databases and Redis users Liftoff made for rds and elasticache services"})
	var env envRef
	list := &cobra.Command{
		Use:   "list [--project PROJECT] --env ENV",
		Short: "List an environment's managed databases and Redis users, of every preview in a preview environment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), env)
			if err != nil {
				return err
			}
			list, err := c.Resources(cmd.Context(), t.EnvironmentID)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), list)
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "Managed resources of %s\n\n", t)
			rows := [][]string{}
			for _, r := range list {
				pr := "-"
				if r.PRNumber != nil {
					pr = strconv.Itoa(*r.PRNumber)
				}
				rows = append(rows, []string{r.ServiceGivenID, pr, r.Kind, r.Name, r.State, r.CreatedAt})
			}
			return table(cmd.OutOrStdout(), []string{"SERVICE", "PR", "KIND", "NAME", "STATE", "CREATED"}, rows)
		},
	}
	env.flags(list, true)
	cmd.AddCommand(list, newResourcesDelete(g), newResourcesDump(g))
	return cmd
}

func newResourcesDelete(g *globals) *cobra.Command {
	var env envRef
	var service string
	var pr int
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete [--project PROJECT] --env ENV --service SERVICE [--pr NUMBER] --yes",
		Short: "Drop a service's database (and its role) or Redis user (and its keys), with all its data",
		Long: `Drop the database and its role, or the Redis user and every key of its
prefix, that Liftoff made for an rds or elasticache service of an
environment (--pr: of one preview's). Its data is gone: dump it first
(liftoff resources dump). The environment's next deployment makes it
anew, empty. Liftoff never drops a normal environment's on its own; a
preview's go when the preview is torn down. --yes says you mean it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !yes {
				return errors.New("this drops the resource with all its data: add --yes if you mean it (liftoff resources dump saves a database first)")
			}
			c, t, err := g.envClient(cmd.Context(), env)
			if err != nil {
				return err
			}
			r, err := c.DeleteResource(cmd.Context(), t.EnvironmentID, service, pr)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), r)
			}
			what := "database and role"
			if r.Kind == "redis" {
				what = "Redis user and its keys"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Dropped the %s %s of %s in %s; the next deployment makes it anew, empty.\n", what, r.Name, service, t)
			return err
		},
	}
	env.flags(cmd, true)
	cmd.Flags().StringVar(&service, "service", "", "the rds or elasticache service (its id in liftoff.json)")
	cmd.Flags().IntVar(&pr, "pr", 0, "pull request number, for a preview's")
	cmd.Flags().BoolVar(&yes, "yes", false, "drop it, with all its data")
	_ = cmd.MarkFlagRequired("service")
	return cmd
}

func newResourcesDump(g *globals) *cobra.Command {
	var env envRef
	var service, out string
	var pr int
	cmd := &cobra.Command{
		Use:   "dump [--project PROJECT] --env ENV --service SERVICE [--pr NUMBER] --out FILE",
		Short: "Save a pg_dump (custom format) of a service's managed PostgreSQL database",
		Long: `Save a pg_dump, in the custom format, of the database Liftoff made for an
rds service of an environment (--pr: of one preview's), made on the
Liftoff server. Restore it with pg_restore, into the same database
(after liftoff resources delete and a deployment, it is empty) or any
other:

  pg_restore --no-owner --no-privileges --dbname "$DATABASE_URL" FILE

The file is written whole or not at all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), env)
			if err != nil {
				return err
			}
			// Written aside, then renamed: a dump cut short leaves no
			// file that looks whole.
			tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
			if err != nil {
				return fmt.Errorf("write the dump: %w", err)
			}
			defer func() { _ = os.Remove(tmp.Name()) }()
			if err := c.DumpResource(cmd.Context(), t.EnvironmentID, service, pr, tmp); err != nil {
				_ = tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return fmt.Errorf("write the dump: %w", err)
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return fmt.Errorf("write the dump: %w", err)
			}
			info, err := os.Stat(out)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "Wrote a dump of %s in %s to %s (%d bytes); restore it with pg_restore.\n", service, t, out, info.Size())
			return err
		},
	}
	env.flags(cmd, true)
	cmd.Flags().StringVar(&service, "service", "", "the rds service (its id in liftoff.json)")
	cmd.Flags().IntVar(&pr, "pr", 0, "pull request number, for a preview's")
	cmd.Flags().StringVar(&out, "out", "", "the file to write")
	_ = cmd.MarkFlagRequired("service")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
