package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lucsky/cuid"
	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/user"
)

// userJSON is a user as --json prints it.
type userJSON struct {
	ID             string  `json:"id"`
	Email          string  `json:"email"`
	Role           string  `json:"role"`
	EnvironmentIDs []int64 `json:"environmentIds"`
	CreatedAt      string  `json:"createdAt"`
}

func userJSONOf(u liftoff.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Role: u.Role, EnvironmentIDs: append([]int64{}, u.EnvironmentIDs...),
		CreatedAt: client.FormatTime(u.CreatedAt)}
}

// storeFlags gives a command that works on the server's store directly
// its --data-dir and --database-url.
type storeFlags struct{ dataDir, databaseURL string }

func (s *storeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.dataDir, "data-dir", "./liftoff-data", "data directory of the server (SQLite)")
	cmd.Flags().StringVar(&s.databaseURL, "database-url", "", "database of the server, when not SQLite in the data dir")
}

// users opens the store and runs fn on the users domain over it.
func (s *storeFlags) users(ctx context.Context, fn func(*user.Service) error) error {
	st, err := openStore(ctx, s.dataDir, s.databaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	return fn(user.NewService(st, cuid.New, user.Config{}))
}

func newUsers(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Manage the people who sign in to the dashboard",
		Long: `Manage the dashboard's users. These commands write to the server's store directly,
like apikeys create: point them at the same --data-dir or --database-url as
liftoff serve. A user's role has the names and powers of an API key's scope:
  admin   everything (the default)
  deploy  the hooks, deployments and previews of the environments named with
          --env-ids, and reading those environments
  read    every page, no change`}

	var sf storeFlags
	var email, role string
	var envs []int64
	create := &cobra.Command{
		Use:   "create --email EMAIL [--role admin|deploy|read] [--env-ids 3,4]",
		Short: "Create a dashboard user (the password is prompted for, or read from stdin)",
		Long: `Create a user who signs in to the dashboard with an email and a password. On a
terminal the password is asked for twice without being shown; otherwise the
first line of standard input is the password. It is stored only as an argon2id
hash, and must be at least 12 characters.

--json prints {"id", "email", "role", "environmentIds", "createdAt"}.`,
		Example: `  liftoff users create --email ada@example.com
  printf '%s\n' "$PASSWORD" | liftoff users create --email ci@example.com --role deploy --env-ids 3,4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			password, err := readNewPassword(cmd)
			if err != nil {
				return err
			}
			return sf.users(cmd.Context(), func(users *user.Service) error {
				u, err := users.Create(cmd.Context(), user.CreateParams{Email: email, Password: password, Role: apikey.Scope(role), EnvironmentIDs: envs})
				switch {
				case errors.Is(err, user.ErrBadEmail):
					return fmt.Errorf("--email: %w", err)
				case errors.Is(err, apikey.ErrBadScope):
					return fmt.Errorf("--role %s: %w", role, err)
				case err != nil:
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), userJSONOf(u))
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Created user %s (%s), role %s%s. They sign in at the dashboard, at the address of liftoff serve --addr.\n",
					u.Email, u.ID, u.Role, onEnvironments(u.EnvironmentIDs))
				return err
			})
		},
	}
	create.Flags().StringVar(&email, "email", "", "the email the user signs in with")
	_ = create.MarkFlagRequired("email")
	create.Flags().StringVar(&role, "role", string(apikey.Admin), "what the user may do: admin, deploy or read")
	create.Flags().Int64SliceVar(&envs, "env-ids", nil, "the environment ids a deploy user acts on (comma-separated, or repeated)")
	sf.add(create)

	list := &cobra.Command{
		Use:   "list",
		Short: "List the dashboard's users with their roles",
		Long:  `List the users. --json prints [{"id", "email", "role", "environmentIds", "createdAt"}].`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return sf.users(cmd.Context(), func(users *user.Service) error {
				list, err := users.List(cmd.Context())
				if err != nil {
					return err
				}
				if g.json {
					out := []userJSON{}
					for _, u := range list {
						out = append(out, userJSONOf(u))
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				rows := [][]string{}
				for _, u := range list {
					envs := "all"
					if u.Role == string(apikey.Deploy) {
						envs = orNone(envIDs(u.EnvironmentIDs))
					}
					rows = append(rows, []string{u.ID, u.Email, u.Role, envs, client.FormatTime(u.CreatedAt)})
				}
				return table(cmd.OutOrStdout(), []string{"ID", "EMAIL", "ROLE", "ENVIRONMENTS", "CREATED"}, rows)
			})
		},
	}
	sf.add(list)

	del := &cobra.Command{
		Use:   "delete EMAIL|ID",
		Short: "Delete a dashboard user and end their sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sf.users(cmd.Context(), func(users *user.Service) error {
				u, err := users.Delete(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return done(cmd, g, "Deleted user "+u.Email+" and ended their sessions")
			})
		},
	}
	sf.add(del)

	password := &cobra.Command{
		Use:   "set-password EMAIL|ID",
		Short: "Give a dashboard user a new password and end their sessions",
		Long: `Give a user a new password, read as users create reads it, and sign out every
browser they were signed in with.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := readNewPassword(cmd)
			if err != nil {
				return err
			}
			return sf.users(cmd.Context(), func(users *user.Service) error {
				u, err := users.SetPassword(cmd.Context(), args[0], password)
				if err != nil {
					return err
				}
				return done(cmd, g, "Set a new password for "+u.Email+" and ended their sessions")
			})
		},
	}
	sf.add(password)
	cmd.AddCommand(g.jsonFlag(create), g.jsonFlag(list), g.jsonFlag(del), g.jsonFlag(password))
	return cmd
}

// readNewPassword reads a new password: on a terminal, asked for twice
// without echo; otherwise the first line of standard input.
func readNewPassword(cmd *cobra.Command) (string, error) {
	in, out := cmd.InOrStdin(), cmd.ErrOrStderr()
	password, terminal, err := readSecretLine(in, out, "Password: ")
	if err != nil {
		return "", err
	}
	if terminal {
		again, _, err := readSecretLine(in, out, "Password again: ")
		if err != nil {
			return "", err
		}
		if again != password {
			return "", errors.New("the two passwords differ; run the command again")
		}
	}
	return password, nil
}

// readLine reads one line, without its end; an empty input is an error.
func readLine(in io.Reader) (string, error) {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password: type it when asked, or give it on the first line of standard input")
	}
	return line, nil
}
