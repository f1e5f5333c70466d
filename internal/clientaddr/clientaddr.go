// Package clientaddr decides who a request came from. The TCP peer is the
// client unless it is one of the operator's trusted proxies (a load
// balancer, an ingress): then X-Forwarded-For names the client, read from
// the right and skipping trusted hops, because only the hops a trusted proxy
// appended can be believed; whatever a client wrote to the left of them is
// its own claim. The API (rate limits, hook call records, the access log)
// and Liftoff's proxy (the X-Forwarded-* and X-Real-IP headers it sends to
// releases) share this one rule.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds the client address of requests. The zero value and nil
// trust no proxy: the TCP peer is always the client.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver that believes X-Forwarded-For only when the TCP
// peer is inside one of trusted.
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: trusted}
}

// ParseList parses a comma-separated list of CIDR prefixes and bare IP
// addresses ("10.0.0.0/8, 192.168.1.7"), as --trusted-proxies takes it. An
// empty list trusts nobody.
func ParseList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix such as 10.0.0.0/8", item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Trusted reports whether addr is a trusted proxy.
func (r *Resolver) Trusted(addr netip.Addr) bool {
	if r == nil || !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	for _, p := range r.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Client returns the client address of req as text: the TCP peer, or, when
// the peer is a trusted proxy, the rightmost X-Forwarded-For hop that is
// not itself trusted.
func (r *Resolver) Client(req *http.Request) string {
	peer, ok := peerAddr(req.RemoteAddr)
	if !ok {
		return req.RemoteAddr
	}
	return r.client(peer, req.Header).String()
}

func (r *Resolver) client(peer netip.Addr, h http.Header) netip.Addr {
	if !r.Trusted(peer) {
		return peer
	}
	client := peer
	hops := forwardedFor(h)
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := hopAddr(hops[i])
		if !ok {
			// Garbage in the chain: nothing left of it can be believed, and
			// the nearest hop known is the trusted one that passed it on.
			return client
		}
		client = a
		if !r.Trusted(a) {
			return a
		}
	}
	return client
}

// Forward sets the headers a reverse proxy sends upstream, on out, for the
// request in: X-Forwarded-For (the chain a trusted peer passed on, followed
// by the peer; otherwise the peer alone), X-Forwarded-Host and
// X-Forwarded-Proto (a trusted peer's values, otherwise this hop's), and
// X-Real-IP (the client, as Client finds it). What an untrusted client sent
// in any of them is dropped. Forwarded (RFC 7239) is always dropped: it
// would have to be kept in step with X-Forwarded-For, and the X- headers
// are what releases read. So are look-alikes spelled with underscores
// (X_Forwarded_For): many frameworks (CGI, WSGI, Rack, PHP) read a header
// as HTTP_X_FORWARDED_FOR whether it came with dashes or underscores, so a
// client could otherwise set the address a release believes.
func (r *Resolver) Forward(in *http.Request, out http.Header) {
	for name := range out {
		if strings.Contains(name, "_") && isForwarding(strings.ReplaceAll(name, "_", "-")) {
			delete(out, name)
		}
	}
	proto := "http"
	if in.TLS != nil {
		proto = "https"
	}
	peer, ok := peerAddr(in.RemoteAddr)
	trusted := ok && r.Trusted(peer)
	out.Del("Forwarded")
	chain := ""
	if trusted {
		chain = strings.Join(forwardedFor(in.Header), ", ")
	}
	if ok {
		if chain != "" {
			chain += ", "
		}
		chain += peer.String()
		out.Set("X-Real-IP", r.client(peer, in.Header).String())
	} else {
		out.Del("X-Real-IP")
	}
	if chain != "" {
		out.Set("X-Forwarded-For", chain)
	} else {
		out.Del("X-Forwarded-For")
	}
	host := in.Host
	if v := in.Header.Get("X-Forwarded-Host"); trusted && v != "" {
		host = v
	}
	out.Set("X-Forwarded-Host", host)
	if v := in.Header.Get("X-Forwarded-Proto"); trusted && v != "" {
		proto = v
	}
	out.Set("X-Forwarded-Proto", proto)
}

// isForwarding reports whether name is one of the headers Forward sets.
func isForwarding(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip":
		return true
	}
	return false
}

// forwardedFor lists the hops of every X-Forwarded-For header, in order.
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(v, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				hops = append(hops, hop)
			}
		}
	}
	return hops
}

// hopAddr parses one X-Forwarded-For hop: an address, possibly with a port
// ("1.2.3.4:5678", "[::1]:80") as some proxies write it.
func hopAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

func peerAddr(remote string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
