package sqlstore

import (
	"context"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

const protectionColumns = `environment_id, mode, password_key_id, password_sealed, updated_at`

func scanProtection(r Row) (liftoff.EnvironmentProtection, error) {
	var p liftoff.EnvironmentProtection
	var mode string
	var updated int64
	err := r.Scan(&p.EnvironmentID, &mode, &p.PasswordKeyID, &p.PasswordSealed, &updated)
	p.Mode, p.UpdatedAt = liftoff.ProtectionMode(mode), fromMillis(updated)
	if p.PasswordKeyID == "" {
		p.PasswordSealed = nil
	}
	return p, err
}

func (q queries) GetEnvironmentProtection(ctx context.Context, p store.GetEnvironmentProtectionParams) (liftoff.EnvironmentProtection, error) {
	got, err := scanProtection(q.read.QueryRow(ctx, `SELECT `+protectionColumns+` FROM environment_protection
		WHERE environment_id = $1`, p.EnvironmentID))
	if err != nil {
		return liftoff.EnvironmentProtection{}, fmt.Errorf("get the protection of environment %d: %w", p.EnvironmentID, err)
	}
	return got, nil
}

func (q queries) SetEnvironmentProtection(ctx context.Context, p store.SetEnvironmentProtectionParams) (liftoff.EnvironmentProtection, error) {
	setMode, setPassword := 0, 0
	var mode liftoff.ProtectionMode
	if p.Mode != nil {
		setMode, mode = 1, *p.Mode
	}
	var keyID string
	var sealed []byte
	if p.Password != nil {
		setPassword, keyID, sealed = 1, p.Password.KeyID, p.Password.Sealed
		if keyID == "" {
			sealed = nil
		}
	}
	var out liftoff.EnvironmentProtection
	// One statement: what this call does not set keeps the value it has
	// when the statement runs, not when the caller last read it.
	err := q.write(ctx, func(c Conn) error {
		var err error
		out, err = scanProtection(c.QueryRow(ctx, `INSERT INTO environment_protection (`+protectionColumns+`)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (environment_id) DO UPDATE SET
				mode = CASE WHEN $6 = 1 THEN excluded.mode ELSE environment_protection.mode END,
				password_key_id = CASE WHEN $7 = 1 THEN excluded.password_key_id ELSE environment_protection.password_key_id END,
				password_sealed = CASE WHEN $7 = 1 THEN excluded.password_sealed ELSE environment_protection.password_sealed END,
				updated_at = excluded.updated_at
			RETURNING `+protectionColumns,
			p.EnvironmentID, string(mode), keyID, sealed, millis(p.At), setMode, setPassword))
		return err
	})
	if err != nil {
		return liftoff.EnvironmentProtection{}, fmt.Errorf("set the protection of environment %d: %w", p.EnvironmentID, err)
	}
	return out, nil
}

func (q queries) ListEnvironmentProtections(ctx context.Context) ([]liftoff.EnvironmentProtection, error) {
	out, err := collectQuery(ctx, q.read, scanProtection, `SELECT `+protectionColumns+` FROM environment_protection
		ORDER BY environment_id`)
	if err != nil {
		return nil, fmt.Errorf("list environment protections: %w", err)
	}
	return out, nil
}

func (q queries) ResealProtectionPassword(ctx context.Context, p store.ResealParams[liftoff.EnvironmentProtection]) (bool, error) {
	o := p.Old
	n, err := q.exec(ctx, `UPDATE environment_protection SET password_key_id = $2, password_sealed = $3
		WHERE environment_id = $1 AND password_key_id = $4 AND password_sealed = $5`,
		o.EnvironmentID, p.KeyID, p.Sealed, o.PasswordKeyID, o.PasswordSealed)
	if err != nil {
		return false, fmt.Errorf("reseal the password of environment %d: %w", o.EnvironmentID, err)
	}
	return n == 1, nil
}
