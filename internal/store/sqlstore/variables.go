package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

const variableColumns = `project_id, environment_id, service_id, name, kind, value, key_id, sealed, updated_at`

func scanVariable(r Row) (liftoff.Variable, error) {
	var v liftoff.Variable
	var kind string
	var updated int64
	if err := r.Scan(&v.ProjectID, &v.EnvironmentID, &v.ServiceID, &v.Name, &kind, &v.Value, &v.KeyID, &v.Sealed, &updated); err != nil {
		return v, err
	}
	v.Kind, v.UpdatedAt = liftoff.VariableKind(kind), fromMillis(updated)
	return v, nil
}

func (q queries) PutVariables(ctx context.Context, vars []liftoff.Variable) error {
	for _, v := range vars {
		var sealed any
		if v.Sealed != nil {
			sealed = v.Sealed
		}
		if _, err := q.exec(ctx, `INSERT INTO variables (`+variableColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (project_id, environment_id, service_id, name) DO UPDATE SET
				kind = excluded.kind, value = excluded.value, key_id = excluded.key_id,
				sealed = excluded.sealed, updated_at = excluded.updated_at`,
			v.ProjectID, v.EnvironmentID, v.ServiceID, v.Name, string(v.Kind), v.Value, v.KeyID, sealed, millis(v.UpdatedAt)); err != nil {
			return fmt.Errorf("put variable %s: %w", v.Name, err)
		}
	}
	return nil
}

// scopeWhere is the WHERE clause of ListVariables and ListSecrets, and its
// arguments.
func scopeWhere(p store.ListVariablesParams) (string, []any) {
	var conds []string
	var args []any
	if p.ProjectID != "" {
		args = append(args, p.ProjectID)
		conds = append(conds, "project_id = $1")
	}
	if p.EnvironmentIDs != nil {
		marks := make([]string, len(p.EnvironmentIDs))
		for i, id := range p.EnvironmentIDs {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		if len(marks) == 0 {
			marks = []string{"NULL"}
		}
		conds = append(conds, "environment_id IN ("+strings.Join(marks, ", ")+")")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func (q queries) ListVariables(ctx context.Context, p store.ListVariablesParams) ([]liftoff.Variable, error) {
	where, args := scopeWhere(p)
	vars, err := collectQuery(ctx, q.read, scanVariable, `SELECT `+variableColumns+` FROM variables`+where+`
		ORDER BY project_id, environment_id, service_id, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	return vars, nil
}

func (q queries) DeleteVariable(ctx context.Context, p store.DeleteVariableParams) error {
	n, err := q.exec(ctx, `DELETE FROM variables WHERE project_id = $1 AND environment_id = $2 AND service_id = $3 AND name = $4`,
		p.ProjectID, p.EnvironmentID, p.ServiceID, p.Name)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete variable %s: %w", p.Name, err)
	}
	return nil
}

func (q queries) ResealVariable(ctx context.Context, p store.ResealParams[liftoff.Variable]) (bool, error) {
	o := p.Old
	n, err := q.exec(ctx, `UPDATE variables SET key_id = $5, sealed = $6, updated_at = $7
		WHERE project_id = $1 AND environment_id = $2 AND service_id = $3 AND name = $4 AND key_id = $8 AND sealed = $9`,
		o.ProjectID, o.EnvironmentID, o.ServiceID, o.Name, p.KeyID, p.Sealed, millis(p.At), o.KeyID, o.Sealed)
	if err != nil {
		return false, fmt.Errorf("reseal variable %s: %w", o.Name, err)
	}
	return n == 1, nil
}

const secretColumns = `project_id, environment_id, name, key_id, sealed, updated_at`

func scanSecret(r Row) (liftoff.Secret, error) {
	var s liftoff.Secret
	var updated int64
	if err := r.Scan(&s.ProjectID, &s.EnvironmentID, &s.Name, &s.KeyID, &s.Sealed, &updated); err != nil {
		return s, err
	}
	s.UpdatedAt = fromMillis(updated)
	return s, nil
}

func (q queries) PutSecret(ctx context.Context, s liftoff.Secret) error {
	if _, err := q.exec(ctx, `INSERT INTO secrets (`+secretColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (project_id, environment_id, name) DO UPDATE SET
			key_id = excluded.key_id, sealed = excluded.sealed, updated_at = excluded.updated_at`,
		s.ProjectID, s.EnvironmentID, s.Name, s.KeyID, s.Sealed, millis(s.UpdatedAt)); err != nil {
		return fmt.Errorf("put secret: %w", err)
	}
	return nil
}

func (q queries) ListSecrets(ctx context.Context, p store.ListVariablesParams) ([]liftoff.Secret, error) {
	where, args := scopeWhere(p)
	secrets, err := collectQuery(ctx, q.read, scanSecret, `SELECT `+secretColumns+` FROM secrets`+where+`
		ORDER BY project_id, environment_id, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return secrets, nil
}

func (q queries) DeleteSecret(ctx context.Context, p store.DeleteSecretParams) error {
	n, err := q.exec(ctx, `DELETE FROM secrets WHERE project_id = $1 AND environment_id = $2 AND name = $3`,
		p.ProjectID, p.EnvironmentID, p.Name)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete secret: %w", err)
	}
	return nil
}

func (q queries) ResealSecret(ctx context.Context, p store.ResealParams[liftoff.Secret]) (bool, error) {
	o := p.Old
	n, err := q.exec(ctx, `UPDATE secrets SET key_id = $4, sealed = $5, updated_at = $6
		WHERE project_id = $1 AND environment_id = $2 AND name = $3 AND key_id = $7 AND sealed = $8`,
		o.ProjectID, o.EnvironmentID, o.Name, p.KeyID, p.Sealed, millis(p.At), o.KeyID, o.Sealed)
	if err != nil {
		return false, fmt.Errorf("reseal secret: %w", err)
	}
	return n == 1, nil
}
