package sqlstore

import (
	"context"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/store"
)

func scanAPIKey(r Row) (store.APIKey, error) {
	var k store.APIKey
	var created int64
	err := r.Scan(&k.ID, &k.Name, &k.Hash, &created)
	k.CreatedAt = store.FromMillis(created)
	return k, err
}

func (q queries) CreateAPIKey(ctx context.Context, p store.CreateAPIKeyParams) (store.APIKey, error) {
	_, err := q.exec(ctx, `INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)`,
		p.ID, p.Name, p.Hash, p.At.Millis())
	if err != nil {
		return store.APIKey{}, fmt.Errorf("create API key: %w", err)
	}
	return store.APIKey{ID: p.ID, Name: p.Name, Hash: p.Hash, CreatedAt: p.At}, nil
}

func (q queries) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	keys, err := collectQuery(ctx, q.read, scanAPIKey, `SELECT id, name, key_hash, created_at FROM api_keys
		WHERE deleted_at IS NULL ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return keys, nil
}

func (q queries) GetAPIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	k, err := scanAPIKey(q.read.QueryRow(ctx, `SELECT id, name, key_hash, created_at FROM api_keys
		WHERE key_hash = $1 AND deleted_at IS NULL`, hash))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("get API key: %w", err)
	}
	return k, nil
}

func (q queries) DeleteAPIKey(ctx context.Context, id string, at store.Time) error {
	n, err := q.exec(ctx, `UPDATE api_keys SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL`, id, at.Millis())
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete API key %s: %w", id, err)
	}
	return nil
}
