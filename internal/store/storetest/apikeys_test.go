package storetest

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for goose
	"github.com/pressly/goose/v3"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
)

// beforeScopes is the last schema version without API key scopes.
const beforeScopes = 4

// TestAPIKeysBeforeScopesAreAdmin migrates a database that holds a key made
// before scopes existed, as an older Liftoff left it, and checks that the key
// is an admin key afterwards: nobody is locked out by the upgrade.
func TestAPIKeysBeforeScopesAreAdmin(t *testing.T) {
	t.Parallel()
	for _, dialect := range Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var db *sql.DB
			var migrations fs.FS
			var gooseDialect goose.Dialect
			var open func() (store.Store, error)
			var err error
			switch dialect {
			case "sqlite":
				path := filepath.Join(t.TempDir(), "liftoff.db")
				db, err = sql.Open("sqlite", path)
				migrations, gooseDialect = sqlite.Migrations(), goose.DialectSQLite3
				open = func() (store.Store, error) { return sqlite.Open(ctx, path, sqlite.Options{}) }
			case "postgres":
				url := DatabaseURL(t)
				db, err = sql.Open("pgx", url)
				migrations, gooseDialect = postgres.Migrations(), goose.DialectPostgres
				open = func() (store.Store, error) { return postgres.Open(ctx, url, postgres.Options{}) }
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := goose.NewProvider(gooseDialect, db, migrations)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, beforeScopes); err != nil {
				t.Fatalf("migrate to version %d: %v", beforeScopes, err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ('cold', 'old', 'oldhash', 1)`); err != nil {
				t.Fatalf("insert a key with the old schema: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			s, err := open() // migrates to the newest version
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			k, err := s.GetAPIKeyByHash(ctx, "oldhash")
			if err != nil || k.ID != "cold" || k.Scope != "admin" || len(k.EnvironmentIDs) != 0 {
				t.Fatalf("the old key after migration = %+v, %v; want an admin key", k, err)
			}
			keys, err := s.ListAPIKeys(ctx)
			if err != nil || len(keys) != 1 || keys[0].Scope != "admin" {
				t.Fatalf("ListAPIKeys = %+v, %v", keys, err)
			}
		})
	}
}
