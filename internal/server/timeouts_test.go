package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/server"
)

// trickle sends the headers of a request with a 100-byte JSON body and its
// first byte, then nothing, and returns what the server answered: the read
// timeout must cut it off instead of holding the connection.
func trickle(t *testing.T, base, key string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	// Far beyond the read timeout of the tests, far below forever.
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST /v1/projects HTTP/1.1\r\nHost: liftoff\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{", key)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the server still waits for the body after 30s: no read timeout")
	}
	if err != nil {
		return 0, err.Error() // cut off without an answer is fine too
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestTrickledBodyIsCutOff sends a body that never arrives: the API's read
// timeout ends the request with a 400 that says so.
func TestTrickledBodyIsCutOff(t *testing.T) {
	t.Parallel()
	cfg := baseConfig(t, "sqlite")
	f := setUp(t, cfg)
	cfg.ReadTimeout = time.Second
	srv := start(t, cfg)
	status, body := trickle(t, srv.base, f.key)
	if status != 400 || !strings.Contains(body, "read timeout") {
		t.Fatalf("trickled body: %d %s", status, body)
	}
}

// TestIdleConnectionsClosed opens keep-alive connections to the API and to
// the proxy, uses each once, and waits for the server to close them all.
func TestIdleConnectionsClosed(t *testing.T) {
	t.Parallel()
	cfg := baseConfig(t, "sqlite")
	cfg.IdleTimeout = 200 * time.Millisecond
	srv := start(t, cfg)
	for _, c := range []struct{ name, addr, host, path string }{
		{"api", strings.TrimPrefix(srv.base, "http://"), "liftoff", "/healthz"},
		{"proxy", srv.proxy, "nothing.production.localhost", "/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conns := make([]net.Conn, 20)
			for i := range conns {
				conn, err := net.Dial("tcp", c.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = conn.Close() }()
				_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
				fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", c.path, c.host)
				r := bufio.NewReader(conn)
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.Close {
					t.Fatal("the server closed the connection at once: not a keep-alive connection")
				}
				conns[i] = &bufConn{Conn: conn, r: r}
			}
			for i, conn := range conns {
				// The server closes an idle connection: the read ends with EOF.
				if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
					t.Fatalf("idle connection %d: %v, want the server to close it", i, err)
				}
			}
		})
	}
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestLogStreamOutlivesTimeouts follows a deployment's logs past the API's
// read and write timeouts: the stream lifts them and still ends with the
// deployment.
func TestLogStreamOutlivesTimeouts(t *testing.T) {
	t.Parallel()
	cfg := baseConfig(t, "sqlite")
	f := setUp(t, cfg)
	cfg.ReadTimeout, cfg.WriteTimeout = time.Second, time.Second
	srv := start(t, cfg)
	_, _, body := raw(t, "GET", srv.base, hookPath(f.env, f.secret), nil)
	m := regexp.MustCompile(`"deploymentId": "(c[a-z0-9]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("hook call: %s", body)
	}
	id := m[1]

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(conn, "GET /v1/deployments/%s/logs?follow=true HTTP/1.1\r\nHost: liftoff\r\nAuthorization: Bearer %s\r\n\r\n", id, f.key)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("follow: %v %v", resp, err)
	}
	// A request begun after the stream's is cut off by the read timeout
	// (with a 400, or without an answer as its write deadline passed too):
	// by then the stream's own deadlines have passed.
	if status, body := trickle(t, srv.base, f.key); status != 400 && status != 0 {
		t.Fatalf("trickled body: %d %s", status, body)
	}
	st, err := server.OpenStore(context.Background(), cfg.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	if _, err := (&deployment.Service{Store: st, Now: time.Now, Runner: deployment.NoRunner{}}).Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	stream, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the stream broke: %v (read %q)", err, stream)
	}
	if !strings.Contains(string(stream), "event: end\ndata: CANCELLED") {
		t.Fatalf("the stream ended without its end event: %q", stream)
	}
}
