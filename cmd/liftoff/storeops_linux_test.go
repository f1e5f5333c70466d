package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/liftoffhq/liftoff/internal/server"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestMigrateCommand: liftoff migrate creates and migrates a SQLite
// database in the data dir, says so with the versions, applies nothing the
// second time, refuses a database a newer Liftoff migrated, and does the
// same on PostgreSQL without printing the URL.
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	db := filepath.Join(dir, "liftoff.db")
	out, err := runIn(t, "", "migrate", "--data-dir", dir)
	if err != nil || !strings.HasPrefix(out, "Migrated SQLite "+db+" from schema version 0 to ") {
		t.Fatalf("migrate: %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Errorf("the data dir is not prepared as serve prepares it: %v", err)
	}
	out, err = runIn(t, "", "migrate", "--data-dir", dir, "--json")
	var m migrationJSON
	if err != nil || json.Unmarshal([]byte(out), &m) != nil || m.Before != m.Embedded || m.After != m.Embedded || m.Embedded < 1 ||
		m.Database != "SQLite "+db {
		t.Fatalf("migrate --json on a current database: %s, %v", out, err)
	}
	if out, err := runIn(t, "", "migrate", "--database-url", db); err != nil || !strings.Contains(out, "nothing to apply") {
		t.Fatalf("migrate --database-url FILE: %q, %v", out, err)
	}

	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, m.Embedded+1); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("schema version %d, newer than this binary's %d", m.Embedded+1, m.Embedded)
	if _, err := runIn(t, "", "migrate", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("migrate on a newer database: %v, want %q", err, want)
	}

	if _, err := runIn(t, "", "migrate", "--data-dir", dir, "--database-timeout", "-1s"); err == nil || !strings.Contains(err.Error(), "--database-timeout") {
		t.Fatalf("negative --database-timeout: %v", err)
	}

	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := storetest.DatabaseURL(t)
		out, err := runIn(t, "", "migrate", "--database-url", url)
		if err != nil || !strings.HasPrefix(out, "Migrated PostgreSQL ") || !strings.Contains(out, "from schema version 0 to ") ||
			strings.Contains(out, "search_path") || strings.Contains(out, "postgres://") {
			t.Fatalf("migrate on PostgreSQL: %q, %v", out, err)
		}
		if out, err := runIn(t, "", "migrate", "--database-url", url, "--database-timeout", "10s"); err != nil || !strings.Contains(out, "nothing to apply") {
			t.Fatalf("migrate on a current PostgreSQL database: %q, %v", out, err)
		}
	})
}

// TestBackupCommand: liftoff backup copies the data dir's database and
// reminds of the secret key file, or copies it with --with-key; it
// refuses an existing file and PostgreSQL, naming pg_dump.
func TestBackupCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := runIn(t, "correct horse battery\n", "users", "create", "--email", "ada@example.com", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(key, []byte("the key file's bytes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	backups := t.TempDir()
	to := filepath.Join(backups, "one.db")
	out, err := runIn(t, "", "backup", "--data-dir", dir, "--to", to)
	if err != nil || !strings.HasPrefix(out, "Copied "+filepath.Join(dir, "liftoff.db")+" (schema version ") ||
		!strings.Contains(out, "The secret key file "+key+" is not in the copy") {
		t.Fatalf("backup: %q, %v", out, err)
	}
	// The copy is the database: the user is in it.
	if out, err := runIn(t, "", "users", "list", "--database-url", to); err != nil || !strings.Contains(out, "ada@example.com") {
		t.Fatalf("users in the copy: %q, %v", out, err)
	}
	if _, err := os.Stat(to + ".secret.key"); !os.IsNotExist(err) {
		t.Fatalf("the key was copied without --with-key: %v", err)
	}
	if _, err := runIn(t, "", "backup", "--data-dir", dir, "--to", to); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("backup over an existing file: %v", err)
	}

	two := filepath.Join(backups, "two.db")
	out, err = runIn(t, "", "backup", "--data-dir", dir, "--to", two, "--with-key")
	if err != nil || !strings.Contains(out, "Copied the secret key file "+key+" to "+two+".secret.key") {
		t.Fatalf("backup --with-key: %q, %v", out, err)
	}
	elsewhere := filepath.Join(t.TempDir(), "liftoff.key")
	out, err = runIn(t, "", "backup", "--data-dir", dir, "--to", filepath.Join(backups, "three.db"), "--with-key="+elsewhere, "--json")
	var b backupJSON
	if err != nil || json.Unmarshal([]byte(out), &b) != nil || b.KeyCopiedTo != elsewhere || b.KeyFile != key || b.Bytes == 0 {
		t.Fatalf("backup --with-key=FILE --json: %s, %v", out, err)
	}
	for _, copied := range []string{two + ".secret.key", elsewhere} {
		got, err := os.ReadFile(copied)
		fi, serr := os.Stat(copied)
		if err != nil || serr != nil || !bytes.Equal(got, []byte("the key file's bytes\n")) || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key copy %s: %q, %v, %v", copied, got, err, fi)
		}
	}
	// The key is checked before the database is copied.
	four := filepath.Join(backups, "four.db")
	if _, err := runIn(t, "", "backup", "--data-dir", dir, "--to", four, "--with-key="+elsewhere); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("--with-key onto an existing file: %v", err)
	}
	if _, err := os.Stat(four); !os.IsNotExist(err) {
		t.Fatalf("the database was copied although the key could not be: %v", err)
	}

	_, err = runIn(t, "", "backup", "--database-url", "postgres://liftoff:hunter2@db:5432/liftoff", "--to", four)
	if err == nil || !strings.Contains(err.Error(), "pg_dump") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("backup of PostgreSQL: %v, want a refusal naming pg_dump", err)
	}
	if _, err := runIn(t, "", "backup", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), `"to" not set`) {
		t.Fatalf("backup without --to: %v", err)
	}
}

// TestHealthcheck: 0 on a 200 from /healthz, an error naming the answer
// otherwise; an address on every interface is asked on loopback; the
// default is serve's --addr.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	status := make(chan int, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		code := <-status
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, `{"status":%q}`, http.StatusText(code))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	status <- http.StatusOK
	if out, err := runIn(t, "", "healthcheck", "--addr", addr); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("healthcheck of a healthy server: %q, %v", out, err)
	}
	status <- http.StatusServiceUnavailable
	if _, err := runIn(t, "", "healthcheck", "--addr", srv.URL); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("healthcheck of an unhealthy server: %v", err)
	}
	urls := map[string]string{
		":8080":         "http://127.0.0.1:8080/healthz",
		"0.0.0.0:8080":  "http://127.0.0.1:8080/healthz",
		"[::]:8080":     "http://[::1]:8080/healthz",
		"10.0.0.5:9000": "http://10.0.0.5:9000/healthz",
		"https://lift/": "https://lift/healthz",
	}
	for addr, want := range urls {
		if got, err := healthURL(addr); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := healthURL("8080"); err == nil {
		t.Error("healthURL(8080): no error")
	}
	if def := (server.Config{}).WithDefaults().Addr; defaultAddr != def {
		t.Errorf("healthcheck's --addr default %q, serve's %q", defaultAddr, def)
	}
	ln := httptest.NewServer(http.NotFoundHandler())
	gone := strings.TrimPrefix(ln.URL, "http://")
	ln.Close()
	if _, err := runIn(t, "", "healthcheck", "--addr", gone); err == nil {
		t.Fatal("healthcheck of nothing listening: no error")
	}
}
