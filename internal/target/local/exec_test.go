package local

import (
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/config"
)

// An exec-form startCommand runs its program with its arguments as given,
// no shell reading them, sandboxed or not: env gets BODY with the '$' and
// ';' a shell would have expanded and split, and runs the server, which
// answers with it. The log shows the argv as a shell would need it.
func TestExecFormStartCommand(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		harness func(t *testing.T) *harness
	}{
		{"unsandboxed", func(t *testing.T) *harness { return newHarness(t, nil) }},
		{"bwrap", func(t *testing.T) *harness { h, _, _ := sandboxHarness(t); return h }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.harness(t)
			rel := serverRelease(t, production, "api", "v1")
			const body = "$HOME;echo not-a-shell"
			rel.Service.StartCommand = config.Exec("env", "BODY="+body, serverBin)
			h.deploy(rel)
			h.expectBody("api.production.localhost", body)
			if out := rel.Log.(*lockedBuffer).String(); !strings.Contains(out, "env 'BODY=$HOME;echo not-a-shell' ") {
				t.Errorf("the log does not show the argv quoted:\n%s", out)
			}
		})
	}
}
