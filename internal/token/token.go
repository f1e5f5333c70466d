// Package token makes and checks the secrets Liftoff hands out: deploy hook
// secrets (lfh_), API keys (lfk_) and the dashboard's session tokens
// (lfs_). A secret is 256 random bits with a fixed prefix that secret
// scanners can match; only its SHA-256 is stored. A slow
// password hash would add nothing here: guessing 256 random bits is not
// feasible however fast the hash.
//
// The package also owns what a secret looks like (Pattern), the one
// definition the scrubber (package redact) uses.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"regexp"
	"strings"
)

// Prefixes of the secrets Liftoff issues.
const (
	HookPrefix   = "lfh_"
	APIKeyPrefix = "lfk_"
	// SessionPrefix starts the token of a dashboard session, which only
	// a cookie carries.
	SessionPrefix = "lfs_"
)

// bodyLen is the length of a secret after its prefix: 256 bits in base32.
const bodyLen = 52

// Len is the length of every secret Liftoff issues, prefix included. A
// scrubber that reads text in parts keeps Len-1 bytes of one part to see a
// secret cut at its end.
const Len = len(HookPrefix) + bodyLen

// alphabet is lowercase base32: URL-safe, selectable with a double click,
// and free of look-alike punctuation.
const alphabet = "abcdefghijklmnopqrstuvwxyz234567"

var encoding = base32.NewEncoding(alphabet).WithPadding(base32.NoPadding)

// Pattern is the shape of a secret: a prefix and 52 base32 characters,
// wherever they are. It asks for no boundary around them on purpose: in
// TOKEN_lfh_..., lfh_...x or a URL, the secret is still a secret ('_' and
// the letters are word characters, so \b would miss both). The prefix ends
// in '_', which the alphabet lacks, so two matches never overlap.
const Pattern = `lf[hks]_[a-z2-7]{52}`

var whole = regexp.MustCompile(`^` + Pattern + `$`)

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

// Looks reports whether s is, whole, a secret with prefix.
func Looks(s, prefix string) bool {
	return strings.HasPrefix(s, prefix) && whole.MatchString(s)
}
