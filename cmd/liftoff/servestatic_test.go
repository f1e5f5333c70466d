package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeStatic: serve-static answers as the proxy does for a static
// service (index, SPA fallback, 404 page), and stops when its context
// ends.
func TestServeStatic(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"index.html": "<h1>home</h1>", "404.html": "not here", "app.js": "js"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serveStatic(ctx, dir, "127.0.0.1:0", true, pw)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve-static said nothing: %v (%v)", err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	_, addr, _ := strings.Cut(strings.TrimSpace(line), " at ")
	for _, c := range []struct {
		path, body string
		status     int
	}{
		{"/", "<h1>home</h1>", 200},
		{"/app.js", "js", 200},
		{"/some/route", "<h1>home</h1>", 200},
		{"/missing.css", "not here", 404},
	} {
		resp, err := http.Get("http://" + addr + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || string(b) != c.body {
			t.Errorf("GET %s: %d %q, want %d %q", c.path, resp.StatusCode, b, c.status, c.body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve-static ended with %v", err)
	}
}

func TestServeStaticRefusesAMissingDir(t *testing.T) {
	err := serveStatic(context.Background(), filepath.Join(t.TempDir(), "nope"), "127.0.0.1:0", false, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("serve-static of a missing directory: %v", err)
	}
}
