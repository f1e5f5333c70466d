package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/internal/config"
)

func newConfig(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with liftoff.json"}
	validate := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a liftoff.json (or flightcontrol.json) and print every problem with its JSON path",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := config.DefaultPath
			if len(args) == 1 {
				path = args[0]
			} else if _, err := os.Stat(path); os.IsNotExist(err) {
				path = config.FallbackPath
				if _, err := os.Stat(path); os.IsNotExist(err) {
					dir, _ := os.Getwd()
					return fmt.Errorf("neither %s nor %s is in this folder (%s): run it where your config is, or name the file: liftoff config validate path/to/liftoff.json",
						config.DefaultPath, config.FallbackPath, dir)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("read config: %w", err)
			}
			_, problems, perr := config.Parse(data)
			if g.json {
				if problems == nil {
					problems = []config.Problem{}
				}
				if err := printJSON(cmd.OutOrStdout(), map[string]any{"file": path, "valid": perr == nil, "problems": problems}); err != nil {
					return err
				}
			} else {
				for _, p := range problems {
					_, _ = fmt.Fprintf(cmd.OutOrStdout(), "%s: %s %s\n", path, p.Severity, p.String())
				}
				if perr != nil && len(problems) == 0 {
					_, _ = fmt.Fprintf(cmd.OutOrStdout(), "%s: %v\n", path, perr)
				}
				if perr == nil {
					_, _ = fmt.Fprintf(cmd.OutOrStdout(), "%s is valid\n", path)
				}
			}
			if perr != nil {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.AddCommand(g.jsonFlag(validate))
	return cmd
}
