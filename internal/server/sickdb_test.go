package server_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// readiness is the body of /readyz.
type readiness struct {
	Status                string `json:"status"`
	SchemaVersion         *int64 `json:"schemaVersion"`
	ExpectedSchemaVersion int64  `json:"expectedSchemaVersion"`
	Reason                string `json:"reason"`
}

func ready(t *testing.T, base string) (int, readiness) {
	t.Helper()
	status, _, body := raw(t, "GET", base, "/readyz", nil)
	var r readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/readyz: %d %s", status, body)
	}
	return status, r
}

// wantUnavailable checks that a hook call, a /v1 call and /readyz answer
// 503, each in its own shape.
func wantUnavailable(t *testing.T, srv *running, f fixture, readyStatus string) {
	t.Helper()
	status, _, body := raw(t, "GET", srv.base, hookPath(f.env, f.secret), nil)
	if status != 503 || !strings.HasPrefix(body, `{"success": "false", "error": "Liftoff cannot reach its database`) {
		t.Errorf("hook call: %d %s, want 503 in the hook shape", status, body)
	}
	status, _, body = raw(t, "GET", srv.base, "/v1/projects", bearer(f.key))
	if status != 503 || !strings.Contains(body, `"errorCode":"UNAVAILABLE"`) {
		t.Errorf("GET /v1/projects: %d %s, want 503 UNAVAILABLE", status, body)
	}
	status, _, body = raw(t, "GET", srv.base, "/v1/deployments", bearer(f.key))
	if status != 503 {
		t.Errorf("GET /v1/deployments: %d %s, want 503", status, body)
	}
	if status, r := ready(t, srv.base); status != 503 || r.Status != readyStatus || r.Reason == "" {
		t.Errorf("/readyz: %d %+v, want 503 %s", status, r, readyStatus)
	}
}

// TestDroppedDatabase drops the server's PostgreSQL database under it, then
// creates it again empty: calls answer 503 (not 500) throughout, /healthz
// says whether the database answers, and /readyz says the schema is gone.
func TestDroppedDatabase(t *testing.T) {
	t.Parallel()
	base := storetest.DatabaseURL(t) // skips without PostgreSQL
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(ctx) }()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "liftoff_test_dropped_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, _ := url.Parse(base)
	u.Path = "/" + name
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()

	cfg := baseConfig(t, "sqlite")
	cfg.DatabaseURL = u.String()
	f := setUp(t, cfg)
	srv := start(t, cfg)
	if status, r := ready(t, srv.base); status != 200 || r.Status != "ready" || r.SchemaVersion == nil || *r.SchemaVersion != r.ExpectedSchemaVersion {
		t.Fatalf("/readyz of a fresh database: %d %+v", status, r)
	}

	if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	wantUnavailable(t, srv, f, "unavailable")
	if status, _, body := raw(t, "GET", srv.base, "/healthz", nil); status != 503 {
		t.Errorf("/healthz without a database: %d %s", status, body)
	}

	// Created again, empty: it answers, but has no schema.
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	if status, _, body := raw(t, "GET", srv.base, "/healthz", nil); status != 200 {
		t.Errorf("/healthz of an empty database: %d %s", status, body)
	}
	wantUnavailable(t, srv, f, "schema_mismatch")
	if _, r := ready(t, srv.base); r.SchemaVersion == nil || *r.SchemaVersion != 0 || r.ExpectedSchemaVersion < 1 ||
		!strings.Contains(r.Reason, "restart Liftoff") {
		t.Errorf("/readyz of an empty database: %+v", r)
	}
	if t.Failed() {
		t.Log(srv.logs)
	}
}

// TestSQLiteTablesGone drops tables of a running server's SQLite database,
// then removes its file: calls answer 503, and /readyz says why.
func TestSQLiteTablesGone(t *testing.T) {
	t.Parallel()
	cfg := baseConfig(t, "sqlite")
	f := setUp(t, cfg)
	srv := start(t, cfg)
	path := filepath.Join(cfg.DataDir, "liftoff.db")
	// It waits for the server's writer, as any other process would: the
	// notification loop writes on its own every second.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("PRAGMA foreign_keys = OFF"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"api_keys", "deploy_hooks", "deployments", "projects", "goose_db_version"} {
		if _, err := db.Exec("DROP TABLE " + table); err != nil {
			t.Fatal(err)
		}
	}
	wantUnavailable(t, srv, f, "schema_mismatch")

	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	status, r := ready(t, srv.base)
	if status != 503 || r.Status != "unavailable" || r.SchemaVersion != nil {
		t.Errorf("/readyz with the database file removed: %d %+v", status, r)
	}
}

// TestDatabasePartition puts a TCP proxy that can black-hole every packet
// between the server and PostgreSQL: once it does, hook and /v1 calls
// answer 503 within the database timeout instead of hanging, and the server
// recovers when the network does.
func TestDatabasePartition(t *testing.T) {
	t.Parallel()
	dbURL := storetest.DatabaseURL(t) // skips without PostgreSQL
	u, _ := url.Parse(dbURL)
	bh := newBlackhole(t, u.Host)
	u.Host = bh.addr()
	cfg := baseConfig(t, "sqlite")
	cfg.DatabaseURL = u.String()
	cfg.DatabaseTimeout = time.Second
	f := setUp(t, cfg)
	srv := start(t, cfg)
	if status, _, body := raw(t, "GET", srv.base, hookPath(f.env, f.secret), nil); status != 200 {
		t.Fatalf("hook call before the partition: %d %s", status, body)
	}

	bh.drop()
	began := time.Now()
	wantUnavailable(t, srv, f, "unavailable")
	// Four calls, each bounded by the timeout (the store's 1s, /readyz's
	// 2s): far from the minutes an unbounded call waits for TCP to give up.
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("four calls took %s during the partition", took)
	}

	bh.restore()
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, _ := ready(t, srv.base)
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not recover after the partition")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, _, body := raw(t, "GET", srv.base, "/v1/projects", bearer(f.key)); status != 200 {
		t.Errorf("GET /v1/projects after the partition: %d %s", status, body)
	}
}

// blackhole forwards TCP connections to a target until drop is called; then
// every byte either way is swallowed and new connections are held but never
// forwarded, as a partitioned network does. restore forwards again, and
// ends the connections made during the partition (they never reached the
// other side).
type blackhole struct {
	ln      net.Listener
	target  string
	dropped atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn // every connection, closed at the end of the test
	held    []net.Conn // connections made during the partition
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target}
	go b.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			_ = c.Close()
		}
	})
	return b
}

func (b *blackhole) addr() string { return b.ln.Addr().String() }
func (b *blackhole) drop()        { b.dropped.Store(true) }

func (b *blackhole) restore() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropped.Store(false)
	for _, c := range b.held {
		_ = c.Close()
	}
	b.held = nil
}

func (b *blackhole) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		if b.dropped.Load() {
			b.held = append(b.held, c)
			b.mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
			continue
		}
		b.mu.Unlock()
		up, err := net.Dial("tcp", b.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		b.mu.Lock()
		b.conns = append(b.conns, up)
		b.mu.Unlock()
		go b.pipe(up, c)
		go b.pipe(c, up)
	}
}

// pipe copies src to dst while the network is up, and swallows what src
// sends while it is down. A side that closes closes the other.
func (b *blackhole) pipe(dst, src net.Conn) {
	defer func() { _ = dst.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !b.dropped.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
