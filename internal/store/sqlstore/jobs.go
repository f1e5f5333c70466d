package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

const jobColumns = `id, project_id, environment_id, pr_number, service_id, job_id, service_deployment_id, trigger_type,
	scheduled_at, command, status, created_at, started_at, finished_at, exit_code, error, lease_owner`

const (
	sqlJobInitializing = `'` + string(liftoff.JobInitializing) + `'`
	sqlJobInProgress   = `'` + string(liftoff.JobInProgress) + `'`
)

func scanJobExecution(r Row) (liftoff.JobExecution, error) {
	var e liftoff.JobExecution
	var scheduled, started, finished nullTime
	var created int64
	var command string
	var exit sql.NullInt64
	var owner nullString
	var status string
	err := r.Scan(&e.ID, &e.ProjectID, &e.EnvironmentID, &e.PRNumber, &e.ServiceID, &e.JobID, &e.ServiceDeploymentID, &e.Trigger,
		scheduled.dest(), &command, &status, &created, started.dest(), finished.dest(), &exit, &e.Error, owner.dest())
	if err != nil {
		return e, err
	}
	e.Status = liftoff.JobStatus(status)
	e.ScheduledAt, e.StartedAt, e.FinishedAt, e.CreatedAt = scheduled.time(), started.time(), finished.time(), fromMillis(created)
	if exit.Valid {
		code := int(exit.Int64)
		e.ExitCode = &code
	}
	e.LeaseOwner = owner.string()
	// A command another version wrote in another shape reads as none:
	// the row stays readable.
	_ = json.Unmarshal([]byte(command), &e.Command)
	return e, nil
}

func jobInsertArgs(e liftoff.JobExecution) ([]any, error) {
	cmd, err := json.Marshal(e.Command)
	if err != nil {
		return nil, fmt.Errorf("encode the command: %w", err)
	}
	return []any{e.ID, e.ProjectID, e.EnvironmentID, e.PRNumber, e.ServiceID, e.JobID, e.ServiceDeploymentID, e.Trigger,
		ms(e.ScheduledAt), string(cmd), string(e.Status), millis(e.CreatedAt)}, nil
}

func (q queries) InsertJobExecution(ctx context.Context, e liftoff.JobExecution) error {
	args, err := jobInsertArgs(e)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, `INSERT INTO job_executions (id, project_id, environment_id, pr_number, service_id, job_id,
		service_deployment_id, trigger_type, scheduled_at, command, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, args...)
	if err != nil {
		return fmt.Errorf("insert job execution: %w", err)
	}
	return nil
}

func (q queries) ClaimScheduledJob(ctx context.Context, p store.ClaimScheduledJobParams) (liftoff.JobExecution, error) {
	e := p.Execution
	e.Trigger, e.Status, e.CreatedAt = liftoff.JobTriggerSchedule, liftoff.JobInProgress, p.At
	args, err := jobInsertArgs(e)
	if err != nil {
		return liftoff.JobExecution{}, err
	}
	args = append(args, p.Owner, millis(p.LeaseUntil), p.SkipMessage)
	// One statement, so that it is atomic on PostgreSQL too: IN_PROGRESS,
	// or SKIPPED when the job runs already. Two replicas recording the
	// same time collide on job_executions_scheduled: the second records
	// nothing.
	running := `EXISTS (SELECT 1 FROM job_executions r WHERE r.service_id = $5 AND r.pr_number = $4 AND r.job_id = $6
		AND r.status = ` + sqlJobInProgress + `)`
	var out liftoff.JobExecution
	err = q.write(ctx, func(c Conn) error {
		var err error
		// Parameters are cast where only a CASE uses them: PostgreSQL
		// would take them for text.
		out, err = scanJobExecution(c.QueryRow(ctx, `INSERT INTO job_executions (id, project_id, environment_id, pr_number, service_id, job_id,
			service_deployment_id, trigger_type, scheduled_at, command, status, created_at, started_at, finished_at,
			lease_owner, lease_expires_at, error)
			SELECT $1, $2, CAST($3 AS BIGINT), CAST($4 AS INTEGER), $5, $6, $7, $8, CAST($9 AS BIGINT), $10,
				CASE WHEN `+running+` THEN 'SKIPPED' ELSE $11 END, CAST($12 AS BIGINT),
				CASE WHEN `+running+` THEN NULL ELSE CAST($12 AS BIGINT) END,
				CASE WHEN `+running+` THEN CAST($12 AS BIGINT) ELSE NULL END,
				CASE WHEN `+running+` THEN NULL ELSE $13 END,
				CASE WHEN `+running+` THEN NULL ELSE CAST($14 AS BIGINT) END,
				CASE WHEN `+running+` THEN $15 ELSE '' END
			WHERE true
			ON CONFLICT DO NOTHING
			RETURNING `+jobColumns, args...))
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// Nothing inserted: the time was recorded already, or a run of
		// the job started between the check and the insert (the running
		// index refused it). Then the time is recorded as skipped.
		skip := append(args[:10:10], args[11], p.SkipMessage)
		out, err = scanJobExecution(c.QueryRow(ctx, `INSERT INTO job_executions (id, project_id, environment_id, pr_number, service_id, job_id,
			service_deployment_id, trigger_type, scheduled_at, command, status, created_at, finished_at, error)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'SKIPPED', $11, $11, $12)
			ON CONFLICT DO NOTHING
			RETURNING `+jobColumns, skip...))
		if errors.Is(err, store.ErrNotFound) {
			return store.ErrConflict
		}
		return err
	})
	if err != nil {
		return liftoff.JobExecution{}, fmt.Errorf("claim job %s at %s: %w", e.JobID, e.ScheduledAt.UTC().Format("2006-01-02T15:04:05Z"), err)
	}
	return out, nil
}

func (q queries) ClaimJobExecution(ctx context.Context, p store.ClaimJobExecutionParams) (liftoff.JobExecution, error) {
	if len(p.Releases) == 0 {
		return liftoff.JobExecution{}, fmt.Errorf("claim job execution: %w", store.ErrNotFound)
	}
	args := []any{p.Owner, millis(p.At), millis(p.LeaseUntil)}
	var match, release strings.Builder
	release.WriteString("CASE")
	for i, r := range p.Releases {
		args = append(args, r.ServiceID, r.PRNumber, r.ServiceDeploymentID)
		n := len(args)
		if i > 0 {
			match.WriteString(" OR ")
		}
		fmt.Fprintf(&match, "(e.service_id = $%d AND e.pr_number = $%d)", n-2, n-1)
		fmt.Fprintf(&release, " WHEN service_id = $%d AND pr_number = $%d THEN $%d", n-2, n-1, n)
	}
	release.WriteString(" ELSE service_deployment_id END")
	var out liftoff.JobExecution
	err := q.write(ctx, func(c Conn) error {
		var err error
		out, err = scanJobExecution(c.QueryRow(ctx, `UPDATE job_executions SET status = `+sqlJobInProgress+`, started_at = $2,
				lease_owner = $1, lease_expires_at = $3, service_deployment_id = `+release.String()+`
			WHERE id = (
				SELECT e.id FROM job_executions e
				WHERE e.status = `+sqlJobInitializing+` AND (`+match.String()+`)
				AND NOT EXISTS (SELECT 1 FROM job_executions r WHERE r.service_id = e.service_id AND r.pr_number = e.pr_number
					AND r.job_id = e.job_id AND r.status = `+sqlJobInProgress+`)
				ORDER BY e.created_at, e.id LIMIT 1`+q.skipLocked()+`)
			AND status = `+sqlJobInitializing+`
			RETURNING `+jobColumns, args...))
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		// Another replica started a run of the same job first.
		return liftoff.JobExecution{}, fmt.Errorf("claim job execution: %w", store.ErrNotFound)
	}
	if err != nil {
		return liftoff.JobExecution{}, fmt.Errorf("claim job execution: %w", err)
	}
	return out, nil
}

func (q queries) RenewJobLease(ctx context.Context, p store.RenewJobLeaseParams) error {
	n, err := q.exec(ctx, `UPDATE job_executions SET lease_expires_at = $3
		WHERE id = $1 AND lease_owner = $2 AND status = `+sqlJobInProgress, p.ID, p.Owner, millis(p.Until))
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("renew lease of job execution %s: %w", p.ID, err)
	}
	return nil
}

func (q queries) FinishJobExecution(ctx context.Context, p store.FinishJobExecutionParams) (bool, error) {
	var exit any
	if p.ExitCode != nil {
		exit = *p.ExitCode
	}
	n, err := q.exec(ctx, `UPDATE job_executions SET status = $3, exit_code = $4, error = $5, finished_at = $6,
			lease_owner = NULL, lease_expires_at = NULL
		WHERE id = $1 AND lease_owner = $2 AND status = `+sqlJobInProgress,
		p.ID, p.Owner, string(p.Status), exit, p.Error, millis(p.At))
	if err != nil {
		return false, fmt.Errorf("finish job execution %s: %w", p.ID, err)
	}
	return n == 1, nil
}

func (q queries) InterruptJobExecutions(ctx context.Context, p store.InterruptJobExecutionsParams) ([]string, error) {
	if p.Owner == "" && p.LeaseExpiredBefore.IsZero() {
		return nil, nil
	}
	var ids []string
	err := q.write(ctx, func(c Conn) error {
		var err error
		ids, err = collectQuery(ctx, c, func(r Row) (string, error) {
			var id string
			return id, r.Scan(&id)
		}, `UPDATE job_executions SET status = 'FAILED', error = $3, finished_at = $4, lease_owner = NULL, lease_expires_at = NULL
			WHERE status = `+sqlJobInProgress+` AND (lease_owner = $1 OR lease_expires_at < $2)
			RETURNING id`, p.Owner, millis(p.LeaseExpiredBefore), p.Message, millis(p.At))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("interrupt job executions: %w", err)
	}
	return ids, nil
}

func (q queries) GetJobExecution(ctx context.Context, p store.GetJobExecutionParams) (liftoff.JobExecution, error) {
	e, err := scanJobExecution(q.read.QueryRow(ctx, `SELECT `+jobColumns+` FROM job_executions WHERE id = $1`, p.ID))
	if err != nil {
		return liftoff.JobExecution{}, fmt.Errorf("get job execution %s: %w", p.ID, err)
	}
	return e, nil
}

func (q queries) ListJobExecutions(ctx context.Context, p store.ListJobExecutionsParams) ([]liftoff.JobExecution, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 20
	}
	out, err := collectQuery(ctx, q.read, scanJobExecution, `SELECT `+jobColumns+` FROM job_executions
		WHERE service_id = $1 AND pr_number = $2 AND ($3 = '' OR job_id = $3)
		ORDER BY created_at DESC, id DESC LIMIT $4`, p.ServiceID, p.PRNumber, p.JobID, limit)
	if err != nil {
		return nil, fmt.Errorf("list job executions of %s: %w", p.ServiceID, err)
	}
	return out, nil
}
