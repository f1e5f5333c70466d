package local

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/clientaddr"
)

func TestRouteKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host, key string
		ok        bool
	}{
		{"api.production.localhost", "api.production.localhost", true},
		{"api.production.localhost:8000", "api.production.localhost", true},
		{"API.Production.LocalHost:8000", "api.production.localhost", true},
		{"api.production.localhost.", "api.production.localhost", true},
		{"web.pr-12.preview.shop.localhost:8000", "web.pr-12.preview.shop.localhost", true},
		{"127.0.0.1:8000", "127.0.0.1", true},
		{"[::1]:8000", "::1", true},
		{".", "", false},
		{"", "", false},
	} {
		key, ok := routeKey(tc.host)
		if key != tc.key || ok != tc.ok {
			t.Errorf("routeKey(%q) = %q, %v; want %q, %v", tc.host, key, ok, tc.key, tc.ok)
		}
	}
}

func TestBackendRetire(t *testing.T) {
	t.Parallel()
	b := newBackend(http.NotFoundHandler(), nil)
	for range 2 {
		if !b.acquire() {
			t.Fatal("a live backend refuses a request")
		}
	}
	idle := b.retire()
	if b.acquire() {
		t.Fatal("a retired backend takes a request")
	}
	b.done()
	select {
	case <-idle:
		t.Fatal("idle with a request in flight")
	default:
	}
	b.done()
	<-idle // closes with the last request
	if b.inFlight() != 0 {
		t.Errorf("inFlight = %d", b.inFlight())
	}
	// Retiring an idle backend is idle at once, and retiring twice is fine.
	b2 := newBackend(http.NotFoundHandler(), nil)
	<-b2.retire()
	<-b2.retire()
}

func TestUnknownHostIs404(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.deploy(serverRelease(t, production, "api", "v1"))
	for _, host := range []string{"nope.production.localhost:8000", "api.staging.localhost", "example.com"} {
		status, body := h.mustGet(host, "/")
		if status != http.StatusNotFound || !strings.Contains(body, "No service is deployed at \""+host+"\"") {
			t.Errorf("GET %s: %d %q", host, status, body)
		}
	}
}

// TestProxyForwardingHeaders checks what a release learns about its
// client: from an untrusted peer, X-Real-IP and X-Forwarded-* are set from
// the connection, whatever the client sent; from a trusted proxy, the
// client it names.
func TestProxyForwardingHeaders(t *testing.T) {
	t.Parallel()
	forged := http.Header{
		"X-Real-Ip":         {"6.6.6.6"},
		"X-Forwarded-For":   {"6.6.6.6"},
		"X-Forwarded-Host":  {"evil.example"},
		"X-Forwarded-Proto": {"https"},
		"Forwarded":         {"for=6.6.6.6"},
		// Look-alikes that CGI, WSGI, Rack and PHP read as the real ones.
		"X_forwarded_for":   {"6.6.6.6"},
		"X_real_ip":         {"6.6.6.6"},
		"X-Forwarded_Host":  {"evil.example"},
		"x_FORWARDED_proto": {"https"},
		"X_other":           {"kept"},
	}
	loopback, err := clientaddr.ParseList("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		clients *clientaddr.Resolver
		want    []string
	}{
		{"untrusted peer", nil, []string{"X-Real-Ip=127.0.0.1\n", "X-Forwarded-For=127.0.0.1\n",
			"X-Forwarded-Host=api.production.localhost:8000\n", "X-Forwarded-Proto=http\n", "Forwarded=\n"}},
		{"trusted proxy", clientaddr.New(loopback), []string{"X-Real-Ip=6.6.6.6\n", "X-Forwarded-For=6.6.6.6, 127.0.0.1\n",
			"X-Forwarded-Host=evil.example\n", "X-Forwarded-Proto=https\n", "Forwarded=\n"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(cfg *Config) { cfg.Clients = c.clients })
			h.deploy(serverRelease(t, production, "api", "v1"))
			req, err := http.NewRequest(http.MethodGet, h.proxy.URL+"/headers", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "api.production.localhost:8000"
			req.Header = forged.Clone()
			resp, err := h.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			for _, want := range append(c.want, "X_other=kept\n") {
				if !strings.Contains(string(b), want) {
					t.Errorf("the release saw\n%s\nwant %q", b, want)
				}
			}
			for _, line := range strings.Split(string(b), "\n") {
				name, _, _ := strings.Cut(line, "=")
				if name != "X_other" && strings.Contains(name, "_") {
					t.Errorf("the release saw %q: a forwarding header spelled with underscores", line)
				}
			}
		})
	}
}

func TestWebsocketUpgrade(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.deploy(serverRelease(t, production, "api", "v1"))

	conn, err := net.Dial("tcp", h.proxy.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: api.production.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", resp.Status)
	}
	fmt.Fprint(conn, "ping\n")
	line, err := r.ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
}

// The release being replaced exits at once on SIGTERM (ON_TERM=exit), so
// only the proxy's drain can finish a request it is serving.
func TestRequestInFlightDuringRedeployCompletes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.deploy(serverRelease(t, production, "api", "v1", "ON_TERM=exit"))

	release := filepath.Join(t.TempDir(), "release")
	req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+"/hold?file="+release, nil)
	req.Host = "api.production.localhost"
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	if line, err := body.ReadString('\n'); line != "started\n" {
		t.Fatalf("hold answered %q, %v", line, err)
	}

	deployed := make(chan error, 1)
	go func() { deployed <- h.tg.Deploy(context.Background(), serverRelease(t, production, "api", "v2")) }()
	eventually(t, "the route to switch to v2", func() bool {
		_, b, err := h.get("api.production.localhost", "/")
		return err == nil && b == "v2"
	})
	select {
	case err := <-deployed:
		t.Fatalf("Deploy returned (%v) while a request to the old release was in flight", err)
	default:
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(body)
	if err != nil || resp.StatusCode != http.StatusOK || string(rest) != "done v1\n" {
		t.Fatalf("in-flight request: %d %q, %v", resp.StatusCode, rest, err)
	}
	if err := <-deployed; err != nil {
		t.Fatal(err)
	}
	h.expectBody("api.production.localhost", "v2")
}

// TestZeroDowntime redeploys a service ten times while clients keep
// requesting it through the proxy: no request may fail. Replaced releases
// exit at once on SIGTERM, so the guarantee is the proxy's.
func TestZeroDowntime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.deploy(serverRelease(t, production, "api", "v0", "ON_TERM=exit"))

	const clients, redeploys = 4, 10
	var (
		ok, failed atomic.Int64
		firstErr   sync.Once
		errText    string
		stop       = make(chan struct{})
		wg         sync.WaitGroup
		seenMu     sync.Mutex
		seen       = map[string]int{}
	)
	for c := range clients {
		wg.Go(func() {
			// Requests of 0 to 30ms, so that some are in flight whenever
			// a release is replaced.
			for n := c; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				status, body, err := h.get("api.production.localhost", "/slow?ms="+strconv.Itoa(n%4*10))
				if err != nil || status != http.StatusOK {
					failed.Add(1)
					firstErr.Do(func() { errText = fmt.Sprintf("%d %q %v", status, body, err) })
					continue
				}
				ok.Add(1)
				seenMu.Lock()
				seen[body]++
				seenMu.Unlock()
			}
		})
	}
	start := time.Now()
	for i := 1; i <= redeploys; i++ {
		h.deploy(serverRelease(t, production, "api", fmt.Sprintf("v%d", i), "ON_TERM=exit"))
	}
	last := fmt.Sprintf("v%d", redeploys)
	eventually(t, "a client to reach the last release", func() bool {
		seenMu.Lock()
		defer seenMu.Unlock()
		return seen[last] > 0
	})
	close(stop)
	wg.Wait()
	seenMu.Lock()
	versions := len(seen)
	seenMu.Unlock()
	t.Logf("zero downtime: %d redeploys in %s, %d clients: %d requests ok, %d failed, answered by %d releases",
		redeploys, time.Since(start).Round(time.Millisecond), clients, ok.Load(), failed.Load(), versions)
	if failed.Load() > 0 {
		t.Errorf("%d requests failed during redeploys; first: %s", failed.Load(), errText)
	}
	if ok.Load() < redeploys {
		t.Errorf("only %d requests ran during the redeploys", ok.Load())
	}
}

// A wildcard route leads every name one label below it to its release;
// a name of its own wins over the wildcard; deeper names and the bare
// domain do not match.
func TestWildcardRoute(t *testing.T) {
	h := newHarness(t, nil)
	wild := serverRelease(t, production, "wild", "wild")
	wild.Hosts = []string{"*.example.test"}
	h.deploy(wild)
	own := serverRelease(t, production, "own", "own")
	own.Hosts = []string{"own.example.test"}
	h.deploy(own)
	for host, want := range map[string]int{"a.example.test": 200, "B.Example.Test:443": 200, "own.example.test": 200,
		"a.b.example.test": 404, "example.test": 404} {
		status, body := h.mustGet(host, "/")
		if status != want {
			t.Errorf("%s: %d %q, want %d", host, status, body, want)
		}
		if host == "own.example.test" && body != "own" {
			t.Errorf("own.example.test answered %q: the wildcard won over the name's own route", body)
		}
	}
	if !h.tg.Serves("a.example.test") || h.tg.Serves("a.b.example.test") {
		t.Error("Serves disagrees with the routes")
	}
}
