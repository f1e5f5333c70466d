package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SignatureHeader is the header GitHub signs deliveries with when the
// webhook has a secret.
const SignatureHeader = "X-Hub-Signature-256"

const signaturePrefix = "sha256="

// Errors of Verify. A handler answers all of them with 401 except
// ErrNoSecret, which is Liftoff's misconfiguration, not the sender's.
var (
	// ErrUnsigned: the X-Hub-Signature-256 header is missing or empty, as
	// when the webhook on GitHub has no secret, or only the legacy SHA-1
	// X-Hub-Signature header was sent.
	ErrUnsigned = errors.New("webhook delivery is not signed: set the webhook's secret on GitHub")
	// ErrBadSignature: the header is malformed or does not match the body.
	ErrBadSignature = errors.New("webhook signature does not match")
	// ErrNoSecret: Verify was given an empty secret. An HMAC under an empty
	// key authenticates nothing, so no delivery verifies.
	ErrNoSecret = errors.New("no webhook secret configured")
)

// Sign returns the X-Hub-Signature-256 value GitHub sends for body under
// secret: "sha256=" and the hex HMAC-SHA256 of the raw body.
func Sign(secret, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, body))
}

// Verify checks signatureHeader, the X-Hub-Signature-256 value of a
// delivery, against the raw body as received (before any decoding). The
// comparison is constant time. The error wraps ErrUnsigned, ErrBadSignature
// or ErrNoSecret, and never contains the body, the secret or the header.
func Verify(secret, body []byte, signatureHeader string) error {
	if len(secret) == 0 {
		return ErrNoSecret
	}
	sig := strings.TrimSpace(signatureHeader)
	if sig == "" {
		return ErrUnsigned
	}
	algo, digest, ok := strings.Cut(sig, "=")
	if !ok || !strings.EqualFold(algo, "sha256") {
		return fmt.Errorf("%w: want %s<64 hex digits>", ErrBadSignature, signaturePrefix)
	}
	got, err := hex.DecodeString(digest)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: want %s<64 hex digits>", ErrBadSignature, signaturePrefix)
	}
	if !hmac.Equal(got, mac(secret, body)) {
		return ErrBadSignature
	}
	return nil
}

func mac(secret, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(body)
	return h.Sum(nil)
}
