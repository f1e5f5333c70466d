package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

func (q queries) ClaimHost(ctx context.Context, p liftoff.HostClaim) (liftoff.HostClaim, error) {
	var out liftoff.HostClaim
	err := q.write(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, `INSERT INTO host_claims (host, project_id, environment_id, pr_number, service_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host) DO UPDATE SET service_id = excluded.service_id
			WHERE host_claims.project_id = excluded.project_id AND host_claims.environment_id = excluded.environment_id
			AND host_claims.pr_number = excluded.pr_number`,
			p.Host, p.ProjectID, p.EnvironmentID, p.PRNumber, p.ServiceID, millis(p.CreatedAt)); err != nil {
			return err
		}
		var created int64
		err := c.QueryRow(ctx, `SELECT host, project_id, environment_id, pr_number, service_id, created_at FROM host_claims WHERE host = $1`, p.Host).
			Scan(&out.Host, &out.ProjectID, &out.EnvironmentID, &out.PRNumber, &out.ServiceID, &created)
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

func (q queries) ReleaseUnusedDomains(ctx context.Context, p store.ReleaseUnusedDomainsParams) ([]string, error) {
	keep := make(map[string]bool, len(p.Keep))
	for _, h := range p.Keep {
		keep[h] = true
	}
	var freed []string
	err := q.write(ctx, func(c Conn) error {
		freed = nil
		rows, err := c.Query(ctx, `SELECT host FROM host_claims WHERE environment_id = $1 AND pr_number = $2`, p.EnvironmentID, p.PRNumber)
		if err != nil {
			return err
		}
		var hosts []string
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return err
			}
			hosts = append(hosts, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, h := range hosts {
			if keep[h] || h == "localhost" || strings.HasSuffix(h, ".localhost") {
				continue
			}
			if _, err := c.Exec(ctx, `DELETE FROM host_claims WHERE host = $1 AND environment_id = $2 AND pr_number = $3`,
				h, p.EnvironmentID, p.PRNumber); err != nil {
				return err
			}
			freed = append(freed, h)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("release unused domains of %d/#%d: %w", p.EnvironmentID, p.PRNumber, err)
	}
	return freed, nil
}
