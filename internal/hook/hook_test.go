package hook

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/lucsky/cuid"
)

// TestNewServiceValidates: what an operator sets has its default in
// server.Config, so a service given none of it refuses to start, naming the
// field, instead of filling a second default.
func TestNewServiceValidates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tune func(*Config)
		want string // "" for no error
	}{
		{name: "what liftoff serve passes", tune: func(*Config) {}},
		{name: "the package's own tunables may stay zero", tune: func(c *Config) { c.IdempotencyWindow, c.KeepCalls, c.TargetCacheTTL = 0, 0, 0 }},
		{name: "a base path", tune: func(c *Config) { c.PublicURL = "https://deploy.example.com/liftoff" }},
		{name: "no public URL", tune: func(c *Config) { c.PublicURL = "" }, want: "Config.PublicURL"},
		{name: "a public URL with a trailing slash", tune: func(c *Config) { c.PublicURL = "http://127.0.0.1:8080/" }, want: "without a trailing slash"},
		{name: "a public URL without a scheme", tune: func(c *Config) { c.PublicURL = "deploy.example.com" }, want: "http:// or https://"},
		{name: "no hook rate limit", tune: func(c *Config) { c.PerHookPerMinute = 0 }, want: "Config.PerHookPerMinute (0)"},
		{name: "a negative failed-call limit", tune: func(c *Config) { c.FailuresPerMinute = -1 }, want: "Config.FailuresPerMinute (-1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			tc.tune(&cfg)
			s, err := NewService(nil, nil, &deployment.Service{Runner: deployment.NoRunner{}}, cfg, slog.New(slog.DiscardHandler), cuid.New)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("NewService: %v", err)
			case tc.want == "" && s == nil:
				t.Fatal("NewService returned no service")
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("NewService: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
