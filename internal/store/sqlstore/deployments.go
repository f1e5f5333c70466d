package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// deploymentSelect reads deployments with the environment fields the API
// shows beside them.
const deploymentSelect = `SELECT ` + deploymentSelectColumns + ` FROM deployments d JOIN environments e ON e.id = d.environment_id`

// deploymentSelectColumns are the columns scanDeployment reads.
const deploymentSelectColumns = `d.id, d.project_id, d.environment_id, e.given_id, e.is_preview, d.pr_number, d.repo_url,
	d.requested_commit, d.git_commit, d.git_branch, d.force, d.trigger_type, d.hook_id, d.hook_name, d.status, d.errors,
	d.created_at, d.started_at, d.finished_at, d.config, d.redeploy_of, d.cancel_requested, d.trigger_detail, d.clear_cache`

func scanDeployment(r Row) (liftoff.Deployment, error) {
	var d liftoff.Deployment
	var commit, hookID, hookName, errs, config, redeployOf, detail nullString
	var created int64
	var started, finished nullTime
	var status string
	err := r.Scan(&d.ID, &d.ProjectID, &d.EnvironmentID, &d.EnvironmentGivenID, &d.IsPreview, &d.PRNumber, &d.RepoURL,
		&d.RequestedCommit, commit.dest(), &d.GitBranch, &d.Force, &d.TriggerType, hookID.dest(), hookName.dest(), &status, errs.dest(),
		&created, started.dest(), finished.dest(), config.dest(), redeployOf.dest(), &d.CancelRequested, detail.dest(), &d.ClearCache)
	if err != nil {
		return d, err
	}
	d.GitCommit, d.HookID, d.HookName, d.Status = commit.string(), hookID.string(), hookName.string(), liftoff.Status(status)
	d.Config, d.RedeployOf = config.string(), redeployOf.string()
	d.CreatedAt, d.StartedAt, d.FinishedAt = fromMillis(created), started.time(), finished.time()
	d.TriggerDetail = decodeDetail(detail)
	d.Errors, err = decodeErrors(errs)
	return d, err
}

const insertDeployment = `INSERT INTO deployments (id, project_id, environment_id, pr_number, repo_url, requested_commit, git_commit,
	git_branch, force, trigger_type, hook_id, hook_name, status, errors, created_at, started_at, finished_at, redeploy_of,
	trigger_detail, clear_cache)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`

func deploymentArgs(d liftoff.Deployment) ([]any, error) {
	errs, err := encodeErrors(d.Errors)
	if err != nil {
		return nil, err
	}
	detail, err := encodeDetail(d.TriggerDetail)
	if err != nil {
		return nil, err
	}
	return []any{d.ID, d.ProjectID, d.EnvironmentID, d.PRNumber, d.RepoURL, d.RequestedCommit, emptyNull(d.GitCommit),
		d.GitBranch, d.Force, d.TriggerType, emptyNull(d.HookID), emptyNull(d.HookName), string(d.Status), errs,
		millis(d.CreatedAt), ms(d.StartedAt), ms(d.FinishedAt), emptyNull(d.RedeployOf), detail, d.ClearCache}, nil
}

func (q queries) InsertDeployment(ctx context.Context, d liftoff.Deployment) error {
	args, err := deploymentArgs(d)
	if err != nil {
		return err
	}
	if _, err = q.exec(ctx, insertDeployment, args...); err != nil {
		return fmt.Errorf("insert deployment: %w", err)
	}
	return nil
}

func (q queries) InsertPendingDeployment(ctx context.Context, d liftoff.Deployment) (bool, error) {
	if d.Status != liftoff.StatusPending {
		return false, fmt.Errorf("insert pending deployment: status is %s", d.Status)
	}
	args, err := deploymentArgs(d)
	if err != nil {
		return false, err
	}
	// The conflict target is the partial unique index of PENDING
	// deployments. Concurrent calls commit together; the key orders them
	// by that index, so that two groups wait on each other's rows in one
	// order only.
	n, err := q.grouped(ctx, instanceKey(d.EnvironmentID, d.PRNumber), insertDeployment+` ON CONFLICT (environment_id, pr_number) WHERE status = `+sqlPending+` DO NOTHING`, args...)
	if err != nil {
		return false, fmt.Errorf("insert pending deployment: %w", err)
	}
	return n == 1, nil
}

// instanceKey names an environment instance. Keys order the statements
// of a group commit: any order does, as long as every replica uses the
// same.
func instanceKey(environmentID int64, prNumber int) string {
	var b [32]byte
	k := strconv.AppendInt(b[:0], environmentID, 10)
	k = append(k, '/')
	return string(strconv.AppendInt(k, int64(prNumber), 10))
}

func (q queries) GetDeployment(ctx context.Context, p store.GetDeploymentParams) (liftoff.Deployment, error) {
	d, err := scanDeployment(q.read.QueryRow(ctx, deploymentSelect+` WHERE d.id = $1`, p.ID))
	if err != nil {
		return liftoff.Deployment{}, fmt.Errorf("get deployment %s: %w", p.ID, err)
	}
	d.Services, err = collectQuery(ctx, q.read, scanServiceDeployment, `SELECT `+serviceDeploymentColumns+`
		FROM service_deployments WHERE deployment_id = $1 ORDER BY position, id`, p.ID)
	if err != nil {
		return liftoff.Deployment{}, fmt.Errorf("get service deployments of %s: %w", p.ID, err)
	}
	return d, nil
}

func (q queries) GetPendingDeployment(ctx context.Context, p store.GetPendingDeploymentParams) (liftoff.Deployment, error) {
	d, err := scanDeployment(q.read.QueryRow(ctx, deploymentSelect+` WHERE d.environment_id = $1 AND d.pr_number = $2 AND d.status = `+sqlPending,
		p.EnvironmentID, p.PRNumber))
	if err != nil {
		return liftoff.Deployment{}, fmt.Errorf("get pending deployment of environment %d: %w", p.EnvironmentID, err)
	}
	return d, nil
}

func (q queries) LockInstance(ctx context.Context, p store.LockInstanceParams) error {
	if q.dialect != "postgres" {
		return nil
	}
	// Advisory locks are per database: the schema is in the key, so
	// installations in schemas of one database do not wait on each other.
	key := instanceKey(p.EnvironmentID, p.PRNumber)
	if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('liftoff-instance:' || current_schema() || ':' || $1, 0))`,
		key); err != nil {
		return fmt.Errorf("lock instance %s: %w", key, err)
	}
	return nil
}

// QueueStats reads the two partial indexes of the queue: PENDING and
// running deployments.
func (q queries) QueueStats(ctx context.Context) (store.QueueStats, error) {
	var st store.QueueStats
	var oldest *int64
	if err := q.read.QueryRow(ctx, `SELECT count(*), min(created_at) FROM deployments WHERE status = `+sqlPending).Scan(&st.Pending, &oldest); err != nil {
		return st, fmt.Errorf("count pending deployments: %w", err)
	}
	if oldest != nil {
		st.OldestPending = fromMillis(*oldest)
	}
	if err := q.read.QueryRow(ctx, `SELECT count(*) FROM deployments WHERE status IN `+runningStatuses).Scan(&st.Running); err != nil {
		return st, fmt.Errorf("count running deployments: %w", err)
	}
	return st, nil
}

func (q queries) JoinPendingDeployment(ctx context.Context, p store.JoinPendingDeploymentParams) (bool, error) {
	var set []string
	if p.Force {
		set = append(set, "force = true")
	}
	if p.ClearCache {
		set = append(set, "clear_cache = true")
	}
	query := `UPDATE deployments SET ` + strings.Join(set, ", ") + ` WHERE id = $1 AND status = ` + sqlPending
	if len(set) == 0 {
		// Nothing to upgrade: only check that it is still PENDING.
		var one int
		err := q.read.QueryRow(ctx, `SELECT 1 FROM deployments WHERE id = $1 AND status = `+sqlPending, p.ID).Scan(&one)
		if notFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("join deployment %s: %w", p.ID, err)
		}
		return true, nil
	}
	n, err := q.exec(ctx, query, p.ID)
	if err != nil {
		return false, fmt.Errorf("join deployment %s: %w", p.ID, err)
	}
	return n == 1, nil
}

func (q queries) FinishPendingDeployment(ctx context.Context, p store.FinishDeploymentParams) (bool, error) {
	errs, err := encodeErrors(p.Errors)
	if err != nil {
		return false, err
	}
	n, err := q.exec(ctx, `UPDATE deployments SET status = $2, errors = $3, finished_at = $4 WHERE id = $1 AND status = `+sqlPending,
		p.ID, string(p.Status), errs, millis(p.At))
	if err != nil {
		return false, fmt.Errorf("finish pending deployment %s: %w", p.ID, err)
	}
	return n == 1, nil
}

func (q queries) ListDeployments(ctx context.Context, p store.ListDeploymentsParams) ([]liftoff.Deployment, error) {
	var where []string
	var args []any
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(args)), 1)
		}
		where = append(where, cond)
	}
	if p.ProjectID != "" {
		add("d.project_id = ?", p.ProjectID)
	}
	if p.EnvironmentID != 0 {
		add("d.environment_id = ?", p.EnvironmentID)
	}
	if p.EnvironmentIDs != nil {
		if len(p.EnvironmentIDs) == 0 {
			return nil, nil
		}
		ids := make([]any, len(p.EnvironmentIDs))
		for i, id := range p.EnvironmentIDs {
			ids[i] = id
		}
		add("d.environment_id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+")", ids...)
	}
	if p.HasPRNumber {
		add("d.pr_number = ?", p.PRNumber)
	}
	if p.Status != "" {
		add("d.status = ?", string(p.Status))
	}
	if p.AfterID != "" {
		add("(d.created_at < ? OR (d.created_at = ? AND d.id < ?))", millis(p.AfterCreatedAt), millis(p.AfterCreatedAt), p.AfterID)
	}
	query := deploymentSelect
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 20
	}
	args = append(args, limit)
	query += fmt.Sprintf(" ORDER BY d.created_at DESC, d.id DESC LIMIT $%d", len(args))
	out, err := collectQuery(ctx, q.read, scanDeployment, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	if err := q.addServiceDeployments(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// addServiceDeployments fills in the service deployments of a page of
// deployments with one query, whatever the page's size.
func (q queries) addServiceDeployments(ctx context.Context, ds []liftoff.Deployment) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]any, len(ds))
	marks := make([]string, len(ds))
	index := make(map[string]int, len(ds))
	for i, d := range ds {
		ids[i], marks[i], index[d.ID] = d.ID, fmt.Sprintf("$%d", i+1), i
	}
	sds, err := collectQuery(ctx, q.read, scanServiceDeployment, `SELECT `+serviceDeploymentColumns+`
		FROM service_deployments WHERE deployment_id IN (`+strings.Join(marks, ", ")+`) ORDER BY position, id`, ids...)
	if err != nil {
		return fmt.Errorf("list service deployments: %w", err)
	}
	for _, sd := range sds {
		i := index[sd.DeploymentID]
		ds[i].Services = append(ds[i].Services, sd)
	}
	return nil
}

const serviceDeploymentColumns = `id, deployment_id, service_id, service_given_id, service_name, service_type, service_domain,
	status, reason, errors, started_at, finished_at, environment_id, pr_number, git_commit, fingerprint, config, build_dir,
	image, position, created_at`

func scanServiceDeployment(r Row) (liftoff.ServiceDeployment, error) {
	var s liftoff.ServiceDeployment
	var status, config string
	var errs nullString
	var started, finished nullTime
	var created int64
	err := r.Scan(&s.ID, &s.DeploymentID, &s.ServiceID, &s.ServiceGivenID, &s.ServiceName, &s.ServiceType, &s.ServiceDomain,
		&status, &s.Reason, errs.dest(), started.dest(), finished.dest(), &s.EnvironmentID, &s.PRNumber, &s.GitCommit,
		&s.Fingerprint, &config, &s.BuildDir, &s.Image, &s.Position, &created)
	if err != nil {
		return s, err
	}
	decodeConfig(config, &s.Config)
	s.CreatedAt = fromMillis(created)
	s.Status, s.StartedAt, s.FinishedAt = liftoff.Status(status), started.time(), finished.time()
	s.Errors, err = decodeErrors(errs)
	return s, err
}
