package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// migrationJSON is what liftoff migrate --json prints.
type migrationJSON struct {
	Database string `json:"database"`
	Before   int64  `json:"before"`
	After    int64  `json:"after"`
	Embedded int64  `json:"embedded"`
}

func newMigrate(g *globals) *cobra.Command {
	var sf storeFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "migrate [--data-dir D | --database-url U]",
		Short: "Migrate the server's database to this binary's schema, and exit",
		Long: `Apply the database migrations this binary carries and exit, printing the
schema version before and after. liftoff serve migrates at start as well;
run this first to migrate once before starting or upgrading replicas, or to
see where a database stands. It works on the same --data-dir or
--database-url as liftoff serve, and is safe while servers run: on
PostgreSQL the migrations take the advisory lock liftoff serve takes, on
SQLite the database's write lock.

A database that a newer Liftoff migrated is left alone, and the command
fails: run that release (or a newer one) instead.

--json prints {"database", "before", "after", "embedded"}.`,
		Example: `  liftoff migrate --data-dir /var/lib/liftoff
  LIFTOFF_DATABASE_URL='postgres://liftoff:secret@db:5432/liftoff' liftoff migrate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			where, m, err := migrateStore(cmd.Context(), sf.dataDir, sf.databaseURL, timeout)
			if err != nil {
				return err
			}
			if m.Newer() {
				return fmt.Errorf("%s is at schema version %d, newer than this binary's %d: a newer Liftoff migrated it; "+
					"nothing was applied. Run that release or a newer one", where, m.Before, m.Embedded)
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), migrationJSON{Database: where, Before: m.Before, After: m.After, Embedded: m.Embedded})
			}
			out := cmd.OutOrStdout()
			if m.Before == m.After {
				_, err = fmt.Fprintf(out, "%s is at schema version %d, this binary's newest: nothing to apply.\n", where, m.After)
				return err
			}
			_, err = fmt.Fprintf(out, "Migrated %s from schema version %d to %d.\n", where, m.Before, m.After)
			return err
		},
	}
	sf.add(cmd)
	cmd.Flags().DurationVar(&timeout, "database-timeout", defaultDatabaseTimeout(),
		"bound of connecting to PostgreSQL, as liftoff serve's; the migrations themselves are not bounded")
	return g.jsonFlag(cmd)
}
