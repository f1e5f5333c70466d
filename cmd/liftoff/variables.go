package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// varScope is how the env and secrets commands name where they act:
// --project alone (the project's own), --env (an environment), and for
// variables --service with --env (a service of it, by its id in the
// config file).
type varScope struct {
	env     envRef
	service string
}

func (s *varScope) flags(cmd *cobra.Command, services bool) {
	cmd.Flags().StringVar(&s.env.project, "project", "", "the project, by name or id; alone, the project's own (every environment's)")
	cmd.Flags().StringVar(&s.env.env, "env", "", "the environment: its id (3), or its id in the config file (production) with --project")
	if services {
		cmd.Flags().StringVar(&s.service, "service", "", "a service of --env, by its id in the config file (web)")
	}
}

// resolve finds the scope's ids and says it in words ("shop/production").
func (s varScope) resolve(ctx context.Context, c *client.Client) (client.VariablesScope, envTarget, string, error) {
	if s.env.env == "" {
		if s.service != "" {
			return client.VariablesScope{}, envTarget{}, "", errors.New("--service needs --env: name the service's environment")
		}
		if s.env.project == "" {
			return client.VariablesScope{}, envTarget{}, "", errors.New("say where: --project P (the project's own), --project P --env E, or --project P --env E --service S")
		}
		projects, err := c.Projects(ctx)
		if err != nil {
			return client.VariablesScope{}, envTarget{}, "", err
		}
		p, err := findProject(projects, s.env.project)
		if err != nil {
			return client.VariablesScope{}, envTarget{}, "", err
		}
		return client.VariablesScope{ProjectID: p.ProjectID}, envTarget{}, "project " + p.Name, nil
	}
	t, err := s.env.resolve(ctx, c)
	if err != nil {
		return client.VariablesScope{}, envTarget{}, "", err
	}
	if s.service == "" {
		return client.VariablesScope{EnvironmentID: t.EnvironmentID}, t, t.String(), nil
	}
	e, err := c.Environment(ctx, t.EnvironmentID)
	if err != nil {
		return client.VariablesScope{}, envTarget{}, "", err
	}
	var ids []string
	for _, svc := range e.Services {
		if svc.ServiceGivenID == s.service && svc.ServiceID != "" {
			return client.VariablesScope{ServiceID: svc.ServiceID}, t, fmt.Sprintf("service %s of %s", s.service, t), nil
		}
		ids = append(ids, svc.ServiceGivenID)
	}
	return client.VariablesScope{}, envTarget{}, "", fmt.Errorf("%s has no service %q Liftoff runs; its services are %s", t, s.service, strings.Join(ids, ", "))
}

// scoped is the API client and the scope an env or secrets command acts on.
type scoped struct {
	c     *client.Client
	vs    client.VariablesScope
	env   envTarget
	where string // the scope in words
}

// scopeClient is the API client and the scope s names.
func (g *globals) scopeClient(ctx context.Context, s varScope) (scoped, error) {
	c, err := g.apiClient()
	if err != nil {
		return scoped{}, err
	}
	vs, env, where, err := s.resolve(ctx, c)
	return scoped{c: c, vs: vs, env: env, where: where}, err
}

func newEnv(g *globals) *cobra.Command {
	cmd := g.clientFlags(&cobra.Command{Use: "env", Short: "Set, unset and list environment variables of a project, an environment or a service"})
	var scope varScope
	var secret, deploy bool
	set := &cobra.Command{
		Use:   "set [--project P] [--env E [--service S]] [--secret] [--deploy] NAME=VALUE ... | --secret NAME",
		Short: "Set variables; with --secret, kept encrypted and never shown again",
		Long: `Set variables where --project, --env and --service say: the project's own
(every environment's), an environment's, or one service's. The narrower wins,
and the config file's envVariables win over all of them.

With --secret the values are secrets: encrypted at rest, listed masked, and
scrubbed from every log. Give one NAME without a value to read the value from
standard input, so it stays out of your shell's history.

A variable takes effect at the next deployment that builds the service, and a
deployment counts a changed variable as a change of the services that read it.
--deploy starts that deployment (of --env) at once.`,
		Example: `  liftoff env set --project shop --env production LOG_LEVEL=info FEATURE_X=on
  printf %s "$STRIPE_KEY" | liftoff env set --project shop --env production --secret STRIPE_KEY --deploy
  liftoff env set --project shop --env production --service web WORKERS=4`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			values, err := parseAssignments(args, secret, cmd.InOrStdin())
			if err != nil {
				return err
			}
			sc, err := g.scopeClient(cmd.Context(), scope)
			if err != nil {
				return err
			}
			if deploy && sc.vs.ProjectID != "" {
				return errors.New("--deploy needs --env: a project's variables reach each environment at its next deployment")
			}
			body := client.EnvVariables{PlainText: values}
			if secret {
				body = client.EnvVariables{SecretsManager: values}
			}
			saved, err := sc.c.SetEnvVariables(cmd.Context(), sc.vs, body)
			if err != nil {
				return err
			}
			return afterChange(cmd, g, sc, deploy, fmt.Sprintf("Set %d variable(s) of %s.", saved.SavedCount, sc.where))
		},
	}
	scope.flags(set, true)
	set.Flags().BoolVar(&secret, "secret", false, "keep the values as secrets (encrypted, masked, scrubbed); NAME alone reads the value from stdin")
	set.Flags().BoolVar(&deploy, "deploy", false, "start a deployment of --env once set")

	unset := &cobra.Command{
		Use:   "unset [--project P] [--env E [--service S]] [--deploy] NAME ...",
		Short: "Remove variables",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := g.scopeClient(cmd.Context(), scope)
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := sc.c.DeleteEnvVariable(cmd.Context(), sc.vs, name); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			return afterChange(cmd, g, sc, deploy, fmt.Sprintf("Removed %d variable(s) of %s.", len(args), sc.where))
		},
	}
	scope.flags(unset, true)
	unset.Flags().BoolVar(&deploy, "deploy", false, "start a deployment of --env once removed")

	list := &cobra.Command{
		Use:   "list [--project P] [--env E [--service S]]",
		Short: "List the variables set at one level; secrets masked",
		Long: `List the variables set through the API or the CLI at one level (not those it
inherits, nor the config file's). Secret values are shown as ********.
--json prints [{"name", "scope", "type", "value", "updatedAt"}].`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := g.scopeClient(cmd.Context(), scope)
			if err != nil {
				return err
			}
			vars, err := sc.c.EnvVariables(cmd.Context(), sc.vs)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), vars)
			}
			rows := [][]string{}
			for _, v := range vars {
				rows = append(rows, []string{v.Name, v.Type, v.Value, v.UpdatedAt})
			}
			return table(cmd.OutOrStdout(), []string{"NAME", "TYPE", "VALUE", "UPDATED"}, rows)
		},
	}
	scope.flags(list, true)
	cmd.AddCommand(set, unset, list)
	return cmd
}

// afterChange prints msg and, with deploy, starts a deployment of the
// scope's environment.
func afterChange(cmd *cobra.Command, g *globals, sc scoped, deploy bool, msg string) error {
	if !deploy {
		if g.json {
			return printJSON(cmd.OutOrStdout(), map[string]bool{"ok": true})
		}
		_, err := fmt.Fprintln(cmd.OutOrStdout(), msg+" It takes effect at the next deployment (--deploy starts one).")
		return err
	}
	d, err := sc.c.StartDeployment(cmd.Context(), sc.env.EnvironmentID, false, "", "")
	if err != nil {
		return fmt.Errorf("%s but the deployment did not start: %w", msg, err)
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), d)
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\nDeployment %s of %s (%s).\nFollow it with: liftoff deployments watch %s\n",
		msg, d.DeploymentID, sc.env, d.Outcome, d.DeploymentID)
	return err
}

// parseAssignments reads NAME=VALUE arguments; with secret, one NAME
// alone reads its value from stdin (a trailing newline dropped).
func parseAssignments(args []string, secret bool, stdin io.Reader) (map[string]string, error) {
	values := map[string]string{}
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			if !secret || len(args) != 1 {
				return nil, fmt.Errorf("%q has no value: write NAME=VALUE, or give one NAME with --secret to read its value from stdin", a)
			}
			v, err := readValue(stdin)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			value = v
		}
		if _, dup := values[name]; dup {
			return nil, fmt.Errorf("%s is given twice", name)
		}
		values[name] = value
	}
	return values, nil
}

// readValue reads a secret's value from stdin: all of it, without the
// newline that ends it.
func readValue(stdin io.Reader) (string, error) {
	b, err := io.ReadAll(bufio.NewReader(io.LimitReader(stdin, variables.MaxValue+2)))
	if err != nil {
		return "", fmt.Errorf("read the value from stdin: %w", err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return "", errors.New("stdin is empty: pipe the value in (printf %s \"$VALUE\" | liftoff ...)")
	}
	return v, nil
}

func newSecrets(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "secrets", Short: "Named secrets that config files read (fromParameterStore, fromSecretsManager), and the secret key"}
	var scope varScope
	set := &cobra.Command{
		Use:   "set --project P [--env E] NAME",
		Short: "Set a named secret; the value is read from stdin",
		Long: `Set the secret that a config file's {"fromParameterStore": NAME} or
{"fromSecretsManager": NAME} reads, or that a {"fromService": {"id": S,
"value": V}} of a service Liftoff does not run reads as S.V (a database's
dbConnectionString, say). An environment's secret wins over its project's.
The value is read from stdin and never shown again.`,
		Example: `  printf %s "$ALGOLIA_KEY" | liftoff secrets set --project shop ALGOLIA_API_ADMIN_KEY
  printf %s "postgres://..." | liftoff secrets set --project shop --env production db.dbConnectionString`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := readValue(cmd.InOrStdin())
			if err != nil {
				return err
			}
			sc, err := g.scopeClient(cmd.Context(), scope)
			if err != nil {
				return err
			}
			if err := sc.c.SetSecret(cmd.Context(), sc.vs, args[0], value); err != nil {
				return err
			}
			return done(cmd, g, fmt.Sprintf("Set secret %s of %s. It takes effect at the next deployment.", args[0], sc.where))
		},
	}
	scope.flags(set, false)
	unset := &cobra.Command{
		Use:   "unset --project P [--env E] NAME",
		Short: "Remove a named secret",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := g.scopeClient(cmd.Context(), scope)
			if err != nil {
				return err
			}
			if err := sc.c.DeleteSecret(cmd.Context(), sc.vs, args[0]); err != nil {
				return err
			}
			return done(cmd, g, fmt.Sprintf("Removed secret %s of %s.", args[0], sc.where))
		},
	}
	scope.flags(unset, false)
	list := &cobra.Command{
		Use:   "list --project P [--env E]",
		Short: "List named secrets (names only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := g.scopeClient(cmd.Context(), scope)
			if err != nil {
				return err
			}
			secrets, err := sc.c.Secrets(cmd.Context(), sc.vs)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), secrets)
			}
			rows := [][]string{}
			for _, s := range secrets {
				rows = append(rows, []string{s.Name, s.UpdatedAt})
			}
			return table(cmd.OutOrStdout(), []string{"NAME", "UPDATED"}, rows)
		},
	}
	scope.flags(list, false)

	var dataDir, databaseURL, keyFile string
	rotate := &cobra.Command{
		Use:   "rotate-key [--data-dir D] [--database-url U] [--secret-key-file F]",
		Short: "Encrypt every secret with a new key and retire the old one",
		Long: `Put a new key first in the secret key file, encrypt every secret variable,
named secret, repository credential and stored TLS certificate and key again
with it, then remove the old key from the file. Point it at
the same --data-dir, --database-url and --secret-key-file as liftoff serve.
Servers may keep running: they read the key file again when it changes. If it
stops half way, every value still opens with the keys left in the file; run it
again to finish. Back the new key file up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(cmd.Context(), dataDir, databaseURL)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			path := secretKeyFile(dataDir, keyFile)
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("no secret key file at %s: point --secret-key-file or --data-dir at the server's (%w)", path, err)
			}
			keys, err := secretbox.Load(path)
			if err != nil {
				return err
			}
			id, n, err := variables.New(st, keys).RotateKey(cmd.Context())
			if err != nil {
				return fmt.Errorf("rotate the secret key (sealed again so far: %d): %w", n, err)
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"keyId": id, "resealed": n, "keyFile": path})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Rotated the secret key of %s: key %s now encrypts all %d secret value(s); the old key is gone. Back the file up.\n",
				path, id, n)
			return err
		},
	}
	rotate.Flags().StringVar(&dataDir, "data-dir", "./liftoff-data", "data directory of the server")
	rotate.Flags().StringVar(&databaseURL, "database-url", "", "database of the server, when not SQLite in the data dir")
	rotate.Flags().StringVar(&keyFile, "secret-key-file", "", "the server's secret key file (default <data-dir>/secret.key)")
	cmd.AddCommand(g.clientFlags(set), g.clientFlags(unset), g.clientFlags(list), g.jsonFlag(rotate))
	return cmd
}
