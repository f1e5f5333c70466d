package storetest

import (
	"context"
	"testing"

	"github.com/liftoffhq/liftoff/internal/store"
)

// beforeScopes is the last schema version without API key scopes.
const beforeScopes = 4

// testAPIKeysBeforeScopesAreAdmin migrates a database that holds a key made
// before scopes existed, as an older Liftoff left it, and checks that the key
// is an admin key afterwards: nobody is locked out by the upgrade.
func testAPIKeysBeforeScopesAreAdmin(t *testing.T, drv Driver) {
	ctx := context.Background()
	db, open := drv.OpenAt(t, beforeScopes)
	if _, err := db.ExecContext(ctx, `INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ('cold', 'old', 'oldhash', 1)`); err != nil {
		t.Fatalf("insert a key with the old schema: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := open(t) // migrates to the newest version
	k, err := s.GetAPIKeyByHash(ctx, store.GetAPIKeyByHashParams{Hash: "oldhash"})
	if err != nil || k.ID != "cold" || k.Scope != "admin" || len(k.EnvironmentIDs) != 0 {
		t.Fatalf("the old key after migration = %+v, %v; want an admin key", k, err)
	}
	keys, err := s.ListAPIKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Scope != "admin" {
		t.Fatalf("ListAPIKeys = %+v, %v", keys, err)
	}
}
