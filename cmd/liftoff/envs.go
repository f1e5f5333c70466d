package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
)

func newEnvs(g *globals) *cobra.Command {
	cmd := g.clientFlags(&cobra.Command{Use: "envs", Short: "Show environments"})
	get := &cobra.Command{
		Use:   "get ENV_ID",
		Short: "Show an environment and its services",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			e, err := c.Environment(cmd.Context(), id)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), e)
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "Environment %s (%d), branch %s, preview %v\n\n", e.GivenID, e.EnvironmentID, orDash(e.Branch), e.IsPreviewEnvironment)
			rows := [][]string{}
			for _, s := range e.Services {
				deployed := "yes"
				if !s.Deployed {
					deployed = "no: " + orDash(s.Reason)
				}
				rows = append(rows, []string{s.ServiceGivenID, s.ServiceName, s.Type, orDash(&s.ServiceID), deployed, serviceState(s)})
			}
			return table(cmd.OutOrStdout(), []string{"SERVICE", "NAME", "TYPE", "ID", "DEPLOYED", "STATE"}, rows)
		},
	}
	var project string
	list := &cobra.Command{
		Use:   "list [--project PROJECT]",
		Short: "List the environments of every project, or of one (by name or id)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			projects, err := c.Projects(cmd.Context())
			if err != nil {
				return err
			}
			if project != "" {
				p, err := findProject(projects, project)
				if err != nil {
					return err
				}
				projects = []client.Project{p}
			}
			out := []envListItem{}
			rows := [][]string{}
			for _, p := range projects {
				for _, e := range p.Environments {
					out = append(out, envListItem{ProjectID: p.ProjectID, ProjectName: p.Name, EnvironmentSummary: e})
					rows = append(rows, []string{p.Name, strconv.FormatInt(e.EnvironmentID, 10), e.GivenID, e.Name, deploys(e)})
				}
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			return table(cmd.OutOrStdout(), []string{"PROJECT", "ENV ID", "GIVEN ID", "NAME", "DEPLOYS"}, rows)
		},
	}
	list.Flags().StringVar(&project, "project", "", "only this project's environments (its name or id)")
	cmd.AddCommand(list, get, newEnvProtection(g))
	return cmd
}

// newEnvProtection reads, or with flags changes, who may open an
// environment's services through Liftoff's proxy.
func newEnvProtection(g *globals) *cobra.Command {
	var env envRef
	var mode string
	var passwordStdin, noPassword bool
	cmd := &cobra.Command{
		Use:   "protection [--project PROJECT] --env ENV [--mode public|protected] [--password-stdin | --no-password]",
		Short: "Show or change who may open an environment's services through the proxy",
		Long: `Show who may open an environment's web and static services through
Liftoff's proxy, or change it: --mode public (anyone) or protected (only
with a share link, the shared password, or a team session); --password-stdin
sets the shared password, read from stdin; --no-password removes it.
A preview environment is protected and any other public until set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, t, err := g.envClient(cmd.Context(), env)
			if err != nil {
				return err
			}
			var ch client.ProtectionChange
			if mode != "" {
				ch.Mode = &mode
			}
			switch {
			case passwordStdin:
				pw, err := readPassword(cmd.InOrStdin())
				if err != nil {
					return err
				}
				ch.Password = &pw
			case noPassword:
				none := ""
				ch.Password = &none
			}
			var p client.Protection
			changed := ch.Mode != nil || ch.Password != nil
			if changed {
				p, err = c.SetProtection(cmd.Context(), t.EnvironmentID, ch)
			} else {
				p, err = c.Protection(cmd.Context(), t.EnvironmentID)
			}
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), p)
			}
			prefix := "Protection of"
			if changed {
				prefix = "Set the protection of"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s\n", prefix, t, describeProtection(p, t.IsPreviewEnvironment))
			return err
		},
	}
	env.flags(cmd, true)
	cmd.Flags().StringVar(&mode, "mode", "", "public (anyone) or protected (share links, the password, the team)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "set the shared password, read from stdin (printf %s \"$PASSWORD\" | liftoff ...)")
	cmd.Flags().BoolVar(&noPassword, "no-password", false, "remove the shared password (share links still open the environment)")
	cmd.MarkFlagsMutuallyExclusive("password-stdin", "no-password")
	return cmd
}

// describeProtection says an environment's protection in words:
// "protected (the default of a preview environment); a password is set".
func describeProtection(p client.Protection, preview bool) string {
	s := p.Mode
	if p.IsDefault {
		kind := "an environment that is not a preview"
		if preview {
			kind = "a preview environment"
		}
		s += " (the default of " + kind + ")"
	}
	switch {
	case p.HasPassword:
		s += "; a password is set"
	case p.Mode == "protected":
		s += "; no password: only share links open it (liftoff previews share)"
	}
	return s
}

// readPassword reads a password from stdin: all of it, without the
// newline that ends it. The server checks its length.
func readPassword(stdin io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	if err != nil {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if pw == "" {
		return "", errors.New("stdin is empty: pipe the password in (printf %s \"$PASSWORD\" | liftoff envs protection ... --password-stdin)")
	}
	return pw, nil
}

// envListItem is one line of envs list --json.
type envListItem struct {
	ProjectID   string `json:"projectId"`
	ProjectName string `json:"projectName"`
	client.EnvironmentSummary
}

// deploys says what deploys an environment: a branch, or pull requests.
func deploys(e client.EnvironmentSummary) string {
	if e.IsPreviewEnvironment {
		return "pull requests"
	}
	return "branch " + orDash(e.Branch)
}

func parseID(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not an environment id: use the positive integer shown by liftoff projects get", s)
	}
	return n, nil
}

// serviceState is the STATE cell of a service: its release's state with
// its restarts ("running", "crashed, 10 restarts"), each pull request's in
// a preview environment ("pr-3 running; pr-7 restarting, 1 restart"), or
// "-" when it never ran.
func serviceState(s client.Service) string {
	one := func(state string, restarts int) string {
		switch restarts {
		case 0:
			return state
		case 1:
			return state + ", 1 restart"
		}
		return fmt.Sprintf("%s, %d restarts", state, restarts)
	}
	if len(s.Previews) > 0 {
		parts := make([]string, len(s.Previews))
		for i, p := range s.Previews {
			parts[i] = fmt.Sprintf("pr-%d %s", p.PRNumber, one(p.State, p.RestartCount))
		}
		return strings.Join(parts, "; ")
	}
	if s.State == "" {
		return "-"
	}
	return one(s.State, s.RestartCount)
}
