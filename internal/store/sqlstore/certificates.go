package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// under returns the bounds of the keys under prefix: those that start with
// prefix + "/" are at least prefix + "/" and below prefix + "0", '0' being
// the byte after '/'. Keys compare byte by byte on both dialects (SQLite's
// BINARY collation; the column's COLLATE "C" on PostgreSQL), so this is one
// range of the primary key, and no LIKE pattern needs its '_' and '%'
// escaped.
func under(prefix string) (lo, hi string) { return prefix + "/", prefix + "0" }

func (q queries) PutCertificateItem(ctx context.Context, item liftoff.CertificateItem) error {
	if item.Key == "" {
		return errors.New("put certificate item: the key is empty")
	}
	if _, err := q.exec(ctx, `INSERT INTO certificates (key, key_id, sealed, size, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (key) DO UPDATE SET key_id = excluded.key_id, sealed = excluded.sealed, size = excluded.size,
			updated_at = excluded.updated_at`,
		item.Key, item.KeyID, item.Sealed, item.Size, millis(item.UpdatedAt)); err != nil {
		return fmt.Errorf("put certificate item %s: %w", item.Key, err)
	}
	return nil
}

func scanCertificateItem(r Row) (liftoff.CertificateItem, error) {
	var it liftoff.CertificateItem
	var updated int64
	err := r.Scan(&it.Key, &it.KeyID, &it.Sealed, &it.Size, &updated)
	it.UpdatedAt = fromMillis(updated)
	return it, err
}

func (q queries) GetCertificateItem(ctx context.Context, p store.GetCertificateItemParams) (liftoff.CertificateItem, error) {
	it, err := scanCertificateItem(q.read.QueryRow(ctx, `SELECT key, key_id, sealed, size, updated_at FROM certificates
		WHERE key = $1`, p.Key))
	if err != nil {
		return liftoff.CertificateItem{}, fmt.Errorf("get certificate item %s: %w", p.Key, err)
	}
	return it, nil
}

func (q queries) ListCertificateItems(ctx context.Context, p store.ListCertificateItemsParams) ([]liftoff.CertificateItem, error) {
	// Without the sealed values, their columns read as empty.
	columns := `key, '', NULL, size, updated_at`
	if p.Sealed {
		columns = `key, key_id, sealed, size, updated_at`
	}
	where, args := "", []any{}
	if p.Prefix != "" {
		lo, hi := under(p.Prefix)
		where, args = ` WHERE key >= $1 AND key < $2`, []any{lo, hi}
	}
	limit := ""
	if p.Limit > 0 {
		args = append(args, p.Limit)
		limit = fmt.Sprintf(" LIMIT $%d", len(args))
	}
	items, err := collectQuery(ctx, q.read, scanCertificateItem, `SELECT `+columns+` FROM certificates`+where+` ORDER BY key`+limit, args...)
	if err != nil {
		return nil, fmt.Errorf("list certificate items under %q: %w", p.Prefix, err)
	}
	return items, nil
}

func (q queries) DeleteCertificateItems(ctx context.Context, p store.DeleteCertificateItemsParams) (int64, error) {
	if p.Key == "" {
		return 0, errors.New("delete certificate items: the key is empty (it would delete every item)")
	}
	lo, hi := under(p.Key)
	n, err := q.exec(ctx, `DELETE FROM certificates WHERE key = $1 OR (key >= $2 AND key < $3)`, p.Key, lo, hi)
	if err != nil {
		return 0, fmt.Errorf("delete certificate items at %s: %w", p.Key, err)
	}
	return n, nil
}

// ResealCertificateItem keeps the item's updated_at: its value did not
// change, and certmagic orders what it stored (ACME accounts) by it.
func (q queries) ResealCertificateItem(ctx context.Context, p store.ResealParams[liftoff.CertificateItem]) (bool, error) {
	o := p.Old
	n, err := q.exec(ctx, `UPDATE certificates SET key_id = $2, sealed = $3 WHERE key = $1 AND key_id = $4 AND sealed = $5`,
		o.Key, p.KeyID, p.Sealed, o.KeyID, o.Sealed)
	if err != nil {
		return false, fmt.Errorf("reseal certificate item %s: %w", o.Key, err)
	}
	return n == 1, nil
}

// AcquireCertificateLock is one conditional upsert: it inserts the lock,
// or takes over a row whose holder let it expire. On PostgreSQL a
// concurrent insert of the same name waits for the first to commit and
// then evaluates the WHERE against the row as committed, so two replicas
// never both see their statement count a row; SQLite writes one statement
// at a time.
func (q queries) AcquireCertificateLock(ctx context.Context, p store.AcquireCertificateLockParams) (bool, error) {
	n, err := q.exec(ctx, `INSERT INTO certificate_locks (name, owner, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE certificate_locks.expires_at <= $4`,
		p.Name, p.Owner, millis(p.ExpiresAt), millis(p.At))
	if err != nil {
		return false, fmt.Errorf("acquire certificate lock %s: %w", p.Name, err)
	}
	return n == 1, nil
}

func (q queries) RenewCertificateLock(ctx context.Context, p store.RenewCertificateLockParams) (bool, error) {
	n, err := q.exec(ctx, `UPDATE certificate_locks SET expires_at = $3 WHERE name = $1 AND owner = $2`,
		p.Name, p.Owner, millis(p.ExpiresAt))
	if err != nil {
		return false, fmt.Errorf("renew certificate lock %s: %w", p.Name, err)
	}
	return n == 1, nil
}

func (q queries) ReleaseCertificateLock(ctx context.Context, p store.ReleaseCertificateLockParams) (bool, error) {
	n, err := q.exec(ctx, `DELETE FROM certificate_locks WHERE name = $1 AND owner = $2`, p.Name, p.Owner)
	if err != nil {
		return false, fmt.Errorf("release certificate lock %s: %w", p.Name, err)
	}
	return n == 1, nil
}
