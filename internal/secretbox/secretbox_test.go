package secretbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestCreateSealOpen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "secret.key")
	k, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate: created %v, %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	id, sealed, err := k.Seal([]byte("hunter2"), []byte("project/DB_PASSWORD"))
	if err != nil {
		t.Fatal(err)
	}
	if id != k.Primary() {
		t.Errorf("sealed with %s, primary is %s", id, k.Primary())
	}
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatal("sealed value holds the plaintext")
	}
	again, created, err := LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("second LoadOrCreate: created %v, %v", created, err)
	}
	plain, err := again.Open(id, sealed, []byte("project/DB_PASSWORD"))
	if err != nil || string(plain) != "hunter2" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	if _, err := again.Open(id, sealed, []byte("project/OTHER")); err == nil {
		t.Error("a value opened under another name: aad is not checked")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := again.Open(id, tampered, []byte("project/DB_PASSWORD")); err == nil {
		t.Error("an altered value opened")
	}
}

func TestRefusesReadableKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret.key")
	if _, _, err := LoadOrCreate(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Load of a 0644 key file: %v, want a refusal saying chmod 600", err)
	}
}

func TestBadKeyFile(t *testing.T) {
	t.Parallel()
	for name, text := range map[string]string{
		"empty":      "# nothing\n",
		"short key":  "abc " + "c2hvcnQ=\n",
		"no key":     "abc\n",
		"same id":    "a " + strings.Repeat("A", 43) + "=\na " + strings.Repeat("B", 43) + "=\n",
		"not base64": "a " + strings.Repeat("*", 44) + "\n",
	} {
		path := filepath.Join(t.TempDir(), "secret.key")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Load = %v, want an error naming the file", name, err)
		}
	}
}

// TestRotation adds a key while another Keyring (another replica) holds
// the file: both seal with the new key from then on, old values open
// until the old key is retired, and then say which key they need.
func TestRotation(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret.key")
	a, _, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	oldID, oldSealed, err := a.Seal([]byte("v1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	newID, err := AddKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if newID == oldID {
		t.Fatal("AddKey returned the old key's id")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("rotated key file mode %04o, want 0600", fi.Mode().Perm())
	}
	for name, k := range map[string]*Keyring{"a": a, "b": b} {
		id, sealed, err := k.Seal([]byte("v2"), nil)
		if err != nil || id != newID {
			t.Fatalf("%s sealed with %s after the rotation, want %s (%v)", name, id, newID, err)
		}
		if p, err := k.Open(oldID, oldSealed, nil); err != nil || string(p) != "v1" {
			t.Errorf("%s: old value = %q, %v", name, p, err)
		}
		if p, err := k.Open(id, sealed, nil); err != nil || string(p) != "v2" {
			t.Errorf("%s: new value = %q, %v", name, p, err)
		}
	}
	if err := RetireKeys(path, newID); err != nil {
		t.Fatal(err)
	}
	_, err = b.Open(oldID, oldSealed, nil)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), oldID) {
		t.Fatalf("old value after retiring its key: %v, want ErrUnknownKey naming %s", err, oldID)
	}
}

// TestConcurrentCreate starts two processes' worth of LoadOrCreate on one
// missing file: both end with the same key.
func TestConcurrentCreate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret.key")
	var wg sync.WaitGroup
	keys := make([]*Keyring, 8)
	errs := make([]error, 8)
	for i := range keys {
		wg.Go(func() { keys[i], _, errs[i] = LoadOrCreate(path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("LoadOrCreate %d: %v", i, err)
		}
	}
	id, sealed, err := keys[0].Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if _, err := k.Open(id, sealed, nil); err != nil {
			t.Errorf("keyring %d cannot open what keyring 0 sealed: %v", i, err)
		}
	}
}

func TestSealText(t *testing.T) {
	t.Parallel()
	k, _, err := LoadOrCreate(filepath.Join(t.TempDir(), "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := k.SealText("user:ghp_token", []byte("p1"))
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealedText(s) || strings.Contains(s, "ghp_token") || TextKeyID(s) != k.Primary() {
		t.Fatalf("SealText = %q", s)
	}
	if got, err := k.OpenText(s, []byte("p1")); err != nil || got != "user:ghp_token" {
		t.Fatalf("OpenText = %q, %v", got, err)
	}
	if _, err := k.OpenText(s, []byte("p2")); err == nil {
		t.Error("a sealed text opened under another aad")
	}
	if IsSealedText("user:pw") || TextKeyID("user:pw") != "" {
		t.Error("a plain text reads as sealed")
	}
	if _, err := k.OpenText("sealed:v1:nocolon", nil); err == nil {
		t.Error("a malformed sealed text opened")
	}
}
