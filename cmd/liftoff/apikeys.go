package main

import (
	"fmt"

	"github.com/lucsky/cuid"
	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/server"
)

func newAPIKeys(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "apikeys", Short: "Manage API keys"}

	var name string
	var cfg server.Config
	create := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create an API key directly in the store (works before any key exists)",
		Long: `Create an API key by writing to the store directly, so the first key can be
made before the server has any. Point it at the same --data-dir or --database-url
as liftoff serve. The key is printed once and stored only as a hash.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg = cfg.WithDefaults()
			st, err := server.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			k, key, err := apikey.NewService(st, cuid.New).Create(cmd.Context(), name)
			if err != nil {
				return fmt.Errorf("--name: %w", err)
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]string{"id": k.ID, "name": k.Name, "key": key})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Created API key %q (%s). It is shown only now:\n\n%s\n", k.Name, k.ID, key)
			return err
		},
	}
	create.Flags().StringVar(&name, "name", "", "a name that says who uses the key")
	_ = create.MarkFlagRequired("name")
	create.Flags().StringVar(&cfg.DataDir, "data-dir", "./liftoff-data", "data directory of the server (SQLite)")
	create.Flags().StringVar(&cfg.DatabaseURL, "database-url", "", "database of the server, when not SQLite in the data dir")

	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys",
		Args:  cobra.NoArgs,
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
				rows = append(rows, []string{k.ID, k.Name, k.CreatedAt})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "NAME", "CREATED"}, rows)
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
	cmd.AddCommand(create, list, del)
	return cmd
}

// done reports a command that has no other output.
func done(cmd *cobra.Command, g *globals, msg string) error {
	if g.json {
		return printJSON(cmd.OutOrStdout(), map[string]bool{"ok": true})
	}
	_, err := fmt.Fprintln(cmd.OutOrStdout(), msg)
	return err
}
