package user

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id's parameters for new hashes: OWASP's recommended minimum (19 MiB
// of memory, 2 passes, 1 lane), about 30 ms on a small server. A hash keeps
// the parameters it was made with, so they can be raised later without
// locking anybody out.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Bounds of what Verify accepts from a stored hash, so that a damaged or
// planted row cannot make one login take minutes or gigabytes.
const (
	maxArgonMemory = 1 << 20 // KiB: 1 GiB
	maxArgonTime   = 16
)

var b64 = base64.RawStdEncoding

// hasher hashes and checks passwords, a bounded number at a time: each
// takes argonMemory of memory, and logins must not be able to take them
// all.
type hasher struct {
	slots chan struct{}
}

func newHasher(concurrent int) *hasher {
	return &hasher{slots: make(chan struct{}, concurrent)}
}

// acquire waits for a slot, or for ctx to end.
func (h *hasher) acquire(ctx context.Context) (func(), error) {
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Hash returns password's argon2id hash in the PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (h *hasher) Hash(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt) // never fails (Go 1.24+)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// errBadHash is a stored hash Verify cannot read.
var errBadHash = errors.New("not an argon2id hash this version of Liftoff reads")

// Verify reports whether password matches the stored hash, comparing in
// constant time. An error means the hash itself is unreadable.
func (h *hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	p, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type argonHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseHash(s string) (argonHash, error) {
	var p argonHash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, errBadHash
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil {
		return p, errBadHash
	}
	var err1, err2 error
	p.salt, err1 = b64.DecodeString(parts[4])
	p.key, err2 = b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(p.salt) < 8 || len(p.key) < 16 || len(p.key) > 64 ||
		p.memory < 8 || p.memory > maxArgonMemory || p.time < 1 || p.time > maxArgonTime || threads < 1 || threads > 255 {
		return p, errBadHash
	}
	p.threads = uint8(threads)
	return p, nil
}
