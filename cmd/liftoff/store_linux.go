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

// secretKeyFile is the secret key file of a server run with these flags.
func secretKeyFile(dataDir, keyFile string) string {
	return server.Config{DataDir: dataDir, SecretKeyFile: keyFile}.WithDefaults().KeyFile()
}
