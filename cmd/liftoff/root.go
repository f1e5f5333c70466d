package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/liftoffhq/liftoff/client"
)

// globals are the flags the client commands share. Each command declares
// the ones it uses (clientFlags, jsonFlag, hookSecretFlag), so that
// `serve --help` lists only what serve reads.
type globals struct {
	server     string
	apiKey     string
	hookSecret string
	json       bool
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "liftoff",
		Short:         "Self-hosted deployments with Flightcontrol-compatible deploy hooks",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return bindEnv(cmd)
		},
	}
	root.Version = readVersion().String()
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newVersion(g), newServe(), newDeploy(g), newAPIKeys(g), newUsers(g), newProjects(g), newEnvs(g), newEnv(g), newSecrets(g), newHooks(g), newNotifications(g), newPreviews(g), newResources(g), newDeployments(g), newJobs(g), newLogs(g), newConfig(g),
		newMigrate(g), newBackup(g), newHealthcheck(), newServeStatic())
	return root
}

// clientFlags gives cmd and its subcommands the flags of a command that
// talks to a running server: --server, --api-key and --json.
func (g *globals) clientFlags(cmd *cobra.Command) *cobra.Command {
	pf := cmd.PersistentFlags()
	pf.StringVar(&g.server, "server", defaultServer, "Liftoff server URL (env LIFTOFF_SERVER)")
	pf.StringVar(&g.apiKey, "api-key", "", "API key (env LIFTOFF_API_KEY)")
	g.jsonFlag(cmd)
	return cmd
}

// jsonFlag gives cmd and its subcommands --json.
func (g *globals) jsonFlag(cmd *cobra.Command) *cobra.Command {
	cmd.PersistentFlags().BoolVar(&g.json, "json", false, "print JSON (docs/cli.md shows each command's shape)")
	return cmd
}

// hookSecretFlag gives a command that reads deployments --hook-secret.
func (g *globals) hookSecretFlag(cmd *cobra.Command) *cobra.Command {
	cmd.Flags().StringVar(&g.hookSecret, "hook-secret", "",
		"a deploy hook's secret, to read the deployments it started without an API key (env LIFTOFF_HOOK_SECRET)")
	return cmd
}

// defaultServer is where the client commands look for a server.
const defaultServer = "http://127.0.0.1:8080"

// bindEnv sets every flag the command line left alone from its environment
// variable: --data-dir from LIFTOFF_DATA_DIR, and so on.
func bindEnv(cmd *cobra.Command) error {
	var err error
	set := func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "LIFTOFF_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
				return
			}
			// Given, as on the command line: a required flag is satisfied
			// (LIFTOFF_REPO keeps a token out of the process list).
			f.Changed = true
		}
	}
	cmd.Flags().VisitAll(set)
	cmd.InheritedFlags().VisitAll(set)
	return err
}

func (g *globals) client() *client.Client {
	return client.New(g.server, g.apiKey)
}

// apiClient is the client of a command that needs an API key; without one it
// says how to get one.
func (g *globals) apiClient() (*client.Client, error) {
	if err := g.needKey(); err != nil {
		return nil, err
	}
	return g.client(), nil
}

// readClient authenticates with the API key, or with a hook secret
// (LIFTOFF_HOOK_SECRET) that may read the deployments its hook started.
func (g *globals) readClient() (*client.Client, error) {
	if g.apiKey == "" && g.hookSecret != "" {
		return g.client().WithHookSecret(g.hookSecret), nil
	}
	return g.apiClient()
}

// needKey refuses to call the API without a key, saying how to get one.
func (g *globals) needKey() error {
	if g.apiKey == "" {
		return fmt.Errorf("no API key: pass --api-key or set LIFTOFF_API_KEY (create one with: liftoff apikeys create --name NAME)")
	}
	return nil
}
