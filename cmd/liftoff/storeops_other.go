//go:build !linux

package main

import (
	"context"
	"errors"
	"time"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
)

// errServerOnly: the store is the server's, and the server runs on Linux.
var errServerOnly = errors.New(`this command works on the server's store: run it on the Linux machine that runs "liftoff serve", ` +
	`with the same --data-dir or --database-url`)

func migrateStore(context.Context, string, string, time.Duration) (string, store.Migration, error) {
	return "", store.Migration{}, errServerOnly
}

func backupStore(context.Context, string, string, string, bool) (string, sqlite.BackupResult, error) {
	return "", sqlite.BackupResult{}, errServerOnly
}

// defaultDatabaseTimeout is not used: migrateStore refuses first.
func defaultDatabaseTimeout() time.Duration { return 0 }
