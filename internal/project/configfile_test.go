package project

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

const validConfig = `{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"},
  "services": [{"id": "api", "name": "API", "type": "web", "buildCommand": "true", "startCommand": "./api"}]}]}`

func TestReadConfigAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		files      map[string]string
		configPath string
		wantPath   string // the file found; "" when an error is wanted
		wantErr    string // "notfound", "read" or "invalid"
	}{
		{name: "default path", files: map[string]string{config.DefaultPath: validConfig}, wantPath: config.DefaultPath},
		{name: "fallback path", files: map[string]string{config.FallbackPath: validConfig}, wantPath: config.FallbackPath},
		{name: "default before fallback", files: map[string]string{config.DefaultPath: validConfig, config.FallbackPath: "{"},
			wantPath: config.DefaultPath},
		{name: "chosen path", files: map[string]string{"deploy/shop.json": validConfig, config.DefaultPath: "{"},
			configPath: "deploy/shop.json", wantPath: "deploy/shop.json"},
		{name: "chosen path has no fallback", files: map[string]string{config.FallbackPath: validConfig},
			configPath: config.DefaultPath, wantErr: "notfound"},
		{name: "neither", files: map[string]string{"README.md": "hi"}, wantErr: "notfound"},
		{name: "a directory is not a file", files: map[string]string{"liftoff.json/x": "hi"}, wantErr: "notfound"},
		{name: "invalid JSON", files: map[string]string{config.DefaultPath: "{"}, wantErr: "invalid"},
		{name: "invalid config", files: map[string]string{config.DefaultPath: `{"environments": []}`}, wantErr: "invalid"},
		{name: "invalid chosen path", files: map[string]string{"a.json": validConfig}, configPath: "../a.json", wantErr: "read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			repo := gittest.New(t)
			commit := repo.Commit("init", tt.files)
			git := gitsource.NewManager(filepath.Join(t.TempDir(), "mirrors"), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
			mirror, err := git.Mirror(ctx, "p1", gitsource.Remote{URL: repo.Dir})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadConfigAt(ctx, mirror, commit, tt.configPath, config.Parse)
			var readErr *ConfigReadError
			var invalidErr *ConfigInvalidError
			switch tt.wantErr {
			case "":
				if err != nil || got.Path != tt.wantPath || got.File == nil || string(got.Data) != tt.files[tt.wantPath] {
					t.Fatalf("ReadConfigAt() = %q, %v; want %s", got.Path, err, tt.wantPath)
				}
			case "notfound":
				if !errors.Is(err, ErrConfigNotFound) {
					t.Fatalf("ReadConfigAt() error = %v; want ErrConfigNotFound", err)
				}
			case "read":
				if !errors.As(err, &readErr) || readErr.Path != tt.configPath {
					t.Fatalf("ReadConfigAt() error = %v; want a ConfigReadError", err)
				}
			case "invalid":
				if !errors.As(err, &invalidErr) || invalidErr.Path != config.DefaultPath || len(invalidErr.Errors()) == 0 {
					t.Fatalf("ReadConfigAt() error = %v; want a ConfigInvalidError", err)
				}
			}
		})
	}
}

func TestConfigInvalidErrorLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want string // a line of Errors()
	}{
		{"not JSON lists the syntax error", "{", "JSON"},
		{"schema errors, without the warnings", `{"environments": [], "nonsense": 1}`, "environments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseConfig("x.json", []byte(tt.data), config.Parse)
			var invalidErr *ConfigInvalidError
			if !errors.As(err, &invalidErr) {
				t.Fatalf("ParseConfig() error = %v; want a ConfigInvalidError", err)
			}
			lines := invalidErr.Errors()
			if !strings.Contains(strings.Join(lines, "\n"), tt.want) {
				t.Errorf("Errors() = %q; want a line with %q", lines, tt.want)
			}
			for _, l := range lines {
				if strings.Contains(l, "nonsense") {
					t.Errorf("Errors() has the warning %q", l)
				}
			}
		})
	}
}

func TestConfigSearchPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, stored, want string }{
		{"default keeps its fallback", config.DefaultPath, ""},
		{"fallback keeps the default first", config.FallbackPath, ""},
		{"chosen stays chosen", "deploy/shop.json", "deploy/shop.json"},
		{"none", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ConfigSearchPath(tc.stored); got != tc.want {
				t.Errorf("ConfigSearchPath(%q) = %q; want %q", tc.stored, got, tc.want)
			}
		})
	}
}
