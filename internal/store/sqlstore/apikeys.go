package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// The scope and the environments come back with the key in the one lookup by
// hash that authenticates a request.
const apiKeyColumns = `id, name, key_hash, scope, environment_ids, created_at`

func scanAPIKey(r Row) (liftoff.APIKey, error) {
	var k liftoff.APIKey
	var created int64
	var envs string
	if err := r.Scan(&k.ID, &k.Name, &k.Hash, &k.Scope, &envs, &created); err != nil {
		return k, err
	}
	k.CreatedAt = fromMillis(created)
	if err := json.Unmarshal([]byte(envs), &k.EnvironmentIDs); err != nil {
		return k, fmt.Errorf("API key %s: environment_ids %q: %w", k.ID, envs, err)
	}
	if len(k.EnvironmentIDs) == 0 {
		k.EnvironmentIDs = nil
	}
	return k, nil
}

func (q queries) CreateAPIKey(ctx context.Context, p store.CreateAPIKeyParams) (liftoff.APIKey, error) {
	envs := p.EnvironmentIDs
	if envs == nil {
		envs = []int64{}
	}
	b, err := json.Marshal(envs)
	if err != nil {
		return liftoff.APIKey{}, fmt.Errorf("create API key: %w", err)
	}
	_, err = q.exec(ctx, `INSERT INTO api_keys (id, name, key_hash, scope, environment_ids, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.ID, p.Name, p.Hash, p.Scope, string(b), millis(p.At))
	if err != nil {
		return liftoff.APIKey{}, fmt.Errorf("create API key: %w", err)
	}
	k := liftoff.APIKey{ID: p.ID, Name: p.Name, Hash: p.Hash, Scope: p.Scope, CreatedAt: fromMillis(millis(p.At))}
	if len(p.EnvironmentIDs) > 0 {
		k.EnvironmentIDs = append([]int64(nil), p.EnvironmentIDs...)
	}
	return k, nil
}

func (q queries) ListAPIKeys(ctx context.Context) ([]liftoff.APIKey, error) {
	keys, err := collectQuery(ctx, q.read, scanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE deleted_at IS NULL ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return keys, nil
}

func (q queries) GetAPIKeyByHash(ctx context.Context, p store.GetAPIKeyByHashParams) (liftoff.APIKey, error) {
	k, err := scanAPIKey(q.read.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE key_hash = $1 AND deleted_at IS NULL`, p.Hash))
	if err != nil {
		return liftoff.APIKey{}, fmt.Errorf("get API key: %w", err)
	}
	return k, nil
}

func (q queries) DeleteAPIKey(ctx context.Context, p store.DeleteAPIKeyParams) error {
	n, err := q.exec(ctx, `UPDATE api_keys SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL`, p.ID, millis(p.At))
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete API key %s: %w", p.ID, err)
	}
	return nil
}
