package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
