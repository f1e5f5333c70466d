package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/server"
)

// TestDataDirPermissions checks that a new data dir is private, that the
// SQLite files are readable by their owner only (an existing database made
// 0644 too), and that an existing data dir others can read is warned about,
// with the command that fixes it.
func TestDataDirPermissions(t *testing.T) {
	t.Parallel()
	mode := func(p string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	dbFiles := func(t *testing.T, dir string) {
		t.Helper()
		for _, name := range []string{"liftoff.db", "liftoff.db-wal", "liftoff.db-shm"} {
			if m := mode(filepath.Join(dir, name)); m != 0o600 {
				t.Errorf("%s is %04o, want 0600", name, m)
			}
		}
	}

	t.Run("new data dir", func(t *testing.T) {
		t.Parallel()
		cfg := baseConfig(t, "sqlite")
		cfg.DataDir = filepath.Join(cfg.DataDir, "new")
		srv := start(t, cfg)
		if m := mode(cfg.DataDir); m != 0o700 {
			t.Errorf("the data dir is %04o, want 0700", m)
		}
		dbFiles(t, cfg.DataDir)
		srv.stop()
		if strings.Contains(srv.logs.String(), "level=WARN") {
			t.Errorf("a warning about a private data dir:\n%s", srv.logs)
		}
	})

	t.Run("existing open data dir", func(t *testing.T) {
		t.Parallel()
		cfg := baseConfig(t, "sqlite")
		if err := os.Chmod(cfg.DataDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"liftoff.db", "liftoff.db-wal"} {
			if err := os.WriteFile(filepath.Join(cfg.DataDir, name), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		srv := start(t, cfg)
		dbFiles(t, cfg.DataDir)
		srv.stop()
		logs := srv.logs.String()
		if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "mode=0755") ||
			!strings.Contains(logs, `fix="chmod 700 `+cfg.DataDir+`"`) {
			t.Errorf("no warning saying how to make the data dir private:\n%s", logs)
		}
		if m := mode(cfg.DataDir); m != 0o755 {
			t.Errorf("the existing data dir was changed to %04o", m)
		}
	})
}

// TestDataDirIsNotPartOfTheModule: a data dir made inside a Go module (as
// ./liftoff-data is in a checkout of Liftoff) holds Go code (the demo's
// repository, builds), yet `go list ./...` in the module lists none of it,
// and git ignores it. Both the server and the CLI commands that open the
// SQLite store in the data dir (apikeys create) make it so; files the
// operator put there are kept.
func TestDataDirIsNotPartOfTheModule(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command in PATH")
	}
	module := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(module, "go.mod"), "module example.com/outer\n\ngo 1.22\n")
	write(filepath.Join(module, "outer.go"), "package outer\n")

	for _, how := range []string{"serve", "open store"} {
		dataDir := filepath.Join(module, "liftoff-data-"+strings.ReplaceAll(how, " ", "-"))
		if how == "serve" {
			cfg := baseConfig(t, "sqlite")
			cfg.DataDir = dataDir
			start(t, cfg).stop()
		} else {
			st, err := server.OpenStore(context.Background(), server.Config{DataDir: dataDir})
			if err != nil {
				t.Fatal(err)
			}
			_ = st.Close()
		}
		// Go code where the demo's repository and builds go.
		write(filepath.Join(dataDir, "repos", "demo", "api", "main.go"), "package main\n\nfunc main() {}\n")
		write(filepath.Join(dataDir, "builds", "p1", "sd1", "api", "main.go"), "package main\n\nfunc main() {}\n")
		if b, err := os.ReadFile(filepath.Join(dataDir, ".gitignore")); err != nil || !strings.Contains(string(b), "\n*\n") {
			t.Errorf("%s: .gitignore = %q, %v; want one ignoring everything", how, b, err)
		}
	}
	list := exec.Command("go", "list", "./...")
	list.Dir = module
	list.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "example.com/outer" {
		t.Fatalf("go list ./... in the module around the data dir lists %q, want example.com/outer alone", got)
	}

	// An operator's own go.mod is kept.
	dataDir := filepath.Join(t.TempDir(), "data")
	write(filepath.Join(dataDir, "go.mod"), "module mine\n")
	st, err := server.OpenStore(context.Background(), server.Config{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	if b, _ := os.ReadFile(filepath.Join(dataDir, "go.mod")); string(b) != "module mine\n" {
		t.Errorf("the operator's go.mod became %q", b)
	}
}
