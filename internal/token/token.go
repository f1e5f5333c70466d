// Package token makes and checks the secrets Liftoff hands out: deploy hook
// secrets (lfh_) and API keys (lfk_). A secret is 256 random bits with a fixed
// prefix that secret scanners can match; only its SHA-256 is stored. A slow
// password hash would add nothing here: guessing 256 random bits is not
// feasible however fast the hash.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// Prefixes of the secrets Liftoff issues.
const (
	HookPrefix   = "lfh_"
	APIKeyPrefix = "lfk_"
)

// encoding is lowercase base32 without padding: URL-safe, selectable with a
// double click, and free of look-alike punctuation.
var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// New returns prefix followed by 256 random bits (52 characters).
func New(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + encoding.EncodeToString(b[:])
}

// Hash returns the hex SHA-256 of a secret, the only form that is stored.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Equal compares two hashes in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Looks reports whether s has the shape of a secret with prefix: the prefix
// and 52 base32 characters. Used to scrub secrets from text.
func Looks(s, prefix string) bool {
	if !strings.HasPrefix(s, prefix) || len(s) != len(prefix)+52 {
		return false
	}
	_, err := encoding.DecodeString(s[len(prefix):])
	return err == nil
}
