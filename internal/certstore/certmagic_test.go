package certstore

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// testCA signs the certificates of the tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Liftoff test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// sign returns the PEM of a certificate for names and pub, valid for 90
// days (so not due for renewal).
func (ca *testCA) sign(t testing.TB, names []string, pub crypto.PublicKey) ([]byte, *big.Int) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), serial
}

// issuer is a certmagic.Issuer that signs with a test CA, counting its
// certificates. Until gate is closed, it waits after saying it was called.
type issuer struct {
	t      testing.TB
	ca     *testCA
	issued atomic.Int32
	called chan struct{}
	gate   chan struct{}
}

func (i *issuer) IssuerKey() string { return "liftoff-test-ca" }

func (i *issuer) Issue(ctx context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	i.issued.Add(1)
	i.called <- struct{}{}
	select {
	case <-i.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	crt, _ := i.ca.sign(i.t, csr.DNSNames, csr.PublicKey)
	return &certmagic.IssuedCertificate{Certificate: crt, Metadata: map[string]string{"by": "test"}}, nil
}

// certmagicConfig is what the HTTPS server of a replica would run:
// certmagic's cache and config on storage.
func certmagicConfig(t *testing.T, storage certmagic.Storage, issuers ...certmagic.Issuer) *certmagic.Config {
	t.Helper()
	var cfg *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return cfg, nil },
		Logger:           zap.NewNop(),
	})
	t.Cleanup(cache.Stop)
	cfg = certmagic.New(cache, certmagic.Config{Storage: storage, Issuers: issuers, Logger: zap.NewNop()})
	return cfg
}

// handshake makes a TLS connection to cfg's TLS config for name, trusting
// only the test CA, and returns the serial number of the certificate it
// was served.
func handshake(t *testing.T, cfg *certmagic.Config, ca *testCA, name string) *big.Int {
	t.Helper()
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	// As an HTTPS server would: certmagic's config names only the ACME
	// TLS-ALPN protocol, the server adds its own.
	tc := cfg.TLSConfig()
	tc.NextProtos = append([]string{"http/1.1"}, tc.NextProtos...)
	srv := tls.Server(server, tc)
	served := make(chan error, 1)
	go func() { served <- srv.Handshake() }()
	c := tls.Client(client, &tls.Config{ServerName: name, RootCAs: ca.pool, NextProtos: []string{"http/1.1"}})
	if err := c.Handshake(); err != nil {
		t.Fatalf("TLS handshake for %s: %v", name, err)
	}
	if err := <-served; err != nil {
		t.Fatalf("TLS handshake for %s, server side: %v", name, err)
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

// TestCertmagicLoadsStoredCertificate: a certificate and key stored under
// certmagic's key layout by one replica are loaded by certmagic on another
// (CacheManagedCertificate) and served in a TLS handshake; the private key
// is nowhere in the database in clear.
func TestCertmagicLoadsStoredCertificate(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		ca := newCA(t)
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		crt, serial := ca.sign(t, []string{"example.com"}, key.Public())
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		meta, _ := json.Marshal(map[string]any{"sans": []string{"example.com"}})
		iss := &issuer{t: t, ca: ca, called: make(chan struct{}, 1), gate: make(chan struct{})}
		a := f.replica(0, Options{})
		keys := certmagic.StorageKeys
		for k, v := range map[string][]byte{
			keys.SiteCert(iss.IssuerKey(), "example.com"):       crt,
			keys.SitePrivateKey(iss.IssuerKey(), "example.com"): keyPEM,
			keys.SiteMeta(iss.IssuerKey(), "example.com"):       meta,
		} {
			if err := a.Store(ctx, k, v); err != nil {
				t.Fatal(err)
			}
		}

		cfg := certmagicConfig(t, f.replica(1, Options{}), iss)
		cert, err := cfg.CacheManagedCertificate(ctx, "example.com")
		if err != nil {
			t.Fatalf("CacheManagedCertificate: %v", err)
		}
		if cert.Leaf.SerialNumber.Cmp(serial) != 0 || len(cert.Names) != 1 || cert.Names[0] != "example.com" {
			t.Fatalf("certmagic loaded %v for %v; want serial %v", cert.Leaf.SerialNumber, cert.Names, serial)
		}
		if got := handshake(t, cfg, ca, "example.com"); got.Cmp(serial) != 0 {
			t.Fatalf("served serial %v; want %v", got, serial)
		}
		if n := iss.issued.Load(); n != 0 {
			t.Fatalf("the issuer was asked for %d certificates", n)
		}
		body := der[:32]
		for _, blob := range f.raw(t) {
			if bytes.Contains(blob, keyPEM[30:90]) || bytes.Contains(blob, body) || bytes.Contains(blob, []byte("PRIVATE KEY")) {
				t.Fatal("the database holds the private key in clear")
			}
		}
		// A certificate certmagic does not have is not there.
		if _, err := cfg.CacheManagedCertificate(ctx, "example.org"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("CacheManagedCertificate(example.org) = %v; want fs.ErrNotExist", err)
		}
	})
}

// TestCertmagicIssuesOnce: two replicas asked at once for a certificate
// certmagic does not have yet issue it once (one holds the lock while the
// other waits on it and then finds it stored), and both serve the same.
func TestCertmagicIssuesOnce(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		ca := newCA(t)
		iss := &issuer{t: t, ca: ca, called: make(chan struct{}, 2), gate: make(chan struct{})}
		locking := make(chan string, 4)
		cfgs := []*certmagic.Config{
			certmagicConfig(t, observed{f.replica(0, Options{PollInterval: 20 * time.Millisecond}), locking}, iss),
			certmagicConfig(t, observed{f.replica(1, Options{PollInterval: 20 * time.Millisecond}), locking}, iss),
		}
		var wg sync.WaitGroup
		for _, cfg := range cfgs {
			wg.Go(func() {
				if err := cfg.ObtainCertSync(ctx, "example.com"); err != nil {
					t.Error(err)
				}
			})
		}
		// One replica issues; it waits at the gate until the other one
		// asked for the lock too.
		<-iss.called
		for range 2 {
			if name := <-locking; name != "issue_cert_example.com" {
				t.Errorf("certmagic locked %q", name)
			}
		}
		close(iss.gate)
		wg.Wait()
		if n := iss.issued.Load(); n != 1 {
			t.Fatalf("%d certificates issued; want 1", n)
		}
		var serials []*big.Int
		for _, cfg := range cfgs {
			cert, err := cfg.CacheManagedCertificate(ctx, "example.com")
			if err != nil {
				t.Fatal(err)
			}
			serials = append(serials, cert.Leaf.SerialNumber)
			if got := handshake(t, cfg, ca, "example.com"); got.Cmp(cert.Leaf.SerialNumber) != 0 {
				t.Fatalf("served serial %v; want %v", got, cert.Leaf.SerialNumber)
			}
		}
		if serials[0].Cmp(serials[1]) != 0 {
			t.Fatalf("the replicas serve different certificates: %v, %v", serials[0], serials[1])
		}
		// Asked again, neither issues: the storage has it.
		for _, cfg := range cfgs {
			if err := cfg.ObtainCertSync(ctx, "example.com"); err != nil {
				t.Fatal(err)
			}
		}
		if n := iss.issued.Load(); n != 1 {
			t.Fatalf("%d certificates issued after asking again; want 1", n)
		}
		// Every lock was released.
		for _, s := range []*Storage{cfgs[0].Storage.(observed).Storage, cfgs[1].Storage.(observed).Storage} {
			s.mu.Lock()
			held := len(s.held)
			s.mu.Unlock()
			if held != 0 {
				t.Fatalf("%d locks still held", held)
			}
		}
	})
}

// observed is a Storage that says when certmagic asks for a lock.
type observed struct {
	*Storage
	locking chan<- string
}

func (o observed) Lock(ctx context.Context, name string) error {
	o.locking <- name
	return o.Storage.Lock(ctx, name)
}
