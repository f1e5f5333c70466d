package resources

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

// MaxNameLen is the longest name a resource gets: PostgreSQL's limit on
// identifiers (NAMEDATALEN - 1 bytes), which it would otherwise cut
// silently. A Redis user and key prefix take the same name.
const MaxNameLen = 63

// Identity is what names a resource: the environment instance and the
// service it is made for.
type Identity struct {
	ProjectID     string
	ProjectSlug   string // shop: the readable part of the name
	EnvironmentID int64
	EnvGivenID    string // production
	PRNumber      int    // 0 for a normal environment
	ServiceID     string // the service's given id
}

// Name is the name of the database and its role (or of the Redis user and
// its key prefix) of id: "lo_<project>_<environment>[_pr<n>]_<service>_<hash>",
// lowercase letters, digits and underscores only, at most MaxNameLen
// bytes. The readable part is cut to fit; the hash, of the project's,
// environment's and service's ids (not their readable names), keeps two
// instances from ever sharing a name, whatever their ids sanitize to.
func Name(id Identity) string {
	parts := []string{"lo", id.ProjectSlug, id.EnvGivenID}
	if id.PRNumber > 0 {
		parts = append(parts, "pr"+strconv.Itoa(id.PRNumber))
	}
	parts = append(parts, id.ServiceID)
	var words []string
	for _, p := range parts {
		if w := sanitize(p); w != "" {
			words = append(words, w)
		}
	}
	readable := strings.Join(words, "_")
	sum := sha256.Sum256([]byte(id.ProjectID + "\x00" + strconv.FormatInt(id.EnvironmentID, 10) + "\x00" +
		strconv.Itoa(id.PRNumber) + "\x00" + id.ServiceID))
	suffix := "_" + hex.EncodeToString(sum[:4])
	if len(readable) > MaxNameLen-len(suffix) {
		readable = strings.TrimRight(readable[:MaxNameLen-len(suffix)], "_")
	}
	return readable + suffix
}

// sanitize lowercases s and turns every run of other characters than
// ASCII letters and digits into one underscore, trimmed at both ends.
func sanitize(s string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			gap = false
			continue
		}
		gap = true
	}
	return b.String()
}

// passwordAlphabet holds what a password is made of: no character that a
// URL, a shell or an SQL literal would need to escape.
const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newPassword returns 32 random characters of passwordAlphabet (190 bits).
func newPassword() string {
	b := make([]byte, 32)
	for i := range b {
		b[i] = passwordAlphabet[randIndex(len(passwordAlphabet))]
	}
	return string(b)
}

// randIndex is a uniform random number below n (n < 256).
func randIndex(n int) int {
	limit := 256 - 256%n
	var one [1]byte
	for {
		_, _ = rand.Read(one[:]) // never fails (crypto/rand)
		if int(one[0]) < limit {
			return int(one[0]) % n
		}
	}
}

// scramVerifier is what PostgreSQL stores of a password for SCRAM-SHA-256
// authentication (RFC 5802, RFC 7677): given to CREATE ROLE ... PASSWORD,
// the server stores it as it is, so the password itself never reaches the
// server, nor a statement log there.
func scramVerifier(password string) (string, error) {
	const iterations = 4096 // PostgreSQL's scram_iterations default
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return "SCRAM-SHA-256$" + strconv.Itoa(iterations) + ":" + b64(salt) + "$" + b64(storedKey[:]) + ":" + b64(serverKey), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
