package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

func (q queries) AppendLogs(ctx context.Context, lines []liftoff.LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	// Bulk: on SQLite a hook call queued meanwhile commits first.
	err := q.writeBulk(ctx, func(c Conn) error {
		const chunk = 200
		for start := 0; start < len(lines); start += chunk {
			part := lines[start:min(start+chunk, len(lines))]
			var sb strings.Builder
			args := make([]any, 0, len(part)*4)
			sb.WriteString(`INSERT INTO deployment_logs (deployment_id, service_deployment_id, at, text) VALUES `)
			for i, l := range part {
				if i > 0 {
					sb.WriteString(", ")
				}
				fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d)", i*4+1, i*4+2, i*4+3, i*4+4)
				args = append(args, l.DeploymentID, l.ServiceDeploymentID, millis(l.At), l.Text)
			}
			if _, err := c.Exec(ctx, sb.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append logs: %w", err)
	}
	return nil
}

func (q queries) ListLogs(ctx context.Context, p store.ListLogsParams) ([]liftoff.LogLine, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	query := `SELECT id, deployment_id, service_deployment_id, at, text FROM deployment_logs WHERE deployment_id = $1 AND id > $2`
	args := []any{p.DeploymentID, p.AfterID}
	if p.ServiceDeploymentID != "" {
		query += ` AND service_deployment_id = $4`
		args = append(args, limit, p.ServiceDeploymentID)
	} else {
		args = append(args, limit)
	}
	query += ` ORDER BY id LIMIT $3`
	out, err := collectQuery(ctx, q.read, func(r Row) (liftoff.LogLine, error) {
		var l liftoff.LogLine
		var at int64
		err := r.Scan(&l.ID, &l.DeploymentID, &l.ServiceDeploymentID, &at, &l.Text)
		l.At = fromMillis(at)
		return l, err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list logs of %s: %w", p.DeploymentID, err)
	}
	return out, nil
}
