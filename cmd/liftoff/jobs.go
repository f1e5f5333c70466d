package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

// serviceRef names a scheduler service: its id, or its id in the config
// with --env (and --project).
type serviceRef struct {
	env     envRef
	service string
	pr      int
}

func (r *serviceRef) flags(cmd *cobra.Command) {
	r.env.flags(cmd, false)
	cmd.Flags().StringVar(&r.service, "service", "", "the scheduler service: its serviceId, or its id in liftoff.json (cron) with --env")
	cmd.Flags().IntVar(&r.pr, "pr", 0, "the pull request, for a service of a preview environment")
	_ = cmd.MarkFlagRequired("service")
}

// resolve returns the service's id.
func (r serviceRef) resolve(ctx context.Context, g *globals) (*client.Client, string, error) {
	if r.env.env == "" {
		c, err := g.apiClient()
		return c, r.service, err
	}
	c, t, err := g.envClient(ctx, r.env)
	if err != nil {
		return nil, "", err
	}
	env, err := c.Environment(ctx, t.EnvironmentID)
	if err != nil {
		return nil, "", err
	}
	var names []string
	for _, s := range env.Services {
		if s.ServiceGivenID == r.service || s.ServiceID == r.service {
			if s.ServiceID == "" {
				return nil, "", fmt.Errorf("service %s of %s is not deployed: %s", r.service, t, orDash(s.Reason))
			}
			return c, s.ServiceID, nil
		}
		names = append(names, s.ServiceGivenID)
	}
	return nil, "", fmt.Errorf("%s has no service %q (it has %s)", t, r.service, strings.Join(names, ", "))
}

func newJobs(g *globals) *cobra.Command {
	cmd := g.clientFlags(&cobra.Command{Use: "jobs", Short: "Run scheduler services' jobs and read their runs"})

	var runRef serviceRef
	var command string
	var argv []string
	run := &cobra.Command{
		Use:   "run --service SERVICE [--env ENV [--project PROJECT]] JOB [--command LINE | --arg A --arg B ...]",
		Short: "Run a job now, with its startCommand or another command",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if command != "" && len(argv) > 0 {
				return errors.New("give --command (a shell line) or --arg (an argv), not both")
			}
			c, svc, err := runRef.resolve(cmd.Context(), g)
			if err != nil {
				return err
			}
			var start any
			switch {
			case command != "":
				start = command
			case len(argv) > 0:
				start = argv
			}
			x, err := c.RunJob(cmd.Context(), svc, args[0], runRef.pr, start)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), x)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Job %s asked to run: execution %s (liftoff jobs get %s)\n", args[0], x.JobExecutionID, x.JobExecutionID)
			return err
		},
	}
	runRef.flags(run)
	run.Flags().StringVar(&command, "command", "", "run this shell line instead of the job's startCommand")
	run.Flags().StringArrayVar(&argv, "arg", nil, "run this argv instead (repeat: --arg node --arg job.js)")

	get := &cobra.Command{
		Use:   "get EXECUTION_ID",
		Short: "Show a job execution: status, times, exit code",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			x, err := c.JobExecution(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), x)
			}
			return table(cmd.OutOrStdout(), []string{"FIELD", "VALUE"}, [][]string{
				{"id", x.ID}, {"job", x.Job.GivenID}, {"status", x.Status}, {"trigger", x.Trigger},
				{"scheduled", orDash(x.ScheduledAt)}, {"created", x.CreatedAt},
				{"started", orDash(x.StartedAt)}, {"finished", orDash(x.FinishedAt)},
				{"exit code", exitCode(x.ExitCode)}, {"error", jobError(x.Error)},
			})
		},
	}

	var listRef serviceRef
	var limit int
	list := &cobra.Command{
		Use:   "list --service SERVICE [--env ENV [--project PROJECT]] JOB",
		Short: "List a job's runs, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, svc, err := listRef.resolve(cmd.Context(), g)
			if err != nil {
				return err
			}
			xs, err := c.JobExecutions(cmd.Context(), svc, args[0], listRef.pr, limit)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), xs)
			}
			rows := [][]string{}
			for _, x := range xs {
				rows = append(rows, []string{x.ID, x.Status, x.Trigger, orDash(x.ScheduledAt), x.CreatedAt, exitCode(x.ExitCode)})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "STATUS", "TRIGGER", "SCHEDULED", "CREATED", "EXIT"}, rows)
		},
	}
	listRef.flags(list)
	list.Flags().IntVar(&limit, "limit", 20, "at most this many, 1 to 100")

	logs := &cobra.Command{
		Use:   "logs EXECUTION_ID",
		Short: "Print a job execution's output so far",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			out, err := c.JobExecutionLogs(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), out)
			return err
		},
	}
	cmd.AddCommand(run, get, list, logs)
	return cmd
}

func exitCode(c *int) string {
	if c == nil {
		return "-"
	}
	return strconv.Itoa(*c)
}

func jobError(e *client.JobError) string {
	if e == nil {
		return "-"
	}
	return e.Message
}
