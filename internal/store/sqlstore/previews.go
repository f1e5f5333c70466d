package sqlstore

import (
	"context"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

const previewColumns = `environment_id, pr_number, head_branch, created_at, last_deployed_at, teardown_at, deleted_at, cleaned_at`

func scanPreview(r Row) (liftoff.PreviewInstance, error) {
	var p liftoff.PreviewInstance
	var created, deployed int64
	var teardown, deleted, cleaned nullTime
	err := r.Scan(&p.EnvironmentID, &p.PRNumber, &p.HeadBranch, &created, &deployed, teardown.dest(), deleted.dest(), cleaned.dest())
	p.CreatedAt, p.LastDeployedAt = fromMillis(created), fromMillis(deployed)
	p.TeardownAt, p.DeletedAt, p.CleanedAt = teardown.time(), deleted.time(), cleaned.time()
	return p, err
}

func (q queries) UpsertPreviewInstance(ctx context.Context, p store.UpsertPreviewParams) (liftoff.PreviewInstance, error) {
	var out liftoff.PreviewInstance
	err := q.write(ctx, func(c Conn) error {
		var err error
		// A torn down instance starts afresh: a new created_at, so its
		// watch-path history starts again.
		out, err = scanPreview(c.QueryRow(ctx, `INSERT INTO preview_instances (environment_id, pr_number, head_branch, created_at, last_deployed_at)
			VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (environment_id, pr_number) DO UPDATE SET
				head_branch = CASE WHEN excluded.head_branch = '' THEN preview_instances.head_branch ELSE excluded.head_branch END,
				created_at = CASE WHEN preview_instances.deleted_at IS NULL THEN preview_instances.created_at ELSE excluded.created_at END,
				last_deployed_at = excluded.last_deployed_at,
				teardown_at = CASE WHEN preview_instances.deleted_at IS NULL THEN preview_instances.teardown_at ELSE NULL END,
				deleted_at = NULL, cleaned_at = NULL
			RETURNING `+previewColumns, p.EnvironmentID, p.PRNumber, p.HeadBranch, millis(p.At)))
		return err
	})
	if err != nil {
		return liftoff.PreviewInstance{}, fmt.Errorf("upsert preview instance %d/#%d: %w", p.EnvironmentID, p.PRNumber, err)
	}
	return out, nil
}

func (q queries) GetPreviewInstance(ctx context.Context, p store.GetPreviewInstanceParams) (liftoff.PreviewInstance, error) {
	inst, err := scanPreview(q.read.QueryRow(ctx, `SELECT `+previewColumns+` FROM preview_instances
		WHERE environment_id = $1 AND pr_number = $2`, p.EnvironmentID, p.PRNumber))
	if err != nil {
		return liftoff.PreviewInstance{}, fmt.Errorf("get preview instance %d/#%d: %w", p.EnvironmentID, p.PRNumber, err)
	}
	return inst, nil
}

func (q queries) ListPreviewInstances(ctx context.Context, p store.ListPreviewInstancesParams) ([]liftoff.PreviewInstance, error) {
	query := `SELECT ` + previewColumns + ` FROM preview_instances WHERE environment_id = $1`
	if !p.IncludeDeleted {
		query += ` AND deleted_at IS NULL`
	}
	out, err := collectQuery(ctx, q.read, scanPreview, query+` ORDER BY pr_number`, p.EnvironmentID)
	if err != nil {
		return nil, fmt.Errorf("list preview instances of %d: %w", p.EnvironmentID, err)
	}
	return out, nil
}

func (q queries) DeletePreviewInstance(ctx context.Context, p store.DeletePreviewInstanceParams) (liftoff.PreviewInstance, error) {
	var out liftoff.PreviewInstance
	err := q.write(ctx, func(c Conn) error {
		var err error
		out, err = scanPreview(c.QueryRow(ctx, `UPDATE preview_instances SET deleted_at = $3, teardown_at = NULL, cleaned_at = NULL
			WHERE environment_id = $1 AND pr_number = $2 AND deleted_at IS NULL RETURNING `+previewColumns,
			p.EnvironmentID, p.PRNumber, millis(p.At)))
		return err
	})
	if err != nil {
		return liftoff.PreviewInstance{}, fmt.Errorf("delete preview instance %d/#%d: %w", p.EnvironmentID, p.PRNumber, err)
	}
	return out, nil
}

func (q queries) SchedulePreviewTeardown(ctx context.Context, p store.SchedulePreviewTeardownParams) error {
	if _, err := q.exec(ctx, `UPDATE preview_instances SET teardown_at = $3
		WHERE environment_id = $1 AND pr_number = $2 AND deleted_at IS NULL`, p.EnvironmentID, p.PRNumber, ms(p.At)); err != nil {
		return fmt.Errorf("schedule teardown of %d/#%d: %w", p.EnvironmentID, p.PRNumber, err)
	}
	return nil
}

func (q queries) PreviewsDue(ctx context.Context, p store.PreviewsDueParams) ([]liftoff.PreviewInstance, error) {
	query := `SELECT ` + previewColumns + ` FROM preview_instances WHERE deleted_at IS NULL AND (teardown_at <= $1`
	args := []any{millis(p.Now)}
	for i, id := range p.EnvironmentIDs {
		args = append(args, id, millis(p.StaleBefore[i]))
		query += fmt.Sprintf(` OR (environment_id = $%d AND last_deployed_at < $%d)`, len(args)-1, len(args))
	}
	out, err := collectQuery(ctx, q.read, scanPreview, query+`) ORDER BY environment_id, pr_number`, args...)
	if err != nil {
		return nil, fmt.Errorf("previews due: %w", err)
	}
	return out, nil
}

func (q queries) PreviewsToClean(ctx context.Context) ([]liftoff.PreviewInstance, error) {
	out, err := collectQuery(ctx, q.read, scanPreview, `SELECT `+previewColumns+` FROM preview_instances
		WHERE deleted_at IS NOT NULL AND cleaned_at IS NULL ORDER BY environment_id, pr_number`)
	if err != nil {
		return nil, fmt.Errorf("previews to clean: %w", err)
	}
	return out, nil
}

func (q queries) MarkPreviewCleaned(ctx context.Context, p store.MarkPreviewCleanedParams) error {
	if _, err := q.exec(ctx, `UPDATE preview_instances SET cleaned_at = $3
		WHERE environment_id = $1 AND pr_number = $2 AND deleted_at IS NOT NULL`, p.EnvironmentID, p.PRNumber, millis(p.At)); err != nil {
		return fmt.Errorf("mark %d/#%d cleaned: %w", p.EnvironmentID, p.PRNumber, err)
	}
	return nil
}

func (q queries) CancelInstanceDeployments(ctx context.Context, p store.CancelInstanceDeploymentsParams) error {
	errs, err := encodeErrors([]liftoff.ErrorEntry{{Status: liftoff.StatusCancelled, Message: p.Message}})
	if err != nil {
		return err
	}
	err = q.write(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, `UPDATE deployments SET status = `+sqlCancelled+`, errors = $3, finished_at = $4
			WHERE environment_id = $1 AND pr_number = $2 AND status = `+sqlPending, p.EnvironmentID, p.PRNumber, errs, millis(p.At)); err != nil {
			return err
		}
		_, err := c.Exec(ctx, `UPDATE deployments SET cancel_requested = true
			WHERE environment_id = $1 AND pr_number = $2 AND status IN `+runningStatuses, p.EnvironmentID, p.PRNumber)
		return err
	})
	if err != nil {
		return fmt.Errorf("cancel deployments of %d/#%d: %w", p.EnvironmentID, p.PRNumber, err)
	}
	return nil
}

func (q queries) InstanceRunning(ctx context.Context, p store.InstanceRunningParams) (bool, error) {
	var n int
	err := q.read.QueryRow(ctx, `SELECT count(*) FROM deployments WHERE environment_id = $1 AND pr_number = $2 AND status IN `+runningStatuses,
		p.EnvironmentID, p.PRNumber).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("running deployments of %d/#%d: %w", p.EnvironmentID, p.PRNumber, err)
	}
	return n > 0, nil
}

func (q queries) InstanceBuilds(ctx context.Context, p store.InstanceBuildsParams) ([]liftoff.ServiceDeployment, error) {
	out, err := collectQuery(ctx, q.read, scanServiceDeployment, `SELECT `+serviceDeploymentColumns+` FROM service_deployments
		WHERE environment_id = $1 AND pr_number = $2 AND build_dir <> ''`, p.EnvironmentID, p.PRNumber)
	if err != nil {
		return nil, fmt.Errorf("builds of %d/#%d: %w", p.EnvironmentID, p.PRNumber, err)
	}
	return out, nil
}

func (q queries) ListPreviewEnvironments(ctx context.Context) ([]liftoff.Environment, error) {
	out, err := collectQuery(ctx, q.read, scanEnvironment, `SELECT `+environmentColumns+` FROM environments
		WHERE is_preview AND deleted_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list preview environments: %w", err)
	}
	return out, nil
}

func (q queries) CountLivePreviews(ctx context.Context, p store.CountLivePreviewsParams) (store.LivePreviews, error) {
	var out store.LivePreviews
	if q.dialect == "postgres" {
		// Under READ COMMITTED two callers would both count before either
		// inserted; the row lock makes the second wait for the first's
		// commit, and its count (a new snapshot) then sees it.
		var id int64
		if err := q.read.QueryRow(ctx, `SELECT id FROM environments WHERE id = $1 FOR UPDATE`, p.EnvironmentID).Scan(&id); err != nil {
			return out, fmt.Errorf("lock environment %d: %w", p.EnvironmentID, err)
		}
	}
	var count, includes int64
	// Each part uses an index: the primary key of preview_instances, and
	// the partial unique indexes of PENDING and of running deployments.
	err := q.read.QueryRow(ctx, `SELECT COUNT(*), COALESCE(MAX(CASE WHEN pr_number = $2 THEN 1 ELSE 0 END), 0) FROM (
		SELECT pr_number FROM preview_instances WHERE environment_id = $1 AND deleted_at IS NULL
		UNION SELECT pr_number FROM deployments WHERE environment_id = $1 AND status = `+sqlPending+`
		UNION SELECT pr_number FROM deployments WHERE environment_id = $1 AND status IN `+runningStatuses+`
	) AS live WHERE pr_number > 0`, p.EnvironmentID, p.PRNumber).Scan(&count, &includes)
	if err != nil {
		return out, fmt.Errorf("count live previews of %d: %w", p.EnvironmentID, err)
	}
	return store.LivePreviews{Count: int(count), Includes: includes == 1}, nil
}
