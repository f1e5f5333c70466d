// Package secretbox encrypts the values Liftoff keeps secret (secret
// variables, named secrets) with AES-256-GCM under keys read from one key
// file. The file holds one key per line, the first the one new values are
// sealed with; the others only open values sealed before a rotation. Each
// sealed value names its key, so a rotation can add a key, seal everything
// again and retire the old one without a moment where a value cannot be
// read. A Keyring reads the file again when it changes, so every process
// that shares it follows a rotation.
package secretbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// header starts every key file Liftoff writes.
const header = "# Liftoff secret keys. The first encrypts; the others only decrypt values\n" +
	"# sealed before a rotation (liftoff secrets rotate-key). Keep this file\n" +
	"# private (mode 0600) and backed up: without it no secret can be read.\n"

// ErrUnknownKey: a value was sealed with a key the key file does not hold.
var ErrUnknownKey = errors.New("sealed with a key the key file does not hold")

// Keyring holds the keys of one key file. It is safe for concurrent use.
type Keyring struct {
	path string

	mu    sync.Mutex
	keys  map[string]cipher.AEAD
	order []string    // as in the file: order[0] seals
	read  fs.FileInfo // the file as last read
}

// LoadOrCreate reads the key file at path, or creates it with one new key
// (mode 0600, its directory 0700 when missing) when there is none; created
// says which.
func LoadOrCreate(path string) (k *Keyring, created bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("create the secret key file's directory: %w", err)
		}
		id, key, err := newKey()
		if err != nil {
			return nil, false, err
		}
		// Written aside, then linked into place: link fails when the file
		// exists, so two replicas starting at once on one shared directory
		// do not each write a key of their own, and neither reads a file
		// half written.
		tmp, err := writeTemp(path, []line{{id, key}})
		if err != nil {
			return nil, false, err
		}
		err = os.Link(tmp, path)
		_ = os.Remove(tmp)
		switch {
		case err == nil:
			created = true
		case !errors.Is(err, fs.ErrExist):
			return nil, false, fmt.Errorf("create the secret key file %s: %w", path, err)
		}
	}
	k, err = Load(path)
	return k, created, err
}

// Load reads the key file at path. It refuses a file that others than its
// owner may read.
func Load(path string) (*Keyring, error) {
	k := &Keyring{path: path}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Path is the key file's path.
func (k *Keyring) Path() string { return k.path }

// Primary is the id of the key new values are sealed with.
func (k *Keyring) Primary() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh()
	return k.order[0]
}

// Seal encrypts plaintext with the primary key. aad binds the value to
// where it is stored (its scope and name): it opens only with the same aad,
// so a value copied to another row of the database does not.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID string, sealed []byte, err error) {
	k.mu.Lock()
	k.refresh()
	id := k.order[0]
	aead := k.keys[id]
	k.mu.Unlock()
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("seal: %w", err)
	}
	return id, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open decrypts a value Seal returned, with the keys the file holds now
// (another process may have rotated it).
func (k *Keyring) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	k.mu.Lock()
	k.refresh()
	aead, ok := k.keys[keyID]
	k.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("key %q: %w %s: restore the key file that has it", keyID, ErrUnknownKey, k.path)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, fmt.Errorf("open a value sealed with key %q: too short", keyID)
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("open a value sealed with key %q: it was altered, or moved from where it was stored", keyID)
	}
	return plain, nil
}

// refresh reads the file again when it changed since it was read. A file
// that became unreadable keeps the keys read last: values stay readable,
// and the next Load reports the problem.
func (k *Keyring) refresh() {
	fi, err := os.Stat(k.path)
	if err != nil || (os.SameFile(fi, k.read) && fi.ModTime().Equal(k.read.ModTime()) && fi.Size() == k.read.Size()) {
		return
	}
	_ = k.reload()
}

// reload reads the file; k.mu is held.
func (k *Keyring) reload() error {
	f, err := os.Open(k.path)
	if err != nil {
		return fmt.Errorf("read the secret key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read the secret key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("secret key file %s may be read by others (mode %04o): run chmod 600 %s", k.path, fi.Mode().Perm(), k.path)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return fmt.Errorf("read the secret key file: %w", err)
	}
	lines, err := parse(buf.String())
	if err != nil {
		return fmt.Errorf("secret key file %s: %w", k.path, err)
	}
	keys := make(map[string]cipher.AEAD, len(lines))
	order := make([]string, 0, len(lines))
	for _, l := range lines {
		block, err := aes.NewCipher(l.key)
		if err != nil {
			return fmt.Errorf("secret key file %s: key %s: %w", k.path, l.id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return fmt.Errorf("secret key file %s: key %s: %w", k.path, l.id, err)
		}
		keys[l.id] = aead
		order = append(order, l.id)
	}
	k.keys, k.order, k.read = keys, order, fi
	return nil
}

// line is one key of a key file.
type line struct {
	id  string
	key []byte
}

// parse reads a key file's text: "<id> <base64 key>" per line; blank lines
// and lines starting with '#' are skipped.
func parse(text string) ([]line, error) {
	var out []line
	seen := map[string]bool{}
	for n, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		id, enc, ok := strings.Cut(l, " ")
		if !ok || id == "" {
			return nil, fmt.Errorf("line %d: want \"<key id> <base64 key>\"", n+1)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("line %d: key %s is not %d bytes of base64", n+1, id, KeySize)
		}
		if seen[id] {
			return nil, fmt.Errorf("line %d: key id %s appears twice", n+1, id)
		}
		seen[id] = true
		out = append(out, line{id, key})
	}
	if len(out) == 0 {
		return nil, errors.New("holds no key")
	}
	return out, nil
}

func format(lines []line) []byte {
	var b strings.Builder
	b.WriteString(header)
	for _, l := range lines {
		b.WriteString(l.id + " " + base64.StdEncoding.EncodeToString(l.key) + "\n")
	}
	return []byte(b.String())
}

func newKey() (id string, key []byte, err error) {
	key = make([]byte, KeySize)
	idb := make([]byte, 4)
	if _, err := rand.Read(key); err != nil {
		return "", nil, fmt.Errorf("new secret key: %w", err)
	}
	if _, err := rand.Read(idb); err != nil {
		return "", nil, fmt.Errorf("new secret key: %w", err)
	}
	return hex.EncodeToString(idb), key, nil
}

// AddKey puts a new key first in the key file at path: values sealed from
// now on use it, older ones still open. It returns the new key's id.
func AddKey(path string) (string, error) {
	lines, err := readLines(path)
	if err != nil {
		return "", err
	}
	id, key, err := newKey()
	if err != nil {
		return "", err
	}
	return id, writeLines(path, append([]line{{id, key}}, lines...))
}

// RetireKeys removes every key but keep from the key file at path: values
// sealed with the others no longer open.
func RetireKeys(path, keep string) error {
	lines, err := readLines(path)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if l.id == keep {
			return writeLines(path, []line{l})
		}
	}
	return fmt.Errorf("secret key file %s has no key %s", path, keep)
}

func readLines(path string) ([]line, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the secret key file: %w", err)
	}
	lines, err := parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return lines, nil
}

// writeLines replaces the key file whole: a new file beside it, synced,
// then renamed over it, so a crash leaves the old file or the new one.
func writeLines(path string, lines []line) error {
	tmp, err := writeTemp(path, lines)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write the secret key file: %w", err)
	}
	return nil
}

// writeTemp writes a key file beside path (mode 0600, synced) and returns
// its name.
func writeTemp(path string, lines []line) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-key-*")
	if err != nil {
		return "", fmt.Errorf("write the secret key file: %w", err)
	}
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(format(lines))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("write the secret key file: %w", err)
	}
	return tmp.Name(), nil
}

// textPrefix starts a value SealText returned.
const textPrefix = "sealed:v1:"

// SealText is Seal for a value kept in a text column: "sealed:v1:<key
// id>:<base64 of the sealed bytes>".
func (k *Keyring) SealText(plaintext string, aad []byte) (string, error) {
	id, sealed, err := k.Seal([]byte(plaintext), aad)
	if err != nil {
		return "", err
	}
	return textPrefix + id + ":" + base64.StdEncoding.EncodeToString(sealed), nil
}

// IsSealedText reports whether s is a value SealText returned.
func IsSealedText(s string) bool { return strings.HasPrefix(s, textPrefix) }

// OpenText opens a value SealText returned.
func (k *Keyring) OpenText(s string, aad []byte) (string, error) {
	rest, ok := strings.CutPrefix(s, textPrefix)
	id, enc, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return "", errors.New("open a sealed text: not of the form sealed:v1:<key id>:<base64>")
	}
	sealed, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("open a sealed text: %w", err)
	}
	plain, err := k.Open(id, sealed, aad)
	return string(plain), err
}

// TextKeyID is the id of the key a value SealText returned was sealed
// with; "" for another text.
func TextKeyID(s string) string {
	rest, ok := strings.CutPrefix(s, textPrefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}
