package report

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// installationKey is an installation's access token and when it expires.
type installationKey struct {
	token   string
	expires time.Time
}

// tokenMargin is how long before its expiry an installation token is
// replaced: it must outlive the calls of one Deliver.
const tokenMargin = 5 * time.Minute

// parsePrivateKey reads a GitHub App's private key: the PEM file GitHub
// gives (PKCS#1, "RSA PRIVATE KEY"), or PKCS#8.
func parsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block: give the .pem file GitHub made for the App")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not an RSA private key in PKCS#1 or PKCS#8: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T key, want RSA", k)
	}
	return rk, nil
}

// appJWT is the App's JSON Web Token (RS256), valid from a minute ago
// (GitHub's clock may be behind) for nine minutes (GitHub takes at most
// ten).
func (r *Reporter) appJWT() (string, error) {
	now := r.now()
	header := `{"alg":"RS256","typ":"JWT"}`
	claims, err := json.Marshal(map[string]any{
		"iat": now.Add(-60 * time.Second).Unix(),
		"exp": now.Add(9 * time.Minute).Unix(),
		"iss": strconv.FormatInt(r.appID, 10),
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, r.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign the app's token: %w", err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// authorization is the Authorization header of a call about repo.
func (r *Reporter) authorization(ctx context.Context, repo string) (string, error) {
	if r.key == nil {
		return "Bearer " + r.token, nil
	}
	tok, err := r.installationToken(ctx, repo)
	if err != nil {
		return "", err
	}
	return "token " + tok, nil
}

// installationToken is the access token of the App's installation on repo,
// from the cache while it has more than tokenMargin to live.
func (r *Reporter) installationToken(ctx context.Context, repo string) (string, error) {
	key := strings.ToLower(repo)
	r.mu.Lock()
	id, known := r.installations[key]
	tk, cached := r.tokens[id]
	r.mu.Unlock()
	if known && cached && r.now().Add(tokenMargin).Before(tk.expires) {
		return tk.token, nil
	}
	jwt, err := r.appJWT()
	if err != nil {
		return "", err
	}
	if !known {
		var inst struct {
			ID int64 `json:"id"`
		}
		if _, err := r.do(ctx, "Bearer "+jwt, "GET", "/repos/"+repo+"/installation", nil, &inst); err != nil {
			return "", fmt.Errorf("find the GitHub App's installation on %s: %w", repo, err)
		}
		if inst.ID == 0 {
			return "", fmt.Errorf("find the GitHub App's installation on %s: the answer has no id", repo)
		}
		id = inst.ID
	}
	var at struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	path := "/app/installations/" + strconv.FormatInt(id, 10) + "/access_tokens"
	if _, err := r.do(ctx, "Bearer "+jwt, "POST", path, nil, &at); err != nil {
		return "", fmt.Errorf("get an installation token for %s: %w", repo, err)
	}
	if at.Token == "" {
		return "", fmt.Errorf("get an installation token for %s: the answer has no token", repo)
	}
	if at.ExpiresAt.IsZero() {
		at.ExpiresAt = r.now().Add(time.Hour) // GitHub's tokens live an hour
	}
	r.mu.Lock()
	r.installations[key] = id
	r.tokens[id] = installationKey{token: at.Token, expires: at.ExpiresAt}
	r.mu.Unlock()
	return at.Token, nil
}

// forgetToken drops the cached installation and token of repo.
func (r *Reporter) forgetToken(repo string) {
	key := strings.ToLower(repo)
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.installations[key]; ok {
		delete(r.tokens, id)
		delete(r.installations, key)
	}
}
