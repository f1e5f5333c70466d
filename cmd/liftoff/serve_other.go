//go:build !linux

package main

import (
	"errors"
	"runtime"

	"github.com/spf13/cobra"
)

// newServe on a system other than Linux only says where serve runs: builds
// and releases need Linux process groups, /proc and bubblewrap. The client
// commands work here against a server on Linux.
func newServe() *cobra.Command {
	return &cobra.Command{
		Use:                "serve",
		Short:              "Run Liftoff (Linux only; on " + runtime.GOOS + " use the client commands against a Linux server)",
		Args:               cobra.ArbitraryArgs,
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New(`liftoff serve runs on Linux only (builds and releases use Linux process groups and bubblewrap): ` +
				`run it on a Linux machine and point this client at it with --server or LIFTOFF_SERVER`)
		},
	}
}
