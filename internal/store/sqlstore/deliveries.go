package sqlstore

import (
	"context"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/store"
)

func (q queries) RecordGitHubDelivery(ctx context.Context, p store.RecordDeliveryParams) (bool, error) {
	var n int64
	err := q.write(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, `DELETE FROM github_deliveries WHERE received_at < $1`, millis(p.ExpiredBefore)); err != nil {
			return err
		}
		// No conflict target: a known id and a known body are both a replay.
		var err error
		n, err = c.Exec(ctx, `INSERT INTO github_deliveries (delivery_id, body_sha256, received_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, p.ID, p.BodySHA256, millis(p.At))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record GitHub delivery %s: %w", p.ID, err)
	}
	return n == 1, nil
}

func (q queries) ForgetGitHubDelivery(ctx context.Context, p store.ForgetGitHubDeliveryParams) error {
	if _, err := q.exec(ctx, `DELETE FROM github_deliveries WHERE delivery_id = $1`, p.ID); err != nil {
		return fmt.Errorf("forget GitHub delivery %s: %w", p.ID, err)
	}
	return nil
}
