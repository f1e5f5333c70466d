package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/server"
)

func TestGitHubReporterConfig(t *testing.T) {
	t.Parallel()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "ghp_R2bX9cZ1eT7qL0mN4vW8yA3sD6fG5hJ2kP1o"
	for _, tc := range []struct {
		name string
		cfg  server.Config
		on   bool
		err  string
	}{
		{name: "off", cfg: server.Config{}},
		{name: "token", cfg: server.Config{GitHubToken: token}, on: true},
		{name: "app", cfg: server.Config{GitHubAppID: 123456, GitHubAppKeyFile: keyFile, GitHubAPIURL: "https://ghe.corp.example/api/v3"}, on: true},
		{name: "both", cfg: server.Config{GitHubToken: token, GitHubAppID: 1, GitHubAppKeyFile: keyFile}, err: "not both"},
		{name: "app without key", cfg: server.Config{GitHubAppID: 1}, err: "--github-app-key-file"},
		{name: "key without app", cfg: server.Config{GitHubAppKeyFile: keyFile}, err: "--github-app-id"},
		{name: "missing key file", cfg: server.Config{GitHubAppID: 1, GitHubAppKeyFile: keyFile + ".gone"}, err: "--github-app-key-file"},
		{name: "api url alone", cfg: server.Config{GitHubAPIURL: "https://ghe.corp.example/api/v3"}, err: "--github-api-url"},
		{name: "bad api url", cfg: server.Config{GitHubToken: token, GitHubAPIURL: "ghe.corp.example"}, err: "github api url"},
	} {
		r, err := tc.cfg.GitHubReporter("https://liftoff.example.com", nil)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err == "" && (r != nil) != tc.on:
			t.Errorf("%s: reporter %v, want on %v", tc.name, r, tc.on)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("%s: the error shows the token", tc.name)
		}
	}
}
