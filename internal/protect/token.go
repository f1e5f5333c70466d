package protect

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/liftoffhq/liftoff/internal/secretbox"
)

// purpose says what a token is for; a token opens only for its purpose.
type purpose byte

const (
	// forShare: a share link, and the cookie it leaves.
	forShare purpose = 1
	// forPassword: the cookie a right password leaves.
	forPassword purpose = 2
	// forCSRF: the token of the password form.
	forCSRF purpose = 3
)

// tokenVersion starts every token's claims, so that their layout can
// change.
const tokenVersion = 1

// maxToken bounds the text of a token the gate reads.
const maxToken = 512

// tokenAAD binds sealed claims to their use: nothing else Liftoff seals
// with the keyring opens as a token.
var tokenAAD = []byte("liftoff protect token v1")

// errInvalidToken: the text is no token sealed by Liftoff, or one for
// another purpose.
var errInvalidToken = errors.New("not a valid token")

// claims are what a token says.
type claims struct {
	purpose       purpose
	environmentID int64
	prNumber      int
	// expires is kept to the second.
	expires time.Time
	// extra is a password cookie's password version, a CSRF token's
	// nonce; empty for a share link.
	extra []byte
}

// matches reports whether the claims are those of a token for p on the
// instance (environment, pull request).
func (c claims) matches(p purpose, environmentID int64, prNumber int) bool {
	return c.purpose == p && c.environmentID == environmentID && c.prNumber == prNumber
}

// expired reports whether the claims no longer hold at now.
func (c claims) expired(now time.Time) bool { return !now.Before(c.expires) }

// sealToken seals c with the keyring's primary key and returns it as
// URL-safe text: base64url(len(key id) | key id | sealed claims).
func sealToken(keys *secretbox.Keyring, c claims) (string, error) {
	plain := make([]byte, 0, 22+len(c.extra))
	plain = append(plain, tokenVersion, byte(c.purpose))
	plain = binary.BigEndian.AppendUint64(plain, uint64(c.environmentID))
	plain = binary.BigEndian.AppendUint32(plain, uint32(c.prNumber))
	plain = binary.BigEndian.AppendUint64(plain, uint64(c.expires.Unix()))
	plain = append(plain, c.extra...)
	keyID, sealed, err := keys.Seal(plain, tokenAAD)
	if err != nil {
		return "", fmt.Errorf("seal a token: %w", err)
	}
	if len(keyID) > 255 {
		return "", fmt.Errorf("seal a token: key id %q is longer than 255 bytes", keyID)
	}
	out := make([]byte, 0, 1+len(keyID)+len(sealed))
	out = append(out, byte(len(keyID)))
	out = append(out, keyID...)
	out = append(out, sealed...)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// openToken opens a token sealToken made, with any key of the keyring.
// Every failure is errInvalidToken: whether the text was altered, made
// up, or sealed under a key since retired, it opens nothing.
func openToken(keys *secretbox.Keyring, text string) (claims, error) {
	if text == "" || len(text) > maxToken {
		return claims{}, errInvalidToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(raw) < 1 || len(raw) < 1+int(raw[0]) {
		return claims{}, errInvalidToken
	}
	n := int(raw[0])
	plain, err := keys.Open(string(raw[1:1+n]), raw[1+n:], tokenAAD)
	if err != nil || len(plain) < 22 || plain[0] != tokenVersion {
		return claims{}, errInvalidToken
	}
	return claims{
		purpose:       purpose(plain[1]),
		environmentID: int64(binary.BigEndian.Uint64(plain[2:10])),
		prNumber:      int(binary.BigEndian.Uint32(plain[10:14])),
		expires:       time.Unix(int64(binary.BigEndian.Uint64(plain[14:22])), 0).UTC(),
		extra:         plain[22:],
	}, nil
}
