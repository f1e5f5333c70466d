package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// backupJSON is what liftoff backup --json prints.
type backupJSON struct {
	Database      string `json:"database"`
	To            string `json:"to"`
	Bytes         int64  `json:"bytes"`
	SchemaVersion int64  `json:"schemaVersion"`
	KeyFile       string `json:"keyFile"`     // the server's secret key file
	KeyCopiedTo   string `json:"keyCopiedTo"` // "" without --with-key
}

// keyBeside is --with-key given without a file: the key goes beside the copy.
const keyBeside = "beside"

func newBackup(g *globals) *cobra.Command {
	var sf storeFlags
	var to, keyFile, withKey string
	var force bool
	cmd := &cobra.Command{
		Use:   "backup --to FILE [--with-key[=KEYFILE]]",
		Short: "Copy the server's SQLite database to a file, while it runs",
		Long: `Copy the SQLite database of liftoff serve (same --data-dir or --database-url)
to a new file, 0600, while the server runs. The copy is consistent: it holds
exactly what was committed when the backup began, and the server goes on
writing meanwhile. It is written under a temporary name, checked and renamed,
so FILE is either the whole copy or absent. An existing FILE is refused
unless --force.

The secret key file is not in the copy, and a restore needs it: the secret
variables, webhook secrets and certificates' keys in the database are sealed
with it. Keep a copy of it, best apart from the database's copies; or pass
--with-key to copy it beside FILE (FILE.secret.key), or --with-key=KEYFILE
to copy it there (0600, never over an existing file).

For PostgreSQL use pg_dump; docs/operations.md#backups says how to back up
and restore either.

--json prints {"database", "to", "bytes", "schemaVersion", "keyFile", "keyCopiedTo"}.`,
		Example: `  liftoff backup --data-dir /var/lib/liftoff --to /backups/liftoff-$(date +%F).db
  liftoff backup --to /backups/liftoff.db --force --with-key=/secure/liftoff.secret.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key := secretKeyFile(sf.dataDir, keyFile)
			keyTo := withKey
			if keyTo == keyBeside {
				keyTo = to + ".secret.key"
			}
			if keyTo != "" {
				// Checked before the copy, so that a backup does not end
				// half done for want of the key.
				if _, err := os.Stat(key); err != nil {
					return fmt.Errorf("--with-key: the secret key file: %w (point --secret-key-file or --data-dir at the server's)", err)
				}
				if _, err := os.Lstat(keyTo); err == nil {
					return fmt.Errorf("--with-key: %s exists: give a new file", keyTo)
				}
			}
			db, res, err := backupStore(cmd.Context(), sf.dataDir, sf.databaseURL, to, force)
			if err != nil {
				return err
			}
			if keyTo != "" {
				if err := copyKey(key, keyTo); err != nil {
					return fmt.Errorf("the database was copied to %s, but the secret key was not: %w", to, err)
				}
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), backupJSON{Database: db, To: to, Bytes: res.Bytes, SchemaVersion: res.SchemaVersion,
					KeyFile: key, KeyCopiedTo: keyTo})
			}
			out := cmd.OutOrStdout()
			if _, err := fmt.Fprintf(out, "Copied %s (schema version %d, %d bytes) to %s.\n", db, res.SchemaVersion, res.Bytes, to); err != nil {
				return err
			}
			if keyTo != "" {
				_, err = fmt.Fprintf(out, "Copied the secret key file %s to %s: whoever has both reads every secret; store them apart.\n", key, keyTo)
				return err
			}
			_, err = fmt.Fprintf(out, "The secret key file %s is not in the copy: a restore needs it to read secrets. "+
				"Keep a copy of it apart from the database's (or pass --with-key).\n", key)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "the file to write the copy to (new, unless --force)")
	_ = cmd.MarkFlagRequired("to")
	f.BoolVar(&force, "force", false, "replace FILE when it exists (never the database itself)")
	f.StringVar(&withKey, "with-key", "", "also copy the secret key file: beside FILE as FILE.secret.key, or with =KEYFILE there")
	f.Lookup("with-key").NoOptDefVal = keyBeside
	f.StringVar(&keyFile, "secret-key-file", "", "the server's secret key file (default <data-dir>/secret.key)")
	sf.add(cmd)
	return g.jsonFlag(cmd)
}

// copyKey copies the secret key file to a new file, 0600, synced.
func copyKey(from, to string) (err error) {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists: give a new file", to)
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(to)
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(to))
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
