package github_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/github"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	secret := []byte("It's a Secret to Everybody")
	body := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	good := github.Sign(secret, body)
	sha1Mac := hmac.New(sha1.New, secret)
	sha1Mac.Write(body)
	sha1Header := "sha1=" + hex.EncodeToString(sha1Mac.Sum(nil))

	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   error
	}{
		{"good", secret, body, good, nil},
		{"good with upper-case hex", secret, body, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), nil},
		{"good with surrounding space", secret, body, " " + good + " ", nil},
		{"empty body signed", secret, nil, github.Sign(secret, nil), nil},
		{"unsigned", secret, body, "", github.ErrUnsigned},
		{"blank header", secret, body, "  ", github.ErrUnsigned},
		{"sha1 header only", secret, body, sha1Header, github.ErrBadSignature},
		{"wrong secret", []byte("another secret"), body, good, github.ErrBadSignature},
		{"body changed", secret, append([]byte(" "), body...), good, github.ErrBadSignature},
		{"malformed hex", secret, body, "sha256=" + strings.Repeat("zz", 32), github.ErrBadSignature},
		{"odd length hex", secret, body, good[:len(good)-1], github.ErrBadSignature},
		{"short digest", secret, body, good[:len(good)-2], github.ErrBadSignature},
		{"long digest", secret, body, good + "00", github.ErrBadSignature},
		{"no prefix", secret, body, strings.TrimPrefix(good, "sha256="), github.ErrBadSignature},
		{"prefix only", secret, body, "sha256=", github.ErrBadSignature},
		{"other algorithm", secret, body, "sha512=" + strings.TrimPrefix(good, "sha256="), github.ErrBadSignature},
		{"no secret configured", nil, body, good, github.ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := github.Verify(tt.secret, tt.body, tt.header)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify() = %v; want %v", err, tt.want)
			}
			if err == nil {
				return
			}
			msg := err.Error()
			for _, leak := range []string{string(secret), "another secret", "logically awesome", strings.TrimPrefix(good, "sha256=")[:16]} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q leaks %q", msg, leak)
				}
			}
		})
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	// The example of GitHub's "Validating webhook deliveries" page.
	got := github.Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got != want {
		t.Errorf("Sign() = %s; want %s", got, want)
	}
}
