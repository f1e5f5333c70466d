//go:build !linux

package main

import (
	"context"
	"errors"

	"github.com/liftoffhq/liftoff/internal/store"
)

// openStore refuses: the store is the server's, and the server runs on Linux.
func openStore(context.Context, string, string) (store.Store, error) {
	return nil, errors.New(`liftoff apikeys create writes to the server's store: run it on the Linux machine that runs "liftoff serve", ` +
		`with the same --data-dir or --database-url`)
}

// secretKeyFile is not used: openStore refuses first.
func secretKeyFile(_, keyFile string) string { return keyFile }
