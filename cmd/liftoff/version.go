package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildVersion is what the binary knows of its own build.
type buildVersion struct {
	// Version is the module version: v1.2.3 when installed with go
	// install ...@v1.2.3, "(devel)" when built from a checkout.
	Version string `json:"version"`
	// Revision is the commit built from, "" when the build did not stamp it.
	Revision string `json:"revision"`
	// Modified: the checkout had uncommitted changes.
	Modified  bool   `json:"modified"`
	GoVersion string `json:"goVersion"`
}

func readVersion() buildVersion {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return buildVersion{Version: "unknown"}
	}
	v := buildVersion{Version: info.Main.Version, GoVersion: info.GoVersion}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	return v
}

// String is the line version prints: liftoff v1.2.3 (commit 0123456789ab, modified) go1.26.0.
func (v buildVersion) String() string {
	commit := "commit unknown"
	if v.Revision != "" {
		commit = "commit " + v.Revision[:min(len(v.Revision), 12)]
	}
	if v.Modified {
		commit += ", modified"
	}
	return fmt.Sprintf("liftoff %s (%s) %s", v.Version, commit, v.GoVersion)
}

func newVersion(g *globals) *cobra.Command {
	return g.jsonFlag(&cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readVersion()
			if g.json {
				return printJSON(cmd.OutOrStdout(), v)
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), v)
			return err
		},
	})
}
