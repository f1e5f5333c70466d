package server

import (
	"log/slog"

	"github.com/caddyserver/certmagic"

	"github.com/liftoffhq/liftoff/internal/certstore"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
)

// certificateStorage is where certificates, their keys and ACME accounts
// are kept: in the store, sealed with the secret keys, shared by every
// replica on the database, with the locks that keep two replicas from
// issuing one certificate twice.
func certificateStorage(st store.Store, keys *secretbox.Keyring, node string, log *slog.Logger) certmagic.Storage {
	return certstore.New(st, keys, certstore.Options{NodeID: node, Logger: log})
}
