package sqlstore

import (
	"context"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

func (q queries) ClaimHost(ctx context.Context, p liftoff.HostClaim) (liftoff.HostClaim, error) {
	var out liftoff.HostClaim
	err := q.write(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, `INSERT INTO host_claims (host, project_id, environment_id, pr_number, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host) DO NOTHING`,
			p.Host, p.ProjectID, p.EnvironmentID, p.PRNumber, millis(p.CreatedAt)); err != nil {
			return err
		}
		var created int64
		err := c.QueryRow(ctx, `SELECT host, project_id, environment_id, pr_number, created_at FROM host_claims WHERE host = $1`, p.Host).
			Scan(&out.Host, &out.ProjectID, &out.EnvironmentID, &out.PRNumber, &created)
		out.CreatedAt = fromMillis(created)
		return err
	})
	if err != nil {
		return liftoff.HostClaim{}, fmt.Errorf("claim host %s: %w", p.Host, err)
	}
	return out, nil
}

func (q queries) ReleaseHosts(ctx context.Context, p store.ReleaseHostsParams) error {
	if _, err := q.exec(ctx, `DELETE FROM host_claims WHERE environment_id = $1 AND pr_number = $2`, p.EnvironmentID, p.PRNumber); err != nil {
		return fmt.Errorf("release host names of %d/#%d: %w", p.EnvironmentID, p.PRNumber, err)
	}
	return nil
}
