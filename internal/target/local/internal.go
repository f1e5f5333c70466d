package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/target"
)

// Internal addresses: a web or web-private service of an instance gets a
// port of its own on this host, kept as long as the instance (across
// deployments, restarts of its release and restarts of Liftoff), where
// Liftoff forwards each connection to the release serving at that moment.
// Other services reach it there: processes at 127.0.0.1:<port>, containers
// at the host's address on the container network (podman's
// host.containers.internal). The ports are kept in Dir/internal-ports.json,
// so that the addresses services were started with stay true.
//
// Connections are forwarded as bytes (any protocol over TCP). A deployment
// sends new connections to the new release at once; those open to the old
// one go on until it stops (SIGTERM after the proxy's drain), as behind any
// TCP load balancer. While Liftoff is down nothing is forwarded.

const (
	internalPortsFile = "internal-ports.json"
	// internalDialTimeout bounds the connection to the serving release.
	internalDialTimeout = 5 * time.Second
	// internalBindTries is how many ports InternalAddress tries before
	// giving up: a free loopback port may be taken on the gateway.
	internalBindTries = 5
)

// internalEndpoints are the internal ports of a Target, their listeners
// and the connections they forward. Guarded by its mutex.
type internalEndpoints struct {
	mu        sync.Mutex
	ports     map[slotKey]int
	listeners map[slotKey][]net.Listener
	conns     map[net.Conn]bool
	gateway   netip.Addr // found once, on the first use
	gwErr     error
	gwFound   bool
	closed    bool
}

// internalKey is a slotKey as the ports file writes it: "3/0/api".
func internalKey(k slotKey) string {
	return strconv.FormatInt(k.environmentID, 10) + "/" + strconv.Itoa(k.prNumber) + "/" + k.service
}

func parseInternalKey(s string) (slotKey, bool) {
	var k slotKey
	env, rest, ok1 := strings.Cut(s, "/")
	pr, svc, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || svc == "" {
		return k, false
	}
	e, err1 := strconv.ParseInt(env, 10, 64)
	p, err2 := strconv.Atoi(pr)
	if err1 != nil || err2 != nil {
		return k, false
	}
	return slotKey{environmentID: e, prNumber: p, service: svc}, true
}

func (t *Target) internalPortsPath() string { return filepath.Join(t.cfg.Dir, internalPortsFile) }

// openInternal reads the ports file and listens on its ports again, as a
// Liftoff starting must before any release starts (a release could take a
// port otherwise). A port that cannot be had again is dropped: the next
// InternalAddress gives its service another.
func (t *Target) openInternal() error {
	ie := &t.internal
	ie.ports, ie.listeners, ie.conns = map[slotKey]int{}, map[slotKey][]net.Listener{}, map[net.Conn]bool{}
	b, err := os.ReadFile(t.internalPortsPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("local target: %w", err)
	}
	var saved map[string]int
	if err := json.Unmarshal(b, &saved); err != nil {
		t.log.Warn("local target: internal ports file unreadable; services get new internal ports", "file", t.internalPortsPath(), "err", err)
		return nil
	}
	ie.mu.Lock()
	defer ie.mu.Unlock()
	for s, port := range saved {
		k, ok := parseInternalKey(s)
		if !ok {
			continue
		}
		if err := t.listenInternal(k, port); err != nil {
			t.log.Warn("local target: internal port taken; the service gets another at its next deployment", "service", s, "port", port, "err", err)
			continue
		}
		ie.ports[k] = port
	}
	return nil
}

// InternalAddress is where the other services reach service svc of inst:
// its internal port, kept for the instance, listened on from now on.
func (t *Target) InternalAddress(ctx context.Context, inst target.Instance, svc config.Service) (target.Endpoint, error) {
	if !listens(svc) {
		return target.Endpoint{}, fmt.Errorf("service %s is a %s service: only web and web-private services listen", svc.ID, svc.Type)
	}
	ie := &t.internal
	gw, gwErr := t.containerGateway(ctx)
	ie.mu.Lock()
	defer ie.mu.Unlock()
	if ie.closed {
		return target.Endpoint{}, ErrClosed
	}
	k := keyOf(inst, svc.ID)
	port, ok := ie.ports[k]
	if !ok {
		var err error
		if port, err = t.allocateInternal(k); err != nil {
			return target.Endpoint{}, fmt.Errorf("internal port of %s.%s: %w", svc.ID, inst.Key(), err)
		}
		ie.ports[k] = port
		if err := t.saveInternal(); err != nil {
			return target.Endpoint{}, err
		}
	}
	ep := target.Endpoint{Port: port, Host: "127.0.0.1", ContainerErr: gwErr}
	if gwErr == nil {
		ep.ContainerHost = gw.String()
	}
	return ep, nil
}

// allocateInternal finds a port free on loopback (and on the container
// gateway) and listens on it. Called with ie.mu held.
func (t *Target) allocateInternal(k slotKey) (int, error) {
	var err error
	for range internalBindTries {
		var port int
		if port, err = freePort(); err != nil {
			return 0, err
		}
		if err = t.listenInternal(k, port); err == nil {
			return port, nil
		}
	}
	return 0, err
}

// listenInternal listens on port for k's service: on loopback, and on the
// container gateway when there is one. Called with ie.mu held.
func (t *Target) listenInternal(k slotKey, port int) error {
	ie := &t.internal
	addrs := []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	if ie.gwFound && ie.gwErr == nil {
		addrs = append(addrs, net.JoinHostPort(ie.gateway.String(), strconv.Itoa(port)))
	}
	var ls []net.Listener
	for _, a := range addrs {
		l, err := t.listenFree(a)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return err
		}
		ls = append(ls, l)
	}
	ie.listeners[k] = ls
	for _, l := range ls {
		go t.acceptInternal(k, l)
	}
	return nil
}

// listenFree listens on addr, which may not exist yet: podman creates its
// bridge, and the gateway's address, with the first container.
func (t *Target) listenFree(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, syscall.IP_FREEBIND, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(t.life, "tcp", addr)
}

// containerGateway finds the container network's gateway once; the
// endpoints allocated from then on listen on it too.
func (t *Target) containerGateway(ctx context.Context) (netip.Addr, error) {
	ie := &t.internal
	ie.mu.Lock()
	found, gw, err := ie.gwFound, ie.gateway, ie.gwErr
	ie.mu.Unlock()
	if found {
		return gw, err
	}
	if t.cfg.Containers == nil {
		err = errors.New("this Liftoff has no container CLI")
	} else {
		cctx, cancel := context.WithTimeout(ctx, containerCommandTimeout)
		gw, err = t.cfg.Containers.Gateway(cctx)
		cancel()
		if err != nil && ctx.Err() != nil {
			return gw, err // not an answer: ask again next time
		}
	}
	ie.mu.Lock()
	defer ie.mu.Unlock()
	if !ie.gwFound {
		ie.gwFound, ie.gateway, ie.gwErr = true, gw, err
		if err == nil {
			// Endpoints made before the gateway was known listen on it too.
			for k, port := range ie.ports {
				if len(ie.listeners[k]) == 1 {
					t.listenGateway(k, port)
				}
			}
		}
	}
	return ie.gateway, ie.gwErr
}

// listenGateway adds the gateway listener of an endpoint made before the
// gateway was known. Called with ie.mu held.
func (t *Target) listenGateway(k slotKey, port int) {
	ie := &t.internal
	l, err := t.listenFree(net.JoinHostPort(ie.gateway.String(), strconv.Itoa(port)))
	if err != nil {
		t.log.Warn("local target: containers cannot reach an internal port", "service", internalKey(k), "port", port, "err", err)
		return
	}
	ie.listeners[k] = append(ie.listeners[k], l)
	go t.acceptInternal(k, l)
}

// saveInternal writes the ports file. Called with ie.mu held.
func (t *Target) saveInternal() error {
	saved := make(map[string]int, len(t.internal.ports))
	for k, p := range t.internal.ports {
		saved[internalKey(k)] = p
	}
	b, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		return err
	}
	tmp := t.internalPortsPath() + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("local target: save internal ports: %w", err)
	}
	if err := os.Rename(tmp, t.internalPortsPath()); err != nil {
		return fmt.Errorf("local target: save internal ports: %w", err)
	}
	return nil
}

// acceptInternal forwards the connections of one listener until it is
// closed.
func (t *Target) acceptInternal(k slotKey, l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				t.log.Warn("local target: internal port stopped accepting", "service", internalKey(k), "err", err)
			}
			return
		}
		go t.forwardInternal(k, c)
	}
}

// forwardInternal joins c to the release serving k's service, or closes it
// when none is up (deploying for the first time, restarting, crashed).
func (t *Target) forwardInternal(k slotKey, c net.Conn) {
	ie := &t.internal
	ie.mu.Lock()
	if ie.closed {
		ie.mu.Unlock()
		c.Close()
		return
	}
	ie.conns[c] = true
	ie.mu.Unlock()
	defer func() {
		ie.mu.Lock()
		delete(ie.conns, c)
		ie.mu.Unlock()
		c.Close()
	}()
	t.mu.Lock()
	run := t.serving[k]
	t.mu.Unlock()
	if run == nil || !run.up() {
		return
	}
	d := net.Dialer{Timeout: internalDialTimeout}
	b, err := d.DialContext(t.life, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(run.port())))
	if err != nil {
		t.log.Warn("local target: internal connection: release did not answer", "service", internalKey(k), "err", err)
		return
	}
	ie.mu.Lock()
	ie.conns[b] = true
	ie.mu.Unlock()
	defer func() {
		ie.mu.Lock()
		delete(ie.conns, b)
		ie.mu.Unlock()
		b.Close()
	}()
	done := make(chan struct{})
	go func() {
		pipe(b, c)
		close(done)
	}()
	pipe(c, b)
	<-done
}

// pipe copies from src to dst, then closes dst's writing half so the
// other end sees the end of what src sent.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		dst.Close()
	}
}

// setServing makes run the release that k's internal port forwards to
// (nil: none); with old set, only while old is the one serving.
func (t *Target) setServing(k slotKey, run, old *supervised) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur := t.serving[k]; old != nil && cur != old {
		return
	}
	if run == nil {
		delete(t.serving, k)
	} else {
		t.serving[k] = run
	}
}

// dropInternal forgets the internal ports of inst's services, closing
// their listeners and connections (a preview torn down).
func (t *Target) dropInternal(inst target.Instance) error {
	ie := &t.internal
	ie.mu.Lock()
	defer ie.mu.Unlock()
	changed := false
	for k := range ie.ports {
		if k.in(inst) {
			for _, l := range ie.listeners[k] {
				l.Close()
			}
			delete(ie.listeners, k)
			delete(ie.ports, k)
			changed = true
		}
	}
	if !changed || ie.closed {
		return nil
	}
	return t.saveInternal()
}

// closeInternal stops listening and closes every forwarded connection
// (Liftoff shutting down); the ports file stays for the next start.
func (t *Target) closeInternal() {
	ie := &t.internal
	ie.mu.Lock()
	defer ie.mu.Unlock()
	ie.closed = true
	for _, ls := range ie.listeners {
		for _, l := range ls {
			l.Close()
		}
	}
	for c := range ie.conns {
		c.Close()
	}
}

// listens reports whether svc's releases listen on a port: web and
// web-private services.
func listens(svc config.Service) bool {
	return svc.Type == config.TypeWeb || svc.Type == config.TypeWebPrivate
}
