package local

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/target"
)

// privateRelease is a web-private release of testdata/server answering body.
func privateRelease(t *testing.T, inst target.Instance, service, body string) target.Release {
	rel := serverRelease(t, inst, service, body)
	rel.Service.Type, rel.Hosts = config.TypeWebPrivate, nil
	return rel
}

// getInternal sends GET / to 127.0.0.1:port, as another service would,
// on a connection of its own.
func getInternal(t *testing.T, port int) (string, error) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func mustInternal(t *testing.T, tg *Target, inst target.Instance, svc config.Service) target.Endpoint {
	t.Helper()
	ep, err := tg.InternalAddress(context.Background(), inst, svc)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Host != "127.0.0.1" || ep.Port == 0 {
		t.Fatalf("InternalAddress = %+v, want 127.0.0.1 and a port", ep)
	}
	return ep
}

// A private service keeps its internal port across deployments and across
// restarts of Liftoff, and the port leads to the release serving now.
func TestInternalPortFollowsTheServingRelease(t *testing.T) {
	h := newHarness(t, nil)
	v1 := privateRelease(t, production, "api", "v1")
	ep := mustInternal(t, h.tg, production, v1.Service)
	if ep.ContainerHost != "" || ep.ContainerErr == nil {
		t.Errorf("without a container CLI, containers cannot reach it: got %+v", ep)
	}
	// Before any release serves, a connection is closed at once.
	if body, err := getInternal(t, ep.Port); err == nil {
		t.Errorf("nothing deployed, yet 127.0.0.1:%d answered %q", ep.Port, body)
	}
	h.deploy(v1)
	if body, err := getInternal(t, ep.Port); err != nil || body != "v1" {
		t.Fatalf("internal port after v1: %q, %v", body, err)
	}
	v2 := privateRelease(t, production, "api", "v2")
	h.deploy(v2)
	if again := mustInternal(t, h.tg, production, v2.Service); again.Port != ep.Port {
		t.Fatalf("the internal port changed with a deployment: %d, then %d", ep.Port, again.Port)
	}
	if body, err := getInternal(t, ep.Port); err != nil || body != "v2" {
		t.Fatalf("internal port after v2: %q, %v", body, err)
	}
	// A worker has none.
	if _, err := h.tg.InternalAddress(context.Background(), production, config.Service{ID: "w", Type: config.TypeWorker}); err == nil {
		t.Error("a worker got an internal address")
	}

	// Liftoff stops: nothing listens; a new Target on the same directory
	// listens on the same port before anything is deployed again.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.tg.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ep.Port)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after Close, dialing the internal port: %v, want connection refused", err)
	}
	h2 := newHarness(t, func(c *Config) { c.Dir = h.dir })
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ep.Port)); err != nil {
		t.Fatalf("a restarted target does not listen on the kept port: %v", err)
	} else {
		c.Close()
	}
	if again := mustInternal(t, h2.tg, production, v2.Service); again.Port != ep.Port {
		t.Fatalf("the internal port changed with a restart: %d, then %d", ep.Port, again.Port)
	}
	v3 := privateRelease(t, production, "api", "v3")
	h2.deploy(v3)
	if body, err := getInternal(t, ep.Port); err != nil || body != "v3" {
		t.Fatalf("internal port after the restart: %q, %v", body, err)
	}
}

// A connection open through the internal port stays with the release it
// reached until that release stops; new ones reach the new release. A
// preview torn down gives its port up.
func TestInternalPortSwitchAndTeardown(t *testing.T) {
	h := newHarness(t, nil)
	v1 := privateRelease(t, preview12, "api", "v1")
	h.deploy(v1)
	ep := mustInternal(t, h.tg, preview12, v1.Service)
	open, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ep.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	ask := func() string {
		if _, err := io.WriteString(open, "GET / HTTP/1.1\r\nHost: api\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		open.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := open.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	if got := ask(); !strings.HasSuffix(got, "v1") {
		t.Fatalf("first request: %q", got)
	}
	h.deploy(privateRelease(t, preview12, "api", "v2"))
	if body, err := getInternal(t, ep.Port); err != nil || body != "v2" {
		t.Fatalf("internal port after v2: %q, %v", body, err)
	}
	// v1 stopped (closing its idle connections): the open one ends.
	open.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := open.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the connection to the retired release: read %d bytes, %v; want EOF", n, err)
	}
	if err := h.tg.StopInstance(context.Background(), preview12); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ep.Port)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after teardown, dialing the preview's internal port: %v, want connection refused", err)
	}
	h.tg.internal.mu.Lock()
	left := len(h.tg.internal.ports)
	h.tg.internal.mu.Unlock()
	if left != 0 {
		t.Errorf("the torn down preview's port is still kept (%d ports)", left)
	}
}
