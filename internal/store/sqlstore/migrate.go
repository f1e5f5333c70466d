package sqlstore

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/liftoffhq/liftoff/internal/store"
)

// Migrate applies p's migrations and reports the schema version before and
// after. A database newer than p's newest migration is left alone: the
// caller says so (store.Migration.Newer). dialect names the database in
// errors.
func Migrate(ctx context.Context, p *goose.Provider, dialect string) (store.Migration, error) {
	sources := p.ListSources()
	m := store.Migration{Embedded: sources[len(sources)-1].Version}
	before, err := p.GetDBVersion(ctx)
	if err != nil {
		return m, fmt.Errorf("read the %s schema version: %w", dialect, err)
	}
	m.Before, m.After = before, before
	if m.Newer() {
		return m, nil
	}
	if _, err := p.Up(ctx); err != nil {
		return m, fmt.Errorf("migrate %s: %w", dialect, err)
	}
	after, err := p.GetDBVersion(ctx)
	if err != nil {
		return m, fmt.Errorf("read the %s schema version: %w", dialect, err)
	}
	m.After = after
	return m, nil
}
