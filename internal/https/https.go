// Package https is Liftoff's front door over TLS: certificates for the
// hosts the proxy serves, obtained and renewed automatically from an ACME
// CA (Let's Encrypt by default) with Caddy's certmagic, kept in a
// certmagic.Storage that every replica shares, and the HTTP side that
// answers ACME's HTTP-01 challenges and redirects people to HTTPS.
//
// A custom domain's certificate is obtained when a release is about to
// take traffic at it (Prepare), so that the first visitor does not wait;
// when that fails (DNS not pointing here yet), or for names under a
// wildcard domain and preview hosts, it is obtained on demand at the
// first TLS handshake, and only for a host a live service answers at
// (Config.Serves): nobody can make Liftoff ask a CA for names it does not
// serve. Names under .localhost never get one: they are served over
// plain HTTP.
package https

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// LetsEncrypt is the default CA: Let's Encrypt's production directory.
const LetsEncrypt = certmagic.LetsEncryptProductionCA

// Config configures a Manager.
type Config struct {
	// Email is the ACME account's contact: the CA writes there about
	// expiring certificates and problems. Required.
	Email string
	// CA is the ACME directory URL. Default LetsEncrypt.
	CA string
	// CARoots, if set, are the roots trusted for the CA's own HTTPS (a
	// private CA, Pebble). Default: the system's.
	CARoots *x509.CertPool
	// Storage keeps certificates, keys, ACME accounts and locks; replicas
	// sharing one never issue twice. Required.
	Storage certmagic.Storage
	// Serves reports whether a live service answers at host: on-demand
	// issuance asks it first. Required.
	Serves func(host string) bool
	// HTTPSPort is the port HTTPS is served on (for redirects and the
	// TLS-ALPN challenge). Default 443.
	HTTPSPort int
	// HTTPPort is the port the HTTP side is served on, where the CA sends
	// HTTP-01 challenges. Default 80.
	HTTPPort int
	// HSTSMaxAge, when positive, sends Strict-Transport-Security with that
	// max-age on every HTTPS response. Default 0: none.
	HSTSMaxAge time.Duration
	// RenewCheckInterval is how often certificates are checked for
	// renewal (they are renewed in the last third of their lifetime).
	// Default certmagic's (10 minutes).
	RenewCheckInterval time.Duration
	// Log receives certmagic's events. Default: discarded.
	Log *slog.Logger
}

// Manager obtains, renews and serves certificates. Safe for concurrent use.
type Manager struct {
	cfg   Config
	cache *certmagic.Cache
	// managed obtains and renews the certificates of Prepare's hosts;
	// onDemand those obtained at a handshake (certmagic's Manage leaves
	// every name to handshakes when a config has OnDemand). Both share
	// the cache, the storage and the ACME account.
	managed, onDemand *certmagic.Config
	issuer            *certmagic.ACMEIssuer
	prepared          sync.Map // names Prepare manages: string -> struct{}
}

// New checks cfg and prepares a Manager; nothing is requested from the
// CA until a host needs a certificate.
func New(cfg Config) (*Manager, error) {
	switch {
	case cfg.Email == "":
		return nil, errors.New("https: an ACME account email is required (liftoff serve --acme-email you@example.com)")
	case cfg.Storage == nil:
		return nil, errors.New("https: Config.Storage is required")
	case cfg.Serves == nil:
		return nil, errors.New("https: Config.Serves is required")
	}
	if cfg.CA == "" {
		cfg.CA = LetsEncrypt
	}
	if cfg.HTTPSPort == 0 {
		cfg.HTTPSPort = 443
	}
	if cfg.HTTPPort == 0 {
		cfg.HTTPPort = 80
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg}
	zl := zapLogger(cfg.Log)
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(c certmagic.Certificate) (*certmagic.Config, error) {
			for _, n := range c.Names {
				if _, ok := m.prepared.Load(n); ok {
					return m.managed, nil
				}
			}
			return m.onDemand, nil
		},
		RenewCheckInterval: cfg.RenewCheckInterval,
		Logger:             zl,
	})
	m.managed = certmagic.New(m.cache, certmagic.Config{Storage: cfg.Storage, Logger: zl})
	m.onDemand = certmagic.New(m.cache, certmagic.Config{
		Storage: cfg.Storage,
		Logger:  zl,
		OnDemand: &certmagic.OnDemandConfig{DecisionFunc: func(_ context.Context, name string) error {
			if !Certifiable(name) {
				return fmt.Errorf("no certificate for %q: Liftoff serves it over plain HTTP only", name)
			}
			if !cfg.Serves(name) {
				return fmt.Errorf("no certificate for %q: no service of Liftoff answers at it", name)
			}
			return nil
		}},
	})
	m.issuer = certmagic.NewACMEIssuer(m.managed, certmagic.ACMEIssuer{
		CA:           cfg.CA,
		Email:        cfg.Email,
		Agreed:       true,
		TrustedRoots: cfg.CARoots,
		// The challenges reach Liftoff's own listeners: HTTP-01 on the
		// HTTP side (HTTPHandler), TLS-ALPN-01 on the HTTPS side
		// (TLSConfig). certmagic finds those ports taken and leaves
		// the answers to them, through Storage, so any replica answers.
		AltHTTPPort:    cfg.HTTPPort,
		AltTLSALPNPort: cfg.HTTPSPort,
		Logger:         zl,
	})
	m.managed.Issuers = []certmagic.Issuer{m.issuer}
	m.onDemand.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

// Certifiable reports whether a CA can certify host: a DNS name, neither
// an IP address nor localhost or a name under it.
func Certifiable(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") || !strings.Contains(host, ".") {
		return false
	}
	return net.ParseIP(host) == nil
}

// TLSConfig is the HTTPS listener's: certificates by SNI (obtained on
// demand when allowed), the TLS-ALPN challenge, HTTP/2.
func (m *Manager) TLSConfig() *tls.Config {
	tc := m.onDemand.TLSConfig()
	tc.NextProtos = append([]string{"h2", "http/1.1"}, tc.NextProtos...)
	tc.MinVersion = tls.VersionTLS12
	return tc
}

// Prepare obtains (or loads from Storage) the certificates of the
// certifiable hosts among hosts and keeps them renewed. It is called
// before a release takes traffic at new hosts; when it fails the hosts
// still get their certificates on demand, at the first handshake.
func (m *Manager) Prepare(ctx context.Context, hosts []string) error {
	var names []string
	for _, h := range hosts {
		if Certifiable(h) && !strings.HasPrefix(h, "*.") {
			names = append(names, strings.ToLower(h))
		}
	}
	if len(names) == 0 {
		return nil
	}
	for _, n := range names {
		m.prepared.Store(n, struct{}{})
	}
	if err := m.managed.ManageSync(ctx, names); err != nil {
		return fmt.Errorf("certificate of %s: %w", strings.Join(names, ", "), err)
	}
	return nil
}

// HTTPHandler is the plain-HTTP side: it answers ACME's HTTP-01
// challenges, redirects requests for certifiable hosts to HTTPS (308,
// keeping method and body) and passes the others (.localhost names, IP
// addresses) to next.
func (m *Manager) HTTPHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.issuer.HandleHTTPChallenge(w, r) {
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !Certifiable(host) {
			next.ServeHTTP(w, r)
			return
		}
		target := "https://" + host
		if m.cfg.HTTPSPort != 443 {
			target += ":" + strconv.Itoa(m.cfg.HTTPSPort)
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// HTTPSHandler is the HTTPS side: next, with Strict-Transport-Security
// when configured.
func (m *Manager) HTTPSHandler(next http.Handler) http.Handler {
	if m.cfg.HSTSMaxAge <= 0 {
		return next
	}
	value := "max-age=" + strconv.FormatInt(int64(m.cfg.HSTSMaxAge/time.Second), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", value)
		next.ServeHTTP(w, r)
	})
}

// Stop ends the background renewal and OCSP maintenance and frees the
// storage locks this process holds, so other replicas need not wait for
// them to expire. Call it once nothing is served any more.
func (m *Manager) Stop() {
	m.cache.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	certmagic.CleanUpOwnLocks(ctx, zapLogger(m.cfg.Log))
}
