package sqlstore

import (
	"context"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

const resourceColumns = `id, project_id, environment_id, pr_number, service_id, kind, name, key_id, sealed, state, created_at, updated_at`

func scanResource(r Row) (liftoff.ManagedResource, error) {
	var m liftoff.ManagedResource
	var state string
	var created, updated int64
	err := r.Scan(&m.ID, &m.ProjectID, &m.EnvironmentID, &m.PRNumber, &m.ServiceID, &m.Kind, &m.Name, &m.KeyID, &m.Sealed,
		&state, &created, &updated)
	m.State, m.CreatedAt, m.UpdatedAt = liftoff.ResourceState(state), fromMillis(created), fromMillis(updated)
	return m, err
}

func (q queries) InsertManagedResource(ctx context.Context, m liftoff.ManagedResource) error {
	_, err := q.exec(ctx, `INSERT INTO managed_resources (`+resourceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		m.ID, m.ProjectID, m.EnvironmentID, m.PRNumber, m.ServiceID, m.Kind, m.Name, m.KeyID, m.Sealed,
		string(m.State), millis(m.CreatedAt), millis(m.UpdatedAt))
	if err != nil {
		return fmt.Errorf("record the %s resource %s: %w", m.Kind, m.Name, err)
	}
	return nil
}

func (q queries) GetManagedResource(ctx context.Context, p store.GetManagedResourceParams) (liftoff.ManagedResource, error) {
	m, err := scanResource(q.read.QueryRow(ctx, `SELECT `+resourceColumns+` FROM managed_resources
		WHERE environment_id = $1 AND pr_number = $2 AND service_id = $3`, p.EnvironmentID, p.PRNumber, p.ServiceID))
	if err != nil {
		return liftoff.ManagedResource{}, fmt.Errorf("get the resource of service %s of environment %d (PR %d): %w",
			p.ServiceID, p.EnvironmentID, p.PRNumber, err)
	}
	return m, nil
}

func (q queries) ListManagedResources(ctx context.Context, p store.ListManagedResourcesParams) ([]liftoff.ManagedResource, error) {
	all, instance := 0, 0
	if p.EnvironmentID == 0 {
		all = 1
	}
	if p.AllInstances {
		instance = 1
	}
	out, err := collectQuery(ctx, q.read, scanResource, `SELECT `+resourceColumns+` FROM managed_resources
		WHERE ($1 = 1 OR environment_id = $2) AND ($3 = 1 OR pr_number = $4)
		ORDER BY environment_id, pr_number, service_id`, all, p.EnvironmentID, instance, p.PRNumber)
	if err != nil {
		return nil, fmt.Errorf("list managed resources: %w", err)
	}
	return out, nil
}

func (q queries) SetManagedResourceState(ctx context.Context, p store.SetManagedResourceStateParams) error {
	n, err := q.exec(ctx, `UPDATE managed_resources SET state = $2, updated_at = $3 WHERE id = $1`, p.ID, string(p.State), millis(p.At))
	if err != nil {
		return fmt.Errorf("set the state of resource %s: %w", p.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("set the state of resource %s: %w", p.ID, store.ErrNotFound)
	}
	return nil
}

func (q queries) DeleteManagedResource(ctx context.Context, p store.DeleteManagedResourceParams) error {
	if _, err := q.exec(ctx, `DELETE FROM managed_resources WHERE id = $1`, p.ID); err != nil {
		return fmt.Errorf("forget resource %s: %w", p.ID, err)
	}
	return nil
}

func (q queries) ResealManagedResource(ctx context.Context, p store.ResealParams[liftoff.ManagedResource]) (bool, error) {
	o := p.Old
	n, err := q.exec(ctx, `UPDATE managed_resources SET key_id = $2, sealed = $3, updated_at = $4
		WHERE id = $1 AND key_id = $5 AND sealed = $6`, o.ID, p.KeyID, p.Sealed, millis(p.At), o.KeyID, o.Sealed)
	if err != nil {
		return false, fmt.Errorf("reseal the password of resource %s: %w", o.ID, err)
	}
	return n == 1, nil
}
