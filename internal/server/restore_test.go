package server_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
)

// TestBackupAndRestore follows docs/operations.md: a backup of the SQLite
// database taken while liftoff serve runs, restored by stopping the
// server, replacing the database file with the copy and removing its -wal
// and -shm files, serves what was there at the backup (the project, the
// key), and not what was written after it.
func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := baseConfig(t, "sqlite")
	f := setUp(t, cfg)
	srv := start(t, cfg)
	c := client.New(srv.base, f.key)

	db := filepath.Join(cfg.DataDir, "liftoff.db")
	backup := filepath.Join(t.TempDir(), "liftoff-backup.db")
	if _, err := sqlite.Backup(ctx, db, backup, false); err != nil {
		t.Fatalf("backup while serving: %v", err)
	}
	if _, err := c.CreateProject(ctx, "after-the-backup", f.repo.Dir, ""); err != nil {
		t.Fatal(err)
	}
	srv.stop()

	// The restore, as documented: cp the copy over the database, rm the
	// -wal and -shm files, start.
	copyFile(t, backup, db)
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(db + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	restored := start(t, cfg)
	projects, err := client.New(restored.base, f.key).Projects(ctx)
	if err != nil {
		t.Fatalf("the API key of the backup on the restored server: %v", err)
	}
	if len(projects) != 1 || projects[0].ProjectID != f.project {
		t.Fatalf("restored projects %+v, want only %s (the one made after the backup gone)", projects, f.project)
	}
	if status, _, body := raw(t, "GET", restored.base, "/readyz", nil); status != 200 {
		t.Fatalf("/readyz of the restored server: %d %s", status, body)
	}
}

// copyFile copies from over to, as cp does (to keeps its mode).
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
