package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

const hookColumns = `id, environment_id, name, secret_hash, previous_secret_hash, previous_expires_at, paused,
	use_count, last_used_at, last_caller_address, created_at, updated_at`

func scanHook(r Row) (liftoff.Hook, error) {
	var h liftoff.Hook
	var prevHash, lastAddr nullString
	var prevExp, lastUsed nullTime
	var created, updated int64
	err := r.Scan(&h.ID, &h.EnvironmentID, &h.Name, &h.SecretHash, prevHash.dest(), prevExp.dest(), &h.Paused,
		&h.UseCount, lastUsed.dest(), lastAddr.dest(), &created, &updated)
	h.PreviousSecretHash, h.PreviousExpiresAt = prevHash.string(), prevExp.time()
	h.LastUsedAt, h.LastCallerAddress = lastUsed.time(), lastAddr.string()
	h.CreatedAt, h.UpdatedAt = fromMillis(created), fromMillis(updated)
	return h, err
}

func (q queries) CreateHook(ctx context.Context, p store.CreateHookParams) (liftoff.Hook, error) {
	var h liftoff.Hook
	err := q.write(ctx, func(c Conn) error {
		var err error
		h, err = scanHook(c.QueryRow(ctx, `INSERT INTO deploy_hooks (id, environment_id, name, secret_hash, paused, use_count, created_at, updated_at)
			VALUES ($1, $2, $3, $4, false, 0, $5, $5) RETURNING `+hookColumns,
			p.ID, p.EnvironmentID, p.Name, p.SecretHash, millis(p.At)))
		return err
	})
	if err != nil {
		return liftoff.Hook{}, fmt.Errorf("create deploy hook: %w", err)
	}
	return h, nil
}

func (q queries) GetHook(ctx context.Context, p store.GetHookParams) (liftoff.Hook, error) {
	h, err := scanHook(q.read.QueryRow(ctx, `SELECT `+hookColumns+` FROM deploy_hooks WHERE id = $1 AND deleted_at IS NULL`, p.ID))
	if err != nil {
		return liftoff.Hook{}, fmt.Errorf("get deploy hook %s: %w", p.ID, err)
	}
	return h, nil
}

func (q queries) ListHooks(ctx context.Context, p store.ListHooksParams) ([]liftoff.Hook, error) {
	hooks, err := collectQuery(ctx, q.read, scanHook, `SELECT `+hookColumns+` FROM deploy_hooks
		WHERE environment_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`, p.EnvironmentID)
	if err != nil {
		return nil, fmt.Errorf("list deploy hooks of environment %d: %w", p.EnvironmentID, err)
	}
	return hooks, nil
}

// updateHook runs an UPDATE on a live hook and returns the hook after it.
func (q queries) updateHook(ctx context.Context, id, what, set string, args ...any) (liftoff.Hook, error) {
	var h liftoff.Hook
	err := q.write(ctx, func(c Conn) error {
		var err error
		h, err = scanHook(c.QueryRow(ctx, `UPDATE deploy_hooks SET `+set+` WHERE id = $1 AND deleted_at IS NULL RETURNING `+hookColumns,
			append([]any{id}, args...)...))
		return err
	})
	if err != nil {
		return liftoff.Hook{}, fmt.Errorf("%s deploy hook %s: %w", what, id, err)
	}
	return h, nil
}

func (q queries) RotateHook(ctx context.Context, p store.RotateHookParams) (liftoff.Hook, error) {
	if p.PreviousExpiresAt.IsZero() {
		return q.updateHook(ctx, p.ID, "rotate", `secret_hash = $2, previous_secret_hash = NULL, previous_expires_at = NULL, updated_at = $3`,
			p.SecretHash, millis(p.At))
	}
	return q.updateHook(ctx, p.ID, "rotate", `previous_secret_hash = secret_hash, previous_expires_at = $4, secret_hash = $2, updated_at = $3`,
		p.SecretHash, millis(p.At), millis(p.PreviousExpiresAt))
}

func (q queries) SetHookPaused(ctx context.Context, p store.SetHookPausedParams) (liftoff.Hook, error) {
	return q.updateHook(ctx, p.ID, "pause", `paused = $2, updated_at = $3`, p.Paused, millis(p.At))
}

func (q queries) DeleteHook(ctx context.Context, p store.DeleteHookParams) error {
	_, err := q.updateHook(ctx, p.ID, "delete", `deleted_at = $2, updated_at = $2`, millis(p.At))
	return err
}

func (q queries) HookTarget(ctx context.Context, p store.HookTargetParams) (store.HookTarget, error) {
	// One round trip: the environment with its project, its service count and
	// its live hooks (one row per hook; a row of NULL hook columns when none).
	rows, err := q.read.Query(ctx, `SELECT e.id, e.project_id, e.given_id, e.name, e.is_preview, e.branch, e.config,
			e.created_at, e.updated_at, e.deleted_at, p.repo_url,
			(SELECT count(*) FROM services s WHERE s.environment_id = e.id AND s.deleted_at IS NULL),
			h.id, h.name, h.secret_hash, h.previous_secret_hash, h.previous_expires_at, h.paused
		FROM environments e
		JOIN projects p ON p.id = e.project_id
		LEFT JOIN deploy_hooks h ON h.environment_id = e.id AND h.deleted_at IS NULL
		WHERE e.id = $1`, p.EnvironmentID)
	if err != nil {
		return store.HookTarget{}, fmt.Errorf("hook target %d: %w", p.EnvironmentID, err)
	}
	defer rows.Close()
	var t store.HookTarget
	found := false
	for rows.Next() {
		var e liftoff.Environment
		var config string
		var created, updated int64
		var deleted, prevExp nullTime
		var hookID, name, hash, prevHash nullString
		var paused *bool
		if err := rows.Scan(&e.ID, &e.ProjectID, &e.GivenID, &e.Name, &e.IsPreview, &e.Branch, &config,
			&created, &updated, deleted.dest(), &t.RepoURL, &t.ServiceCount,
			hookID.dest(), name.dest(), hash.dest(), prevHash.dest(), prevExp.dest(), &paused); err != nil {
			return store.HookTarget{}, fmt.Errorf("hook target %d: %w", p.EnvironmentID, err)
		}
		decodeConfig(config, &e.Config)
		e.CreatedAt, e.UpdatedAt, e.DeletedAt = fromMillis(created), fromMillis(updated), deleted.time()
		t.Environment, t.ProjectID, found = e, e.ProjectID, true
		if hookID.v != nil {
			t.Hooks = append(t.Hooks, liftoff.Hook{ID: hookID.string(), EnvironmentID: e.ID, Name: name.string(),
				SecretHash: hash.string(), PreviousSecretHash: prevHash.string(), PreviousExpiresAt: prevExp.time(),
				Paused: paused != nil && *paused})
		}
	}
	if err := rows.Err(); err != nil {
		return store.HookTarget{}, fmt.Errorf("hook target %d: %w", p.EnvironmentID, err)
	}
	if !found {
		return store.HookTarget{}, fmt.Errorf("hook target %d: %w", p.EnvironmentID, store.ErrNotFound)
	}
	return t, nil
}

func (q queries) RecordHookCalls(ctx context.Context, calls []liftoff.HookCall) error {
	if len(calls) == 0 {
		return nil
	}
	err := q.write(ctx, func(c Conn) error {
		if err := q.insertHookCalls(ctx, c, calls); err != nil {
			return err
		}
		// Usage counters: one UPDATE per hook, with its count and its last call.
		type usage struct {
			count int
			last  liftoff.HookCall
		}
		byHook := map[string]*usage{}
		var order []string
		for _, call := range calls {
			u := byHook[call.HookID]
			if u == nil {
				u = &usage{}
				byHook[call.HookID] = u
				order = append(order, call.HookID)
			}
			u.count++
			// At the store's precision: of two calls in one millisecond
			// the later one listed is the last.
			if millis(call.At) >= millis(u.last.At) {
				u.last = call
			}
		}
		for _, id := range order {
			u := byHook[id]
			if _, err := c.Exec(ctx, `UPDATE deploy_hooks SET use_count = use_count + $2,
				last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at <= $3 THEN $3 ELSE last_used_at END,
				last_caller_address = CASE WHEN last_used_at IS NULL OR last_used_at <= $3 THEN $4 ELSE last_caller_address END
				WHERE id = $1`, id, u.count, millis(u.last.At), u.last.Address); err != nil {
				return fmt.Errorf("update usage of hook %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record hook calls: %w", err)
	}
	return nil
}

// insertHookCalls inserts calls in their order. On PostgreSQL one
// statement of arrays takes any number of them, and being always the same
// it is prepared once per connection; elsewhere one multi-row INSERT per
// chunk keeps the statement count low.
func (q queries) insertHookCalls(ctx context.Context, c Conn, calls []liftoff.HookCall) error {
	if q.dialect == "postgres" {
		hooks, addrs, outcomes := make([]string, len(calls)), make([]string, len(calls)), make([]string, len(calls))
		at, status, deps := make([]int64, len(calls)), make([]int32, len(calls)), make([]*string, len(calls))
		for i, call := range calls {
			hooks[i], at[i], addrs[i], status[i], outcomes[i] = call.HookID, millis(call.At), call.Address, int32(call.Status), call.Outcome
			if call.DeploymentID != "" {
				deps[i] = &calls[i].DeploymentID
			}
		}
		// Ids follow the order of the calls: ORDER BY feeds the identity
		// column in that order.
		if _, err := c.Exec(ctx, `INSERT INTO hook_calls (hook_id, created_at, address, status, outcome, deployment_id)
			SELECT hook_id, created_at, address, status, outcome, deployment_id
			FROM unnest($1::text[], $2::bigint[], $3::text[], $4::integer[], $5::text[], $6::text[]) WITH ORDINALITY
				AS c (hook_id, created_at, address, status, outcome, deployment_id, n)
			ORDER BY n`, hooks, at, addrs, status, outcomes, deps); err != nil {
			return fmt.Errorf("insert hook calls: %w", err)
		}
		return nil
	}
	const chunk = 100
	for start := 0; start < len(calls); start += chunk {
		part := calls[start:min(start+chunk, len(calls))]
		var sb strings.Builder
		args := make([]any, 0, len(part)*6)
		sb.WriteString(`INSERT INTO hook_calls (hook_id, created_at, address, status, outcome, deployment_id) VALUES `)
		for i, call := range part {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := i * 6
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
			args = append(args, call.HookID, millis(call.At), call.Address, call.Status, call.Outcome, emptyNull(call.DeploymentID))
		}
		if _, err := c.Exec(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("insert hook calls: %w", err)
		}
	}
	return nil
}

func scanHookCall(r Row) (liftoff.HookCall, error) {
	var c liftoff.HookCall
	var at int64
	var dep nullString
	err := r.Scan(&c.ID, &c.HookID, &at, &c.Address, &c.Status, &c.Outcome, dep.dest())
	c.At, c.DeploymentID = fromMillis(at), dep.string()
	return c, err
}

func (q queries) ListHookCalls(ctx context.Context, p store.ListHookCallsParams) ([]liftoff.HookCall, error) {
	calls, err := collectQuery(ctx, q.read, scanHookCall, `SELECT id, hook_id, created_at, address, status, outcome, deployment_id
		FROM hook_calls WHERE hook_id = $1 ORDER BY id DESC LIMIT $2`, p.HookID, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list calls of hook %s: %w", p.HookID, err)
	}
	return calls, nil
}

func (q queries) PruneHookCalls(ctx context.Context, p store.PruneHookCallsParams) error {
	err := q.write(ctx, func(c Conn) error {
		for _, id := range p.HookIDs {
			if _, err := c.Exec(ctx, `DELETE FROM hook_calls WHERE hook_id = $1 AND id < (
				SELECT coalesce(min(id), 0) FROM (SELECT id FROM hook_calls WHERE hook_id = $1 ORDER BY id DESC LIMIT $2) AS newest)`,
				id, p.Keep); err != nil {
				return fmt.Errorf("prune calls of hook %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("prune hook calls: %w", err)
	}
	return nil
}

func (q queries) GetIdempotencyKey(ctx context.Context, p store.GetIdempotencyKeyParams) (string, error) {
	var id string
	err := q.read.QueryRow(ctx, `SELECT deployment_id FROM idempotency_keys WHERE hook_id = $1 AND key = $2 AND created_at >= $3`,
		p.HookID, p.Key, millis(p.Since)).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("get idempotency key: %w", err)
	}
	return id, nil
}

func (q queries) PutIdempotencyKey(ctx context.Context, p store.PutIdempotencyKeyParams) error {
	n, err := q.exec(ctx, `INSERT INTO idempotency_keys (hook_id, key, deployment_id, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (hook_id, key) DO UPDATE SET deployment_id = excluded.deployment_id, created_at = excluded.created_at
		WHERE idempotency_keys.created_at < $5`, p.HookID, p.Key, p.DeploymentID, millis(p.At), millis(p.ExpiredBefore))
	if err == nil && n == 0 {
		err = store.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("put idempotency key: %w", err)
	}
	return nil
}

func (q queries) DeleteIdempotencyKeysBefore(ctx context.Context, p store.DeleteIdempotencyKeysBeforeParams) (int64, error) {
	n, err := q.exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, millis(p.Before))
	if err != nil {
		return 0, fmt.Errorf("delete idempotency keys: %w", err)
	}
	return n, nil
}
