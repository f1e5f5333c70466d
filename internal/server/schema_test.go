package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/demo"
)

// TestDemoSchemaAnswers: the demo repository's liftoff.json names as its
// "$schema" a URL of this server, and that URL answers, without an API key,
// with the schema the config validator uses.
func TestDemoSchemaAnswers(t *testing.T) {
	t.Parallel()
	cfg := baseConfig(t, "sqlite")
	cfg.Demo, cfg.Out = true, &syncBuffer{}
	srv := start(t, cfg)

	b, err := os.ReadFile(filepath.Join(demo.RepoDir(cfg.DataDir), "liftoff.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Schema string `json:"$schema"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if want := srv.base + config.SchemaPath; file.Schema != want {
		t.Fatalf("the demo's liftoff.json has $schema %q, want %q", file.Schema, want)
	}
	resp, err := http.Get(file.Schema)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/schema+json" {
		t.Fatalf("GET %s = %d %s", file.Schema, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal(body, config.Schema()) {
		t.Fatalf("GET %s answers another document than the validator's schema:\n%.200s", file.Schema, body)
	}
}
