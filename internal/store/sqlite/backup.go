package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// BackupResult describes a copy Backup made.
type BackupResult struct {
	Bytes         int64 // the copy's size
	SchemaVersion int64 // the copy's newest migration
}

// Backup copies the database file at path into a new file at to, 0600,
// while Liftoff may run on it: SQLite's VACUUM INTO reads the database in
// one read transaction, so the copy holds exactly what was committed when
// it began (the -wal file included) and nothing of a write that commits
// while it runs; writers are not blocked. The copy is written beside to,
// synced, checked (PRAGMA quick_check) and renamed into place, so to is
// either the whole copy or untouched. An existing to is refused unless
// replace; to is never the database itself or its -wal and -shm files.
//
// The copy is a database alone, without -wal: a restore puts it in place
// of the database file (Liftoff stopped, the old -wal and -shm removed).
// The secret key file is not in it: see docs/operations.md.
func Backup(ctx context.Context, path, to string, replace bool) (BackupResult, error) {
	src, err := filepath.Abs(path)
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	dst, err := filepath.Abs(to)
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	fi, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return BackupResult{}, fmt.Errorf("backup: no database at %s: is it the --data-dir (or --database-url) of liftoff serve?", src)
	}
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	for _, p := range []string{src, src + "-wal", src + "-shm", src + "-journal"} {
		if dst == p {
			return BackupResult{}, fmt.Errorf("backup: --to %s is the database's own file: give a file outside it", to)
		}
	}
	switch ti, err := os.Stat(dst); {
	case err == nil && os.SameFile(fi, ti):
		return BackupResult{}, fmt.Errorf("backup: --to %s is the database itself: give another file", to)
	case err == nil && !replace:
		return BackupResult{}, fmt.Errorf("backup: %s exists: give a new file, or --force to replace it", to)
	case err == nil && !ti.Mode().IsRegular():
		return BackupResult{}, fmt.Errorf("backup: %s is not a regular file", to)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}

	// The copy is made under a temporary name in to's directory (0600 from
	// CreateTemp; VACUUM INTO accepts an empty file) and renamed at the end.
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	tmpName := tmp.Name()
	done := false
	defer func() {
		if !done {
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Close(); err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}

	// mode=rw: a missing file is an error, never a new empty database.
	// No journal_mode pragma: the database is in WAL mode already, and
	// the backup must not change it.
	db, err := sql.Open("sqlite", dsn(src, "", "busy_timeout(10000)")+"&mode=rw")
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		return BackupResult{}, fmt.Errorf("backup: copy %s: %w", src, mapErr(err))
	}
	if err := db.Close(); err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}

	res, err := checkCopy(ctx, tmpName)
	if err != nil {
		return BackupResult{}, err
	}
	if err := syncFile(tmpName); err != nil {
		return BackupResult{}, err
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	done = true
	if err := syncFile(filepath.Dir(dst)); err != nil {
		return BackupResult{}, err
	}
	return res, nil
}

// checkCopy reads the copy back: its integrity, size and schema version.
// It opens it read-only and immutable, so no -wal or -shm is made beside
// it and the file is not changed.
func checkCopy(ctx context.Context, name string) (BackupResult, error) {
	db, err := sql.Open("sqlite", dsn(name, "")+"&mode=ro&immutable=1")
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup: check the copy: %w", err)
	}
	defer func() { _ = db.Close() }()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		return BackupResult{}, fmt.Errorf("backup: check the copy: %w", err)
	}
	if check != "ok" {
		return BackupResult{}, fmt.Errorf("backup: the copy fails its integrity check: %s", check)
	}
	var res BackupResult
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		return BackupResult{}, fmt.Errorf("backup: the copy has no schema version (is the source a Liftoff database?): %w", err)
	}
	res.SchemaVersion = v.Int64
	fi, err := os.Stat(name)
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	res.Bytes = fi.Size()
	return res, nil
}

// syncFile flushes a file or directory to disk.
func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("backup: sync %s: %w", name, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: sync %s: %w", name, err)
	}
	return nil
}
