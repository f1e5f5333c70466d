package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/sqlstore"
)

// Migrate brings the database at url to the schema this binary embeds, as
// Open does on its way, and disconnects: liftoff migrate. It holds the
// same advisory lock as Open, so replicas starting meanwhile wait for it
// and then find nothing to apply. timeout bounds connecting (unless the
// URL sets connect_timeout); the migrations themselves are not bounded.
func Migrate(ctx context.Context, url string, timeout time.Duration) (store.Migration, error) {
	if timeout <= 0 {
		return store.Migration{}, fmt.Errorf("postgres: timeout %s must be positive, e.g. 5s", timeout)
	}
	pool, err := connect(ctx, url, timeout)
	if err != nil {
		return store.Migration{}, err
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer func() { _ = db.Close() }()
	p, err := newProvider(ctx, pool, db)
	if err != nil {
		return store.Migration{}, err
	}
	return sqlstore.Migrate(ctx, p, "postgres")
}
