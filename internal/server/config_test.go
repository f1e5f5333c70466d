package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/sandbox"
)

func TestValidateSandbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{name: "default", mod: func(*Config) {}},
		{name: "none", mod: func(c *Config) { c.Sandbox = "none" }},
		{name: "binds", mod: func(c *Config) { c.SandboxBinds = []string{"/opt/tools", "/nix"} }},
		{name: "unknown mode", mod: func(c *Config) { c.Sandbox = "docker" }, wantErr: `--sandbox: "docker" is not a sandbox mode: use auto, bwrap or none`},
		{name: "relative bind", mod: func(c *Config) { c.SandboxBinds = []string{"tools"} }, wantErr: `--sandbox-bind "tools": use an absolute path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Config{}.WithDefaults()
			tt.mod(&c)
			err := c.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("Validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if got := (Config{}).WithDefaults().Sandbox; got != "auto" {
		t.Errorf("default Sandbox = %q, want auto", got)
	}
}

// TestNewSandboxWarns: without a sandbox, the start says so, loudly.
func TestNewSandboxWarns(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	sb, err := newSandbox(t.Context(), Config{Sandbox: "none"}, t.TempDir(), log)
	if err != nil || sb.Mode() != sandbox.None {
		t.Fatalf("newSandbox = %v, %v", sb, err)
	}
	if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "--sandbox none") || !strings.Contains(got, "without isolation") {
		t.Errorf("log = %q, want a warning that builds run without isolation", got)
	}
}

func TestValidateHookSuccessType(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ value, wantErr string }{
		{"string", ""},
		{"boolean", ""},
		{"bool", `--hook-success-type: "bool" is not a hook success type: use string ("success": "true", the default) or boolean ("success": true)`},
	} {
		c := Config{HookSuccessType: tt.value}.WithDefaults()
		err := c.Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
			t.Errorf("%q: Validate = %v, want %q", tt.value, err, tt.wantErr)
		}
	}
	if got := (Config{}).WithDefaults().HookSuccessType; got != "string" {
		t.Errorf("default HookSuccessType = %q, want string", got)
	}
}

// TestValidateRestarts: the restart settings default to the local target's
// and refuse what cannot work, naming the flag.
func TestValidateRestarts(t *testing.T) {
	t.Parallel()
	def := Config{}.WithDefaults()
	if def.RestartBackoff != time.Second || def.RestartBackoffMax != time.Minute || def.MaxRestarts != 10 {
		t.Errorf("defaults = %s, %s, %d; want 1s, 1m, 10", def.RestartBackoff, def.RestartBackoffMax, def.MaxRestarts)
	}
	for _, tt := range []struct {
		c       Config
		wantErr string
	}{
		{Config{RestartBackoff: 50 * time.Millisecond, RestartBackoffMax: 100 * time.Millisecond, MaxRestarts: 2}, ""},
		{Config{RestartBackoff: -time.Second}, "--restart-backoff -1s and --restart-backoff-max 1m0s must be positive, e.g. 1s and 1m"},
		{Config{RestartBackoff: 2 * time.Minute}, "--restart-backoff 2m0s is above --restart-backoff-max 1m0s"},
		{Config{MaxRestarts: -3}, "--max-restarts -3 must be positive, e.g. 10"},
	} {
		err := tt.c.WithDefaults().Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
			t.Errorf("%+v: Validate = %v, want %q", tt.c, err, tt.wantErr)
		}
	}
}

// TestValidateRole: --role defaults to all; an api replica runs no
// workers, a worker some; another role is refused, naming the flag.
func TestValidateRole(t *testing.T) {
	t.Parallel()
	if def := (Config{}).WithDefaults(); def.Role != RoleAll || def.Workers != 2 {
		t.Errorf("defaults = role %q with %d workers, want all with 2", def.Role, def.Workers)
	}
	if api := (Config{Role: RoleAPI}).WithDefaults(); api.Workers != -1 || api.Validate() != nil {
		t.Errorf("--role api = %d workers (%v), want -1", api.Workers, api.Validate())
	}
	for _, tt := range []struct {
		c       Config
		wantErr string
	}{
		{Config{Role: RoleWorker}, ""},
		{Config{Role: RoleAPI, Workers: 2}, "--role api runs no deployments: drop --workers 2 (or use --role all)"},
		{Config{Role: RoleWorker, Workers: -1}, "--role worker runs deployments: --workers must be positive (got -1)"},
		{Config{Role: "scheduler"}, `--role "scheduler": give all (the default), api or worker`},
		{Config{Role: RoleWorker, Demo: true}, "--demo sets its project up through the API, which --role worker does not serve: use --role all"},
	} {
		err := tt.c.WithDefaults().Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
			t.Errorf("%+v: Validate = %v, want %q", tt.c, err, tt.wantErr)
		}
	}
}
