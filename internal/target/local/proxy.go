package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liftoffhq/liftoff/internal/target"
)

// Handler is Liftoff's proxy: it routes a request by its Host (any port,
// any case), one of the host names a release was deployed with
// (target.Release.Hosts), to the serving release of that web or static
// service, and answers 404 for hosts where nothing is deployed. Serve it
// on Config.ProxyAddr.
func (t *Target) Handler() http.Handler { return http.HandlerFunc(t.serveProxy) }

func (t *Target) serveProxy(w http.ResponseWriter, r *http.Request) {
	if key, ok := routeKey(r.Host); ok {
		for {
			b := t.routes.lookup(key)
			if b == nil {
				break
			}
			// A backend retired between get and acquire takes no request:
			// its route was switched before it was retired, so read again.
			if b.acquire() {
				defer b.done()
				b.handler.ServeHTTP(w, r)
				return
			}
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, "404 Not Found\n\nNo service is deployed at %q.\n"+
		"Liftoff serves web and static services at <service>.<environment>.<project>.localhost,\n"+
		"and at <service>.<environment>.localhost for the first project deployed there\n"+
		"(previews: <service>.pr-<number>.<environment>[.<project>].localhost).\n", r.Host)
}

// Serves reports whether a release serves host (any case, with or without
// a port) now: what on-demand certificate issuance asks before it asks a
// CA for a name.
func (t *Target) Serves(host string) bool {
	key, ok := routeKey(host)
	return ok && t.routes.lookup(key) != nil
}

// routeKey turns a Host header into a route key: the host name without
// port or trailing dot, in lowercase ("api.production.localhost").
func routeKey(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = hostKey(host)
	return host, host != ""
}

// hostKey is a host name as the route table keys it.
func hostKey(host string) string { return strings.ToLower(strings.TrimSuffix(host, ".")) }

// router maps route keys to the backends serving them.
type router struct {
	mu sync.RWMutex
	m  map[string]*backend
}

// lookup finds the backend of a host: its own route, else the wildcard
// route one label up ("*.example.com" for "a.example.com").
func (rt *router) lookup(key string) *backend {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	if b := rt.m[key]; b != nil {
		return b
	}
	if i := strings.IndexByte(key, '.'); i > 0 {
		return rt.m["*"+key[i:]]
	}
	return nil
}

func (rt *router) set(key string, b *backend) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.m[key] = b
}

// removeIf removes the route key only while it leads to b, so a release
// being stopped never takes down the route of a newer one.
func (rt *router) removeIf(key string, b *backend) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.m[key] == b {
		delete(rt.m, key)
	}
}

// retiredBit marks a backend's state once it takes no new requests; the
// bits below count requests in flight.
const retiredBit = 1 << 62

// backend is a release as the proxy sees it: a handler, and the count of
// requests it is serving. Counting and the retired mark share one atomic
// word, so a request is either counted before the backend was retired
// (and retirement waits for it) or refused (and routed again).
type backend struct {
	handler  http.Handler
	instance target.Instance // the instance of the release, for InstanceAt
	state    atomic.Int64
	idle     chan struct{} // closed once retired with nothing in flight
	idleOnce sync.Once
	free     func() // frees what the handler holds, after retirement
}

func newBackend(h http.Handler, free func()) *backend {
	return &backend{handler: h, idle: make(chan struct{}), free: free}
}

// acquire counts a request in, unless the backend is retired.
func (b *backend) acquire() bool {
	for {
		s := b.state.Load()
		if s&retiredBit != 0 {
			return false
		}
		if b.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// done counts a request out.
func (b *backend) done() {
	if b.state.Add(-1) == retiredBit {
		b.idleOnce.Do(func() { close(b.idle) })
	}
}

// retire refuses new requests; the channel closes when the last one in
// flight is done. Switch the route away first.
func (b *backend) retire() <-chan struct{} {
	if old := b.state.Or(retiredBit); old&^retiredBit == 0 {
		b.idleOnce.Do(func() { close(b.idle) })
	}
	return b.idle
}

func (b *backend) inFlight() int64 { return b.state.Load() &^ retiredBit }

// newProxyBackend proxies to a release listening on 127.0.0.1:port. Each
// release has its own transport, so its idle connections can be closed
// when it is stopped. The Host header is kept as the client sent it, as
// hosting platforms do; X-Forwarded-For, -Host, -Proto and X-Real-IP are
// set from the real client (what a client sent in them is dropped, unless
// it came through a trusted proxy: Config.Clients). Streaming responses are
// flushed as they come, and upgrades (websockets) are passed through.
func (t *Target) newProxyBackend(key, releaseID string, run *supervised) *backend {
	tr := &http.Transport{
		// No Proxy: the release is on loopback, never behind HTTP_PROXY.
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     60 * time.Second,
	}
	log := t.log.With("host", key, "release", releaseID)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The current instance's port: a restart changes it.
			pr.SetURL(&url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(run.port()))})
			pr.Out.Host = pr.In.Host
			t.cfg.Clients.Forward(pr.In, pr.Out.Header)
		},
		Transport: tr,
		ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(r.Context().Err(), context.Canceled) {
				return
			}
			if !run.up() { // it ended under this request: it is restarting
				serveDown(w, r, StateRestarting)
				return
			}
			log.Warn("local target proxy: release did not answer", "err", err)
			http.Error(w, "502 Bad Gateway\n\nThe service at "+r.Host+" did not answer: "+
				"its release may have crashed. Its log is in Liftoff.", http.StatusBadGateway)
		},
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := run.State(); st != StateRunning {
			serveDown(w, r, st)
			return
		}
		rp.ServeHTTP(w, r)
	})
	return newBackend(h, tr.CloseIdleConnections)
}

// serveDown answers 503 for a service whose release is restarting or
// crashed, with a page that says which and what to do.
func serveDown(w http.ResponseWriter, r *http.Request, st State) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	var msg string
	if st == StateCrashed {
		msg = "The service at %q has crashed: its release kept stopping, and Liftoff gave up restarting it.\n" +
			"It stays down until the next deployment of the service. Its restarts (exit codes and last lines)\n" +
			"are in Liftoff: liftoff logs, or GET /v1/services/{serviceId}.\n"
	} else {
		w.Header().Set("Retry-After", "5")
		msg = "The service at %q is restarting: its release stopped, and Liftoff is starting it again.\n" +
			"Try again in a few seconds.\n"
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, "503 Service Unavailable\n\n"+msg, r.Host)
}
