package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

const projectColumns = `id, name, slug, repo_url, config_path, default_branch, config_commit, github_repository, created_at, updated_at`

func scanProject(r Row) (liftoff.Project, error) {
	var p liftoff.Project
	var created, updated int64
	err := r.Scan(&p.ID, &p.Name, &p.Slug, &p.RepoURL, &p.ConfigPath, &p.DefaultBranch, &p.ConfigCommit, &p.GitHubRepository, &created, &updated)
	p.CreatedAt, p.UpdatedAt = fromMillis(created), fromMillis(updated)
	return p, err
}

func (q queries) CreateProject(ctx context.Context, p store.CreateProjectParams) (liftoff.Project, error) {
	var out liftoff.Project
	err := q.write(ctx, func(c Conn) error {
		var err error
		out, err = scanProject(c.QueryRow(ctx, `INSERT INTO projects (id, name, slug, repo_url, config_path, default_branch, config_commit,
			github_repository, repo_credential, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING `+projectColumns,
			p.ID, p.Name, p.Slug, p.RepoURL, p.ConfigPath, p.DefaultBranch, p.ConfigCommit, p.GitHubRepository, p.RepoCredential.Userinfo, millis(p.At)))
		return err
	})
	if err != nil {
		return liftoff.Project{}, fmt.Errorf("create project: %w", err)
	}
	return out, nil
}

func (q queries) GetProject(ctx context.Context, p store.GetProjectParams) (liftoff.Project, error) {
	project, err := scanProject(q.read.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1 AND deleted_at IS NULL`, p.ID))
	if err != nil {
		return liftoff.Project{}, fmt.Errorf("get project %s: %w", p.ID, err)
	}
	return project, nil
}

func (q queries) ReplaceRepoCredential(ctx context.Context, p store.ReplaceRepoCredentialParams) (bool, error) {
	n, err := q.exec(ctx, `UPDATE projects SET repo_credential = $3 WHERE id = $1 AND repo_credential = $2 AND deleted_at IS NULL`,
		p.ProjectID, p.Old.Userinfo, p.New.Userinfo)
	if err != nil {
		return false, fmt.Errorf("replace repository credential of project %s: %w", p.ProjectID, err)
	}
	return n == 1, nil
}

func (q queries) GetRepoCredential(ctx context.Context, p store.GetRepoCredentialParams) (liftoff.RepoCredential, error) {
	var c liftoff.RepoCredential
	err := q.read.QueryRow(ctx, `SELECT repo_credential FROM projects WHERE id = $1 AND deleted_at IS NULL`, p.ProjectID).Scan(&c.Userinfo)
	if err != nil {
		return liftoff.RepoCredential{}, fmt.Errorf("get repository credential of project %s: %w", p.ProjectID, err)
	}
	return c, nil
}

func (q queries) ListProjects(ctx context.Context) ([]liftoff.Project, error) {
	rows, err := q.read.Query(ctx, `SELECT `+projectColumns+` FROM projects WHERE deleted_at IS NULL ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return collect(rows, scanProject, "list projects")
}

func (q queries) ListDeletedProjects(ctx context.Context) ([]liftoff.Project, error) {
	rows, err := q.read.Query(ctx, `SELECT `+projectColumns+` FROM projects WHERE deleted_at IS NOT NULL ORDER BY deleted_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list deleted projects: %w", err)
	}
	return collect(rows, scanProject, "list deleted projects")
}

func (q queries) GetProjectBySlug(ctx context.Context, p store.GetProjectBySlugParams) (liftoff.Project, error) {
	project, err := scanProject(q.read.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE slug = $1 AND slug <> '' AND deleted_at IS NULL`, p.Slug))
	if err != nil {
		return liftoff.Project{}, fmt.Errorf("get project with slug %q: %w", p.Slug, err)
	}
	return project, nil
}

func (q queries) SetProjectSlug(ctx context.Context, p store.SetProjectSlugParams) error {
	n, err := q.exec(ctx, `UPDATE projects SET slug = $2 WHERE id = $1 AND deleted_at IS NULL`, p.ID, p.Slug)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set slug of project %s: %w", p.ID, err)
	}
	return nil
}

func (q queries) UpdateProjectConfig(ctx context.Context, p store.UpdateProjectConfigParams) (liftoff.Project, error) {
	var out liftoff.Project
	err := q.write(ctx, func(c Conn) error {
		var err error
		out, err = scanProject(c.QueryRow(ctx, `UPDATE projects SET config_path = $2, default_branch = $3, config_commit = $4, updated_at = $5
			WHERE id = $1 AND deleted_at IS NULL RETURNING `+projectColumns,
			p.ID, p.ConfigPath, p.DefaultBranch, p.ConfigCommit, millis(p.At)))
		return err
	})
	if err != nil {
		return liftoff.Project{}, fmt.Errorf("update project %s: %w", p.ID, err)
	}
	return out, nil
}

const environmentColumns = `id, project_id, given_id, name, is_preview, branch, config, created_at, updated_at, deleted_at`

func scanEnvironment(r Row) (liftoff.Environment, error) {
	var e liftoff.Environment
	var config string
	var created, updated int64
	var deleted nullTime
	if err := r.Scan(&e.ID, &e.ProjectID, &e.GivenID, &e.Name, &e.IsPreview, &e.Branch, &config, &created, &updated, deleted.dest()); err != nil {
		return e, err
	}
	e.CreatedAt, e.UpdatedAt, e.DeletedAt = fromMillis(created), fromMillis(updated), deleted.time()
	decodeConfig(config, &e.Config)
	return e, nil
}

func (q queries) SyncEnvironments(ctx context.Context, p store.SyncEnvironmentsParams) ([]liftoff.Environment, error) {
	var out []liftoff.Environment
	err := q.write(ctx, func(c Conn) error {
		out = out[:0]
		keep := make(map[string]bool, len(p.Environments))
		for _, spec := range p.Environments {
			keep[spec.GivenID] = true
			cfg, err := encodeConfig(spec.Config)
			if err != nil {
				return fmt.Errorf("environment %q: %w", spec.GivenID, err)
			}
			env, err := scanEnvironment(c.QueryRow(ctx, `INSERT INTO environments (project_id, given_id, name, is_preview, branch, config, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
				ON CONFLICT (project_id, given_id) DO UPDATE SET name = excluded.name, is_preview = excluded.is_preview,
					branch = excluded.branch, config = excluded.config, updated_at = excluded.updated_at, deleted_at = NULL
				RETURNING `+environmentColumns,
				p.ProjectID, spec.GivenID, spec.Name, spec.IsPreview, spec.Branch, cfg, millis(p.At)))
			if err != nil {
				return fmt.Errorf("upsert environment %q: %w", spec.GivenID, err)
			}
			if err := syncServices(ctx, c, env.ID, spec.Services, p); err != nil {
				return fmt.Errorf("environment %q: %w", spec.GivenID, err)
			}
			out = append(out, env)
		}
		existing, err := collectQuery(ctx, c, scanEnvironment, `SELECT `+environmentColumns+` FROM environments WHERE project_id = $1 AND deleted_at IS NULL`, p.ProjectID)
		if err != nil {
			return err
		}
		for _, env := range existing {
			if keep[env.GivenID] {
				continue
			}
			if _, err := c.Exec(ctx, `UPDATE environments SET deleted_at = $2, updated_at = $2 WHERE id = $1`, env.ID, millis(p.At)); err != nil {
				return fmt.Errorf("delete environment %q: %w", env.GivenID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sync environments of project %s: %w", p.ProjectID, err)
	}
	return out, nil
}

func syncServices(ctx context.Context, c Conn, envID int64, specs []store.ServiceSpec, p store.SyncEnvironmentsParams) error {
	for _, s := range specs {
		cfg, err := encodeConfig(s.Config)
		if err != nil {
			return fmt.Errorf("service %q: %w", s.GivenID, err)
		}
		_, err = c.Exec(ctx, `INSERT INTO services (id, environment_id, given_id, name, type, config, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
			ON CONFLICT (environment_id, given_id) DO UPDATE SET name = excluded.name, type = excluded.type,
				config = excluded.config, updated_at = excluded.updated_at, deleted_at = NULL`,
			p.NewServiceID(), envID, s.GivenID, s.Name, s.Type, cfg, millis(p.At))
		if err != nil {
			return fmt.Errorf("upsert service %q: %w", s.GivenID, err)
		}
	}
	keep := make([]any, 0, len(specs)+2)
	keep = append(keep, envID, millis(p.At))
	list := ""
	for i, s := range specs {
		if i > 0 {
			list += ", "
		}
		keep = append(keep, s.GivenID)
		list += fmt.Sprintf("$%d", i+3)
	}
	query := `UPDATE services SET deleted_at = $2, updated_at = $2 WHERE environment_id = $1 AND deleted_at IS NULL`
	if list != "" {
		query += ` AND given_id NOT IN (` + list + `)`
	}
	if _, err := c.Exec(ctx, query, keep...); err != nil {
		return fmt.Errorf("delete services: %w", err)
	}
	return nil
}

func (q queries) ListEnvironments(ctx context.Context, p store.ListEnvironmentsParams) ([]liftoff.Environment, error) {
	envs, err := collectQuery(ctx, q.read, scanEnvironment, `SELECT `+environmentColumns+` FROM environments
		WHERE project_id = $1 AND deleted_at IS NULL ORDER BY id`, p.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("list environments of project %s: %w", p.ProjectID, err)
	}
	return envs, nil
}

func (q queries) GetEnvironment(ctx context.Context, p store.GetEnvironmentParams) (liftoff.Environment, error) {
	e, err := scanEnvironment(q.read.QueryRow(ctx, `SELECT `+environmentColumns+` FROM environments WHERE id = $1`, p.ID))
	if err != nil {
		return liftoff.Environment{}, fmt.Errorf("get environment %d: %w", p.ID, err)
	}
	return e, nil
}

const serviceColumns = `id, environment_id, given_id, name, type, config, created_at, updated_at`

func scanService(r Row) (liftoff.Service, error) {
	var s liftoff.Service
	var config string
	var created, updated int64
	if err := r.Scan(&s.ID, &s.EnvironmentID, &s.GivenID, &s.Name, &s.Type, &config, &created, &updated); err != nil {
		return s, err
	}
	s.CreatedAt, s.UpdatedAt = fromMillis(created), fromMillis(updated)
	decodeConfig(config, &s.Config)
	return s, nil
}

func (q queries) ListServices(ctx context.Context, p store.ListServicesParams) ([]liftoff.Service, error) {
	svcs, err := collectQuery(ctx, q.read, scanService, `SELECT `+serviceColumns+` FROM services
		WHERE environment_id = $1 AND deleted_at IS NULL ORDER BY created_at, given_id`, p.EnvironmentID)
	if err != nil {
		return nil, fmt.Errorf("list services of environment %d: %w", p.EnvironmentID, err)
	}
	return svcs, nil
}

func (q queries) GetService(ctx context.Context, p store.GetServiceParams) (liftoff.Service, error) {
	svc, err := scanService(q.read.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services WHERE id = $1 AND deleted_at IS NULL`, p.ID))
	if err != nil {
		return liftoff.Service{}, fmt.Errorf("get service %s: %w", p.ID, err)
	}
	return svc, nil
}

// collect scans every row of rows and closes it.
func collect[T any](rows Rows, scan func(Row) (T, error), what string) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// collectQuery runs a query and scans every row.
func collectQuery[T any](ctx context.Context, c Conn, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := c.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan, "scan")
}

// notFound reports whether err is store.ErrNotFound.
func notFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func (q queries) DeleteProject(ctx context.Context, p store.DeleteProjectParams) (liftoff.Project, error) {
	errs, err := encodeErrors([]liftoff.ErrorEntry{{Status: liftoff.StatusCancelled, Message: p.Message}})
	if err != nil {
		return liftoff.Project{}, err
	}
	var project liftoff.Project
	err = q.write(ctx, func(c Conn) error {
		var err error
		if project, err = scanProject(c.QueryRow(ctx, `UPDATE projects SET deleted_at = $2, updated_at = $2
			WHERE id = $1 AND deleted_at IS NULL RETURNING `+projectColumns, p.ID, millis(p.At))); err != nil {
			return err
		}
		envs := `(SELECT id FROM environments WHERE project_id = $1)`
		for _, stmt := range []struct {
			query string
			args  []any
		}{
			{`UPDATE deployments SET status = ` + sqlCancelled + `, errors = $2, finished_at = $3
				WHERE environment_id IN ` + envs + ` AND status = ` + sqlPending, []any{p.ID, errs, millis(p.At)}},
			{`UPDATE deployments SET cancel_requested = true WHERE environment_id IN ` + envs + ` AND status IN ` + runningStatuses, []any{p.ID}},
			{`UPDATE deploy_hooks SET deleted_at = $2 WHERE environment_id IN ` + envs + ` AND deleted_at IS NULL`, []any{p.ID, millis(p.At)}},
			{`UPDATE preview_instances SET deleted_at = $2, teardown_at = NULL, cleaned_at = NULL
				WHERE environment_id IN ` + envs + ` AND deleted_at IS NULL`, []any{p.ID, millis(p.At)}},
			{`UPDATE services SET deleted_at = $2, updated_at = $2 WHERE environment_id IN ` + envs + ` AND deleted_at IS NULL`, []any{p.ID, millis(p.At)}},
			{`UPDATE environments SET deleted_at = $2, updated_at = $2 WHERE project_id = $1 AND deleted_at IS NULL`, []any{p.ID, millis(p.At)}},
			{`DELETE FROM host_claims WHERE project_id = $1`, []any{p.ID}},
			// Its variables, secrets and preview passwords are
			// credentials, not history.
			{`DELETE FROM variables WHERE project_id = $1`, []any{p.ID}},
			{`DELETE FROM secrets WHERE project_id = $1`, []any{p.ID}},
			{`DELETE FROM environment_protection WHERE environment_id IN ` + envs, []any{p.ID}},
		} {
			if _, err := c.Exec(ctx, stmt.query, stmt.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return liftoff.Project{}, fmt.Errorf("delete project %s: %w", p.ID, err)
	}
	return project, nil
}
