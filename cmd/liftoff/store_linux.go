package main

import (
	"context"

	"github.com/liftoffhq/liftoff/internal/server"
	"github.com/liftoffhq/liftoff/internal/store"
)

// openStore opens the store of a server run with these flags.
func openStore(ctx context.Context, dataDir, databaseURL string) (store.Store, error) {
	return server.OpenStore(ctx, server.Config{DataDir: dataDir, DatabaseURL: databaseURL}.WithDefaults())
}
