package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

func (q queries) ClaimDeployment(ctx context.Context, p store.ClaimParams) (liftoff.Deployment, error) {
	var id string
	err := q.write(ctx, func(c Conn) error {
		return c.QueryRow(ctx, `UPDATE deployments SET status = `+sqlInProgress+`, started_at = $2, lease_owner = $1, lease_expires_at = $3
			WHERE id = (
				SELECT d.id FROM deployments d
				WHERE d.status = `+sqlPending+` AND NOT EXISTS (
					SELECT 1 FROM deployments r
					WHERE r.environment_id = d.environment_id AND r.pr_number = d.pr_number AND r.status IN `+runningStatuses+`)
				-- A preview torn down but not cleaned up yet starts again
				-- only once its old releases and builds are gone.
				AND NOT EXISTS (
					SELECT 1 FROM preview_instances pi
					WHERE pi.environment_id = d.environment_id AND pi.pr_number = d.pr_number
					AND pi.deleted_at IS NOT NULL AND pi.cleaned_at IS NULL)
				ORDER BY d.created_at, d.id LIMIT 1`+q.skipLocked()+`)
			AND status = `+sqlPending+`
			RETURNING id`, p.Owner, millis(p.At), millis(p.LeaseUntil)).Scan(&id)
	})
	if errors.Is(err, store.ErrConflict) {
		// Another replica started a deployment of the same instance first.
		return liftoff.Deployment{}, fmt.Errorf("claim deployment: %w", store.ErrNotFound)
	}
	if err != nil {
		return liftoff.Deployment{}, fmt.Errorf("claim deployment: %w", err)
	}
	return q.GetDeployment(ctx, store.GetDeploymentParams{ID: id})
}

func (q queries) RenewLease(ctx context.Context, p store.RenewLeaseParams) (bool, error) {
	var cancel bool
	err := q.write(ctx, func(c Conn) error {
		return c.QueryRow(ctx, `UPDATE deployments SET lease_expires_at = $3
			WHERE id = $1 AND lease_owner = $2 AND status IN `+runningStatuses+` RETURNING cancel_requested`,
			p.ID, p.Owner, millis(p.Until)).Scan(&cancel)
	})
	if err != nil {
		return false, fmt.Errorf("renew lease of deployment %s: %w", p.ID, err)
	}
	return cancel, nil
}

func (q queries) UpdateRunningDeployment(ctx context.Context, p store.UpdateRunningParams) error {
	_, err := q.exec(ctx, `UPDATE deployments SET
			status = CASE WHEN $2 = '' THEN status ELSE $2 END,
			git_commit = CASE WHEN $3 = '' THEN git_commit ELSE $3 END,
			config = CASE WHEN $4 = '' THEN config ELSE $4 END,
			git_branch = CASE WHEN $5 = '' THEN git_branch ELSE $5 END
		WHERE id = $1 AND status IN `+runningStatuses,
		p.ID, string(p.Status), p.GitCommit, p.Config, p.GitBranch)
	if err != nil {
		return fmt.Errorf("update deployment %s: %w", p.ID, err)
	}
	return nil
}

func (q queries) FinishDeployment(ctx context.Context, p store.FinishDeploymentParams) (bool, error) {
	errs, err := encodeErrors(p.Errors)
	if err != nil {
		return false, err
	}
	n, err := q.exec(ctx, `UPDATE deployments SET status = $2, errors = $3, finished_at = $4, lease_owner = NULL, lease_expires_at = NULL
		WHERE id = $1 AND status IN `+runningStatuses, p.ID, string(p.Status), errs, millis(p.At))
	if err != nil {
		return false, fmt.Errorf("finish deployment %s: %w", p.ID, err)
	}
	return n == 1, nil
}

func (q queries) RequestCancel(ctx context.Context, p store.RequestCancelParams) (liftoff.Status, error) {
	var status liftoff.Status
	err := q.write(ctx, func(c Conn) error {
		tx := q.in(c)
		ok, err := tx.FinishPendingDeployment(ctx, store.FinishDeploymentParams{ID: p.ID, Status: liftoff.StatusCancelled, At: p.At,
			Errors: []liftoff.ErrorEntry{{Status: liftoff.StatusCancelled, Message: "cancelled before it started"}}})
		if err != nil {
			return err
		}
		if !ok {
			if _, err := c.Exec(ctx, `UPDATE deployments SET cancel_requested = true WHERE id = $1 AND status IN `+runningStatuses, p.ID); err != nil {
				return err
			}
		}
		var s string
		if err := c.QueryRow(ctx, `SELECT status FROM deployments WHERE id = $1`, p.ID).Scan(&s); err != nil {
			return err
		}
		status = liftoff.Status(s)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("cancel deployment %s: %w", p.ID, err)
	}
	return status, nil
}

func (q queries) InterruptDeployments(ctx context.Context, p store.InterruptParams) ([]string, error) {
	if p.Owner == "" && p.LeaseExpiredBefore.IsZero() {
		return nil, nil
	}
	var ids []string
	err := q.write(ctx, func(c Conn) error {
		ids = ids[:0]
		rows, err := c.Query(ctx, `SELECT id FROM deployments WHERE status IN `+runningStatuses+`
			AND (lease_owner = $1 OR lease_expires_at < $2)`, p.Owner, millis(p.LeaseExpiredBefore))
		if err != nil {
			return err
		}
		found, err := collect(rows, func(r Row) (string, error) {
			var id string
			return id, r.Scan(&id)
		}, "interrupted deployments")
		if err != nil {
			return err
		}
		errs, err := encodeErrors([]liftoff.ErrorEntry{{Status: liftoff.StatusError, Message: p.Message}})
		if err != nil {
			return err
		}
		for _, id := range found {
			if _, err := c.Exec(ctx, `UPDATE deployments SET status = `+sqlError+`, errors = $2, finished_at = $3,
				lease_owner = NULL, lease_expires_at = NULL WHERE id = $1`, id, errs, millis(p.At)); err != nil {
				return err
			}
			if _, err := c.Exec(ctx, `UPDATE service_deployments SET status = `+sqlError+`, errors = $2, finished_at = $3
				WHERE deployment_id = $1 AND status NOT IN `+finalStatuses,
				id, errs, millis(p.At)); err != nil {
				return err
			}
		}
		ids = append(ids, found...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("interrupt deployments: %w", err)
	}
	return ids, nil
}

func (q queries) InsertServiceDeployment(ctx context.Context, sd liftoff.ServiceDeployment) error {
	errs, err := encodeErrors(sd.Errors)
	if err != nil {
		return err
	}
	cfg, err := encodeConfig(sd.Config)
	if err != nil {
		return fmt.Errorf("service deployment %s: %w", sd.ID, err)
	}
	_, err = q.exec(ctx, `INSERT INTO service_deployments (id, deployment_id, service_id, service_given_id, service_name, service_type,
		service_domain, status, reason, errors, started_at, finished_at, environment_id, pr_number, git_commit, fingerprint, config,
		build_dir, image, position, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
		sd.ID, sd.DeploymentID, sd.ServiceID, sd.ServiceGivenID, sd.ServiceName, sd.ServiceType, sd.ServiceDomain,
		string(sd.Status), sd.Reason, errs, ms(sd.StartedAt), ms(sd.FinishedAt), sd.EnvironmentID, sd.PRNumber, sd.GitCommit,
		sd.Fingerprint, cfg, sd.BuildDir, sd.Image, sd.Position, millis(sd.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert service deployment: %w", err)
	}
	return nil
}

func (q queries) UpdateServiceDeployment(ctx context.Context, p store.UpdateServiceDeploymentParams) error {
	errs, err := encodeErrors(p.Errors)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, `UPDATE service_deployments SET
			status = CASE WHEN $2 = '' THEN status ELSE $2 END,
			errors = CASE WHEN $2 = '' THEN errors ELSE $3 END,
			reason = CASE WHEN $4 = '' THEN reason ELSE $4 END,
			started_at = coalesce($5, started_at),
			finished_at = coalesce($6, finished_at),
			build_dir = CASE WHEN $7 = '' THEN build_dir ELSE $7 END,
			image = CASE WHEN $8 = '' THEN image ELSE $8 END
		WHERE id = $1`, p.ID, string(p.Status), errs, p.Reason, ms(p.StartedAt), ms(p.FinishedAt), p.BuildDir, p.Image)
	if err != nil {
		return fmt.Errorf("update service deployment %s: %w", p.ID, err)
	}
	return nil
}

func (q queries) LastSuccess(ctx context.Context, p store.LastSuccessParams) (liftoff.ServiceDeployment, error) {
	before := millis(p.Before)
	if p.Before.IsZero() {
		before = 1<<62 - 1
	}
	sd, err := scanServiceDeployment(q.read.QueryRow(ctx, `SELECT `+serviceDeploymentColumns+` FROM service_deployments
		WHERE service_id = $1 AND pr_number = $2 AND status = `+sqlSuccess+` AND finished_at >= $3 AND finished_at <= $4
		ORDER BY finished_at DESC, id DESC LIMIT 1`, p.ServiceID, p.PRNumber, millis(p.Since), before))
	if err != nil {
		return liftoff.ServiceDeployment{}, fmt.Errorf("last success of service %s: %w", p.ServiceID, err)
	}
	return sd, nil
}

func (q queries) LastDeployedCommit(ctx context.Context, p store.LastDeployedCommitParams) (string, error) {
	var commit string
	err := q.read.QueryRow(ctx, `SELECT git_commit FROM service_deployments
		WHERE environment_id = $1 AND pr_number = $2 AND status = `+sqlSuccess+` AND git_commit <> ''
		ORDER BY finished_at DESC, id DESC LIMIT 1`, p.EnvironmentID, p.PRNumber).Scan(&commit)
	if err != nil {
		return "", fmt.Errorf("last deployed commit of environment %d: %w", p.EnvironmentID, err)
	}
	return commit, nil
}

func (q queries) LiveReleases(ctx context.Context) ([]liftoff.ServiceDeployment, error) {
	out, err := collectQuery(ctx, q.read, scanServiceDeployment, `SELECT `+prefixed("sd", serviceDeploymentColumns)+`
		FROM service_deployments sd
		JOIN services s ON s.id = sd.service_id AND s.deleted_at IS NULL
		JOIN environments e ON e.id = sd.environment_id AND e.deleted_at IS NULL
		WHERE sd.status = `+sqlSuccess+` AND sd.build_dir <> ''
		AND (sd.pr_number = 0 OR EXISTS (SELECT 1 FROM preview_instances pi
			WHERE pi.environment_id = sd.environment_id AND pi.pr_number = sd.pr_number
			AND pi.deleted_at IS NULL AND sd.finished_at >= pi.created_at))
		AND sd.id = (
			SELECT x.id FROM service_deployments x
			WHERE x.service_id = sd.service_id AND x.pr_number = sd.pr_number AND x.status = `+sqlSuccess+`
			ORDER BY x.finished_at DESC, x.id DESC LIMIT 1)
		ORDER BY sd.environment_id, sd.pr_number, sd.position`)
	if err != nil {
		return nil, fmt.Errorf("live releases: %w", err)
	}
	return out, nil
}

func (q queries) KeptBuilds(ctx context.Context, p store.KeptBuildsParams) ([]liftoff.ServiceDeployment, error) {
	out, err := collectQuery(ctx, q.read, scanServiceDeployment, `SELECT `+serviceDeploymentColumns+` FROM service_deployments
		WHERE service_id = $1 AND pr_number = $2 AND status = `+sqlSuccess+` AND build_dir <> ''
		ORDER BY finished_at DESC, id DESC`, p.ServiceID, p.PRNumber)
	if err != nil {
		return nil, fmt.Errorf("kept builds of service %s: %w", p.ServiceID, err)
	}
	return out, nil
}

func (q queries) ClearBuildDir(ctx context.Context, p store.ClearBuildDirParams) error {
	if _, err := q.exec(ctx, `UPDATE service_deployments SET build_dir = '' WHERE id = $1`, p.ServiceDeploymentID); err != nil {
		return fmt.Errorf("clear build of %s: %w", p.ServiceDeploymentID, err)
	}
	return nil
}

func (q queries) EnsureServices(ctx context.Context, p store.EnsureServicesParams) ([]liftoff.Service, error) {
	var out []liftoff.Service
	err := q.write(ctx, func(c Conn) error {
		out = out[:0]
		for _, s := range p.Services {
			cfg, err := encodeConfig(s.Config)
			if err != nil {
				return fmt.Errorf("service %q: %w", s.GivenID, err)
			}
			svc, err := scanService(c.QueryRow(ctx, `INSERT INTO services (id, environment_id, given_id, name, type, config, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
				ON CONFLICT (environment_id, given_id) DO UPDATE SET name = excluded.name, type = excluded.type,
					config = excluded.config, updated_at = excluded.updated_at, deleted_at = NULL
				RETURNING `+serviceColumns, p.NewServiceID(), p.EnvironmentID, s.GivenID, s.Name, s.Type, cfg, millis(p.At)))
			if err != nil {
				return fmt.Errorf("ensure service %q: %w", s.GivenID, err)
			}
			out = append(out, svc)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ensure services of environment %d: %w", p.EnvironmentID, err)
	}
	return out, nil
}

// prefixed qualifies a column list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
