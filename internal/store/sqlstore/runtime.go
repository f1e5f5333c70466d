package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

const serviceStateColumns = `s.service_id, s.pr_number, s.release_id, s.state, s.restarts, s.node_id, s.updated_at`

func scanServiceState(r Row) (liftoff.ServiceState, error) {
	var s liftoff.ServiceState
	var updated int64
	err := r.Scan(&s.ServiceID, &s.PRNumber, &s.ReleaseID, &s.State, &s.Restarts, &s.NodeID, &updated)
	s.UpdatedAt = fromMillis(updated)
	return s, err
}

func (q queries) PutServiceState(ctx context.Context, s liftoff.ServiceState) error {
	_, err := q.exec(ctx, `INSERT INTO service_states (service_id, pr_number, release_id, state, restarts, node_id, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (service_id, pr_number) DO UPDATE SET release_id = excluded.release_id, state = excluded.state,
			restarts = excluded.restarts, node_id = excluded.node_id, updated_at = excluded.updated_at`,
		s.ServiceID, s.PRNumber, s.ReleaseID, s.State, s.Restarts, s.NodeID, millis(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put the state of service %s: %w", s.ServiceID, err)
	}
	return nil
}

func (q queries) GetServiceState(ctx context.Context, p store.GetServiceStateParams) (liftoff.ServiceState, error) {
	s, err := scanServiceState(q.read.QueryRow(ctx, `SELECT `+serviceStateColumns+` FROM service_states s
		WHERE s.service_id = $1 AND s.pr_number = $2`, p.ServiceID, p.PRNumber))
	if err != nil {
		return liftoff.ServiceState{}, fmt.Errorf("get the state of service %s: %w", p.ServiceID, err)
	}
	return s, nil
}

func (q queries) ListServiceStates(ctx context.Context, p store.ListServiceStatesParams) ([]liftoff.ServiceState, error) {
	out, err := collectQuery(ctx, q.read, scanServiceState, `SELECT `+serviceStateColumns+` FROM service_states s
		JOIN services v ON v.id = s.service_id
		WHERE ($1 = '' OR s.service_id = $1) AND ($2 = 0 OR v.environment_id = $2)
		ORDER BY s.service_id, s.pr_number`, p.ServiceID, p.EnvironmentID)
	if err != nil {
		return nil, fmt.Errorf("list service states: %w", err)
	}
	return out, nil
}

const serviceRestartColumns = `id, service_id, pr_number, release_id, at, health_check, exit_code, reason, last_lines, state`

func scanServiceRestart(r Row) (liftoff.ServiceRestart, error) {
	var s liftoff.ServiceRestart
	var at int64
	var exit sql.NullInt64
	var lines string
	err := r.Scan(&s.ID, &s.ServiceID, &s.PRNumber, &s.ReleaseID, &at, &s.HealthCheck, &exit, &s.Reason, &lines, &s.State)
	if err != nil {
		return s, err
	}
	s.At = fromMillis(at)
	if exit.Valid {
		code := int(exit.Int64)
		s.ExitCode = &code
	}
	// Lines another version wrote in another shape read as none.
	_ = json.Unmarshal([]byte(lines), &s.LastLines)
	return s, nil
}

func (q queries) RecordServiceRestart(ctx context.Context, p store.RecordServiceRestartParams) error {
	r := p.Restart
	lines, err := json.Marshal(r.LastLines)
	if err != nil {
		return fmt.Errorf("encode the last lines: %w", err)
	}
	if r.LastLines == nil {
		lines = []byte("[]")
	}
	var exit sql.NullInt64
	if r.ExitCode != nil {
		exit = sql.NullInt64{Int64: int64(*r.ExitCode), Valid: true}
	}
	keep := max(p.Keep, 1)
	err = q.write(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, `INSERT INTO service_restarts (service_id, pr_number, release_id, at, health_check, exit_code,
			reason, last_lines, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.ServiceID, r.PRNumber, r.ReleaseID, millis(r.At), r.HealthCheck, exit, r.Reason, string(lines), r.State); err != nil {
			return err
		}
		_, err := c.Exec(ctx, `DELETE FROM service_restarts WHERE service_id = $1 AND pr_number = $2
			AND id NOT IN (SELECT id FROM service_restarts WHERE service_id = $1 AND pr_number = $2 ORDER BY id DESC LIMIT $3)`,
			r.ServiceID, r.PRNumber, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("record a restart of service %s: %w", r.ServiceID, err)
	}
	return nil
}

func (q queries) ListServiceRestarts(ctx context.Context, p store.ListServiceRestartsParams) ([]liftoff.ServiceRestart, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 20
	}
	out, err := collectQuery(ctx, q.read, scanServiceRestart, `SELECT `+serviceRestartColumns+` FROM service_restarts
		WHERE service_id = $1 AND pr_number = $2 ORDER BY id DESC LIMIT $3`, p.ServiceID, p.PRNumber, limit)
	if err != nil {
		return nil, fmt.Errorf("list the restarts of service %s: %w", p.ServiceID, err)
	}
	return out, nil
}
