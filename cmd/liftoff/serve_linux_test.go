package main

import (
	"testing"

	"github.com/liftoffhq/liftoff/internal/server"
)

// TestServeFlagDefaults: serve --help shows the defaults the server uses
// (--shutdown-timeout used to show 0s while the server took 30s).
func TestServeFlagDefaults(t *testing.T) {
	def := server.Config{}.WithDefaults()
	serve := find(t, "serve")
	for flag, want := range map[string]string{
		"addr":                         def.Addr,
		"proxy-addr":                   def.ProxyAddr,
		"hook-rate-limit":              "60",
		"failed-call-limit":            "20",
		"hook-success-type":            def.HookSuccessType,
		"shutdown-timeout":             "30s",
		"workers":                      "2",
		"data-dir":                     def.DataDir,
		"sandbox":                      def.Sandbox,
		"database-timeout":             def.DatabaseTimeout.String(),
		"max-previews-per-environment": "20",
		"max-deployment-log-bytes":     "10MiB",
	} {
		if got := serve.Flags().Lookup(flag).DefValue; got != want {
			t.Errorf("--%s defaults to %q, the server to %q", flag, got, want)
		}
	}
}
