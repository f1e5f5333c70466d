package server

import (
	"path/filepath"

	"github.com/caddyserver/certmagic"

	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
)

// certificateStorage is where certificates, their keys and ACME accounts
// are kept.
func certificateStorage(cfg Config, _ store.Store, _ *secretbox.Keyring) certmagic.Storage {
	return &certmagic.FileStorage{Path: filepath.Join(cfg.DataDir, "certificates")}
}
