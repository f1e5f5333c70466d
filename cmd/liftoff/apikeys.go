package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lucsky/cuid"
	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

func newAPIKeys(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "apikeys", Short: "Manage API keys"}

	var name, scope string
	var envs []int64
	var dataDir, databaseURL string
	create := &cobra.Command{
		Use:   "create --name NAME [--scope admin|deploy|read] [--env ID ...]",
		Short: "Create an API key directly in the store (works before any key exists)",
		Long: `Create an API key by writing to the store directly, so the first key can be
made before the server has any. Point it at the same --data-dir or --database-url
as liftoff serve. The key is printed once and stored only as a hash.

A key's scope says what it may do, and never changes:
  admin   everything (the default)
  deploy  the hooks, deployments and previews of the environments named with
          --env (repeat it; a preview environment's id covers all its previews),
          and reading those environments: the key to give CI
  read    every read of the API, no change

--json prints {"id", "name", "scope", "environmentIds", "key", "createdAt"}.`,
		Example: `  liftoff apikeys create --name admin
  liftoff apikeys create --name CI --scope deploy --env 3 --env 4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(cmd.Context(), dataDir, databaseURL)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			k, key, err := apikey.NewService(st, cuid.New).Create(cmd.Context(),
				apikey.CreateParams{Name: name, Scope: apikey.Scope(scope), EnvironmentIDs: envs})
			switch {
			case errors.Is(err, apikey.ErrBadName):
				return fmt.Errorf("--name: %w", err)
			case errors.Is(err, apikey.ErrBadScope):
				return fmt.Errorf("--scope %s: %w", scope, err)
			case err != nil:
				return err
			}
			if g.json {
				out := apiKeyJSON(k)
				out.Key = key
				return printJSON(cmd.OutOrStdout(), out)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Created API key %q (%s), scope %s%s. It is shown only now:\n\n%s\n",
				k.Name, k.ID, k.Scope, onEnvironments(k.EnvironmentIDs), key)
			return err
		},
	}
	create.Flags().StringVar(&name, "name", "", "a name that says who uses the key")
	_ = create.MarkFlagRequired("name")
	create.Flags().StringVar(&scope, "scope", string(apikey.Admin), "what the key may do: admin, deploy or read")
	create.Flags().Int64SliceVar(&envs, "env", nil, "an environment id a deploy key acts on (repeat for several)")
	create.Flags().StringVar(&dataDir, "data-dir", "./liftoff-data", "data directory of the server (SQLite)")
	create.Flags().StringVar(&databaseURL, "database-url", "", "database of the server, when not SQLite in the data dir")

	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys with their scopes",
		Long: `List the live API keys with their scope and, for deploy keys, the environments
they act on. --json prints [{"id", "name", "scope", "environmentIds", "createdAt"}].`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			keys, err := c.APIKeys(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), keys)
			}
			rows := [][]string{}
			for _, k := range keys {
				envs := "all"
				if k.Scope == string(apikey.Deploy) {
					envs = orNone(envIDs(k.EnvironmentIDs))
				}
				rows = append(rows, []string{k.ID, k.Name, k.Scope, envs, k.CreatedAt})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "NAME", "SCOPE", "ENVIRONMENTS", "CREATED"}, rows)
		},
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Revoke an API key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			if err := c.DeleteAPIKey(cmd.Context(), args[0]); err != nil {
				return err
			}
			return done(cmd, g, "Revoked API key "+args[0])
		},
	}
	cmd.AddCommand(g.jsonFlag(create), g.clientFlags(list), g.clientFlags(del))
	return cmd
}

// apiKeyJSON renders a key as the API does.
func apiKeyJSON(k liftoff.APIKey) client.APIKey {
	envs := append([]int64{}, k.EnvironmentIDs...)
	return client.APIKey{ID: k.ID, Name: k.Name, Scope: k.Scope, EnvironmentIDs: envs, CreatedAt: client.FormatTime(k.CreatedAt)}
}

// envIDs lists ids as "3,4".
func envIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// onEnvironments says which environments a deploy key acts on.
func onEnvironments(ids []int64) string {
	if len(ids) == 0 {
		return ""
	}
	return " on environments " + strings.ReplaceAll(envIDs(ids), ",", ", ")
}

// done reports a command that has no other output.
func done(cmd *cobra.Command, g *globals, msg string) error {
	if g.json {
		return printJSON(cmd.OutOrStdout(), map[string]bool{"ok": true})
	}
	_, err := fmt.Fprintln(cmd.OutOrStdout(), msg)
	return err
}
