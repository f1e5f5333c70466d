// Package certstore is certmagic's Storage on Liftoff's store, so that every
// replica that shares a database shares its TLS certificates: one replica
// issues a certificate, every replica serves it, and none issues it twice.
//
// # Values
//
// certmagic keeps certificates, their private keys, ACME accounts and OCSP
// staples as values under slash-separated keys
// (certificates/<issuer>/<domain>/<domain>.key). Each value is sealed with
// the secret keyring (internal/secretbox, AES-256-GCM) and bound to its key
// (liftoff.CertificateItemAAD): the database never holds a private key in
// clear, and a value moved to another key no longer opens. liftoff secrets
// rotate-key seals them again with the new key (internal/variables).
// "Directories" are implicit, as certmagic's FileStorage has them: a key
// with items under it is a directory (Stat says IsTerminal false, Exists
// true, List lists it), and Delete of it deletes everything under it.
//
// # Locks
//
// certmagic takes a named lock across the cluster before it issues or
// renews a certificate. A lock is a row of its own (name, owner, expiry):
// Lock inserts it, or takes over a row whose expiry passed, in one
// conditional upsert (INSERT ... ON CONFLICT DO UPDATE ... WHERE expiry
// passed), and counts the row it wrote. The owner is a token of its own
// for each acquisition, so two goroutines of one process exclude each other
// as two replicas do, and only the holder's Unlock deletes the row. While
// the lock is held a goroutine pushes its expiry LockTTL ahead every third
// of it; Unlock stops it. A holder that dies stops pushing, and its lock is
// free LockTTL after the last push. A waiter polls: immediately again when
// a lock of the same Storage is released, and otherwise after a backoff
// from 50ms up to PollInterval, ending when its context does.
//
// The same statement is right on both dialects. SQLite runs every write on
// its one writer connection (internal/store/sqlite's group commit), one
// statement at a time. On PostgreSQL two replicas inserting one name
// serialize on the primary key: the second waits for the first to commit,
// then evaluates the WHERE against the row as committed, so exactly one
// counts a row. PostgreSQL's advisory locks were the other choice; they
// are not used because a session lock pins one pooled connection for the
// whole hold (minutes of ACME), is lost silently when that connection
// drops and is meaningless through a transaction-pooling PgBouncer, a
// transaction lock would hold a transaction open as long, and SQLite has
// neither, so they would be a second mechanism where one table serves
// both.
//
// Expiry is compared with the acquirer's clock, as the engine's leases
// are: replicas' clocks must agree to well within LockTTL (a clock ahead by
// more than two thirds of it could take a live lock). As certmagic's
// Locker says, the lock is a timeout lock, not a fencing one; certmagic
// checks again for the certificate once it holds the lock.
//
// certmagic.LockLeaseRenewer is not implemented on purpose: the refresh
// keeps a lock as long as its holder lives, and a longer lease would only
// make a dead holder's lock last longer.
package certstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Options tune a Storage. Zero values take the defaults.
type Options struct {
	// LockTTL is how long a lock outlives its holder's last refresh; the
	// holder refreshes it every third of it. Default 1 minute: a replica
	// that dies holding a lock delays the others by at most that.
	LockTTL time.Duration
	// PollInterval is the longest wait between two attempts at a lock that
	// another replica holds. Default 1 second.
	PollInterval time.Duration
	// NodeID starts the owner token of every lock this Storage takes, so
	// that an operator reading the certificate_locks table sees which
	// replica holds one. Optional.
	NodeID string
	// Now is the clock of lock expiries and item times. Default time.Now.
	Now func() time.Time
	// Logger reports locks lost and refreshes that failed. Default
	// slog.Default().
	Logger *slog.Logger
}

// firstPoll is the first wait for a lock held elsewhere; it doubles up to
// Options.PollInterval.
const firstPoll = 50 * time.Millisecond

// Storage is a certmagic.Storage (and certmagic.TryLocker) on a
// store.Store. It is safe for concurrent use. Every replica makes its own,
// on the same database and with the same key file.
type Storage struct {
	st   store.Store
	keys *secretbox.Keyring
	opts Options

	mu sync.Mutex
	// held are the locks this Storage holds, by name.
	held map[string]*heldLock
	// released is closed (and replaced) whenever this Storage releases a
	// lock, to wake its own waiters at once.
	released chan struct{}

	// refreshed, when set (tests), is called after each refresh of a lock
	// with the expiry it wrote and whether the lock was still held.
	refreshed func(name string, expires time.Time, held bool)
}

// heldLock is a lock this Storage holds.
type heldLock struct {
	token string
	stop  chan struct{} // closed by Unlock: stop refreshing
	done  chan struct{} // closed when the refresh goroutine returned
}

var (
	_ certmagic.Storage   = (*Storage)(nil)
	_ certmagic.TryLocker = (*Storage)(nil)
)

// New returns certmagic's storage on st, sealing values with keys. Give
// every replica the same key file (liftoff serve's --secret-key-file).
func New(st store.Store, keys *secretbox.Keyring, opts Options) *Storage {
	if opts.LockTTL <= 0 {
		opts.LockTTL = time.Minute
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Storage{st: st, keys: keys, opts: opts, held: map[string]*heldLock{}, released: make(chan struct{})}
}

// String names the storage in certmagic's logs.
func (s *Storage) String() string { return "liftoff certificate store (" + s.st.Dialect() + ")" }

// clean makes key a key as certmagic writes them: slash-separated, no
// empty, "." or ".." component, no leading or trailing slash. "" is the
// root.
func clean(key string) string {
	return strings.TrimPrefix(path.Clean("/"+key), "/")
}

// fileKey is clean for the calls that name one value, which the root is
// not.
func fileKey(op, key string) (string, error) {
	k := clean(key)
	if k == "" {
		return "", fmt.Errorf("certificate storage: %s: the key %q names no value", op, key)
	}
	return k, nil
}

// Store implements certmagic.Storage: it seals value and puts it at key.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	k, err := fileKey("store", key)
	if err != nil {
		return err
	}
	keyID, sealed, err := s.keys.Seal(value, liftoff.CertificateItemAAD(k))
	if err != nil {
		return fmt.Errorf("certificate storage: seal %s: %w", k, err)
	}
	return s.st.PutCertificateItem(ctx, liftoff.CertificateItem{Key: k, KeyID: keyID, Sealed: sealed,
		Size: int64(len(value)), UpdatedAt: s.opts.Now()})
}

// Load implements certmagic.Storage: the value at key, opened; an error
// that is fs.ErrNotExist when there is none.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	k, err := fileKey("load", key)
	if err != nil {
		return nil, err
	}
	it, err := s.st.GetCertificateItem(ctx, store.GetCertificateItemParams{Key: k})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("certificate storage: load %s: %w", k, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("certificate storage: %w", err)
	}
	plain, err := s.keys.Open(it.KeyID, it.Sealed, liftoff.CertificateItemAAD(k))
	if err != nil {
		return nil, fmt.Errorf("certificate storage: open %s: %w", k, err)
	}
	return plain, nil
}

// Delete implements certmagic.Storage: it deletes the value at key and
// every value under it; a key that does not exist is no error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	k, err := fileKey("delete", key)
	if err != nil {
		return err
	}
	if _, err := s.st.DeleteCertificateItems(ctx, store.DeleteCertificateItemsParams{Key: k}); err != nil {
		return fmt.Errorf("certificate storage: %w", err)
	}
	return nil
}

// Exists implements certmagic.Storage: whether key holds a value or has
// values under it. false when the store could not tell.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	k := clean(key)
	if k != "" {
		if _, err := s.st.GetCertificateItem(ctx, store.GetCertificateItemParams{Key: k}); err == nil {
			return true
		}
	}
	items, err := s.st.ListCertificateItems(ctx, store.ListCertificateItemsParams{Prefix: k, Limit: 1})
	return err == nil && len(items) > 0
}

// Stat implements certmagic.Storage. A key that holds a value is
// terminal, with the value's size (in clear) and the time it was stored; a
// key with values under it is a directory (IsTerminal false) modified when
// the newest of them was stored. An error that is fs.ErrNotExist when it
// is neither.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	k := clean(key)
	if k != "" {
		it, err := s.st.GetCertificateItem(ctx, store.GetCertificateItemParams{Key: k})
		if err == nil {
			return certmagic.KeyInfo{Key: k, Modified: it.UpdatedAt, Size: it.Size, IsTerminal: true}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return certmagic.KeyInfo{}, fmt.Errorf("certificate storage: %w", err)
		}
	}
	items, err := s.st.ListCertificateItems(ctx, store.ListCertificateItemsParams{Prefix: k})
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("certificate storage: %w", err)
	}
	if len(items) == 0 {
		return certmagic.KeyInfo{}, fmt.Errorf("certificate storage: stat %s: %w", k, fs.ErrNotExist)
	}
	info := certmagic.KeyInfo{Key: k}
	for _, it := range items {
		if it.UpdatedAt.After(info.Modified) {
			info.Modified = it.UpdatedAt
		}
	}
	return info, nil
}

// List implements certmagic.Storage: the keys under prefix ("" for all),
// sorted. Not recursive, its direct children: the values in it and the
// directories in it. Recursive, every value and directory under it, at any
// depth, as FileStorage walks them. An error that is fs.ErrNotExist when
// prefix neither holds a value nor has values under it; a prefix that
// holds a value and has none under it lists nothing.
func (s *Storage) List(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	p := clean(prefix)
	items, err := s.st.ListCertificateItems(ctx, store.ListCertificateItemsParams{Prefix: p})
	if err != nil {
		return nil, fmt.Errorf("certificate storage: %w", err)
	}
	if len(items) == 0 && p != "" {
		if _, err := s.st.GetCertificateItem(ctx, store.GetCertificateItemParams{Key: p}); err == nil {
			return []string{}, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("certificate storage: %w", err)
		}
		return nil, fmt.Errorf("certificate storage: list %s: %w", p, fs.ErrNotExist)
	}
	base := ""
	if p != "" {
		base = p + "/"
	}
	seen := map[string]bool{}
	keys := []string{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, it := range items {
		rel := strings.TrimPrefix(it.Key, base)
		if !recursive {
			first, _, _ := strings.Cut(rel, "/")
			add(base + first)
			continue
		}
		// Every directory on the way down, then the value itself.
		for i := range len(rel) {
			if rel[i] == '/' {
				add(base + rel[:i])
			}
		}
		add(it.Key)
	}
	slices.Sort(keys)
	return keys, nil
}

// Lock implements certmagic.Locker: it blocks until it holds the lock
// name, or ctx ends. While held, the lock is kept fresh until Unlock.
func (s *Storage) Lock(ctx context.Context, name string) error {
	wait := min(firstPoll, s.opts.PollInterval)
	for {
		// Taken before the attempt, so that a release between the attempt
		// and the wait is not missed.
		s.mu.Lock()
		released := s.released
		s.mu.Unlock()
		ok, err := s.TryLock(ctx, name)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("certificate storage: wait for lock %s: %w", name, ctx.Err())
		case <-released:
			t.Stop()
		case <-t.C:
			wait = min(2*wait, s.opts.PollInterval)
		}
	}
}

// TryLock implements certmagic.TryLocker: one attempt at the lock name,
// false when another holder (of this process or another) has it.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("certificate storage: lock %s: %w", name, err)
	}
	token, err := s.token()
	if err != nil {
		return false, err
	}
	now := s.opts.Now()
	ok, err := s.st.AcquireCertificateLock(ctx, store.AcquireCertificateLockParams{Name: name, Owner: token,
		At: now, ExpiresAt: now.Add(s.opts.LockTTL)})
	if err != nil {
		// The statement may have committed all the same (PostgreSQL, a
		// context ended in flight): release what may be ours.
		_, _ = s.release(context.WithoutCancel(ctx), name, token)
		return false, fmt.Errorf("certificate storage: %w", err)
	}
	if !ok {
		return false, nil
	}
	h := &heldLock{token: token, stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	s.held[name] = h
	s.mu.Unlock()
	go s.keepFresh(name, h, now.Add(s.opts.LockTTL))
	return true, nil
}

// token is an owner token for one acquisition.
func (s *Storage) token() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("certificate storage: lock token: %w", err)
	}
	if s.opts.NodeID != "" {
		return s.opts.NodeID + "/" + hex.EncodeToString(b[:]), nil
	}
	return hex.EncodeToString(b[:]), nil
}

// release frees a lock token may hold, bounded by the lock's TTL: after
// it the lock is free anyway.
func (s *Storage) release(ctx context.Context, name, token string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.LockTTL)
	defer cancel()
	ok, err := s.st.ReleaseCertificateLock(ctx, store.ReleaseCertificateLockParams{Name: name, Owner: token})
	if ok {
		s.mu.Lock()
		close(s.released)
		s.released = make(chan struct{})
		s.mu.Unlock()
	}
	return ok, err
}

// keepFresh pushes the expiry of a held lock every third of the TTL until
// Unlock, or until it finds the lock lost: another holder took it, or the
// store failed every refresh until the lock expired (and another holder
// may take it).
func (s *Storage) keepFresh(name string, h *heldLock, expires time.Time) {
	defer close(h.done)
	every := max(s.opts.LockTTL/3, time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-tick.C:
		}
		now := s.opts.Now()
		next := now.Add(s.opts.LockTTL)
		// A refresh may take until the lock would expire; ticks it
		// overruns are dropped.
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.LockTTL)
		ok, err := s.st.RenewCertificateLock(ctx, store.RenewCertificateLockParams{Name: name, Owner: h.token, ExpiresAt: next})
		cancel()
		if err != nil && now.Before(expires) {
			// Tried again at the next tick; the lock lasts until expires.
			s.opts.Logger.Warn("could not refresh a certificate lock; trying again", "lock", name, "expires", expires, "err", err)
			continue
		}
		if s.refreshed != nil {
			s.refreshed(name, next, ok)
		}
		if ok {
			expires = next
			continue
		}
		if err != nil {
			s.opts.Logger.Error("lost a certificate lock: it expired while the store could not be reached", "lock", name, "err", err)
		} else {
			s.opts.Logger.Error("lost a certificate lock: it expired and another holder took it", "lock", name)
		}
		s.mu.Lock()
		if s.held[name] == h {
			delete(s.held, name)
		}
		s.mu.Unlock()
		return
	}
}

// Unlock implements certmagic.Locker: it stops refreshing the lock name
// and frees it. An error when this Storage does not hold it (never locked,
// unlocked already, or lost: it expired and another holder took it; that
// holder keeps it), or when the store could not free it (it then expires by
// itself within LockTTL).
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h, ok := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("certificate storage: unlock %s: not held here (never locked, unlocked already, or lost when it expired)", name)
	}
	close(h.stop)
	<-h.done
	released, err := s.release(ctx, name, h.token)
	if err != nil {
		return fmt.Errorf("certificate storage: unlock %s: it frees itself within %s: %w", name, s.opts.LockTTL, err)
	}
	if !released {
		return fmt.Errorf("certificate storage: unlock %s: the lock was lost: it expired and another holder took it", name)
	}
	return nil
}
