package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

// BenchmarkProxyTLS measures the time TLS adds to a request through
// Liftoff's proxy: one release of a small web server behind the local
// target's proxy, served both over plain HTTP and over TLS (ECDSA P-256,
// TLS 1.3, as certmagic's certificates are), requests alternating between
// the two in one run: on a kept-alive connection (the common case behind
// a browser or a load balancer), and on a new connection each (a full
// handshake every time). It reports each in microseconds and TLS's as a
// ratio of plain HTTP's.
func BenchmarkProxyTLS(b *testing.B) {
	dir := b.TempDir()
	containertest.GoProgram(b, dir, "server", releaseServer)
	if err := os.WriteFile(filepath.Join(dir, "version.txt"), []byte("v1"), 0o644); err != nil {
		b.Fatal(err)
	}
	tg, err := local.New(local.Config{Dir: b.TempDir(), StopTimeout: 10 * time.Second, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tg.Close(context.Background()) }()
	host := "web.production.localhost"
	rel := target.Release{ID: "r1", Instance: target.Instance{ProjectID: "p", EnvironmentID: 1, EnvGivenID: "production"},
		Hosts: []string{host}, Dir: dir, Env: []string{"PATH=" + os.Getenv("PATH")}, Log: io.Discard,
		Service: config.Service{ID: "web", Type: config.TypeWeb, StartCommand: config.Shell("./server"), HealthCheckPath: "/health", HealthCheckTimeoutSecs: 30}}
	if err := tg.Deploy(context.Background(), rel); err != nil {
		b.Fatal(err)
	}
	plain := httptest.NewServer(tg.Handler())
	defer plain.Close()
	secure := httptest.NewUnstartedServer(tg.Handler())
	cert, pool := benchCertificate(b, host)
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	secure.StartTLS()
	defer secure.Close()

	client := func(tlsOn, keepAlive bool) *http.Client {
		addr := plain.Listener.Addr().String()
		if tlsOn {
			addr = secure.Listener.Addr().String()
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: !keepAlive, ForceAttemptHTTP2: true,
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host},
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			},
		}}
	}
	get := func(c *http.Client, tlsOn bool) time.Duration {
		url := "http://" + host + "/"
		if tlsOn {
			url = "https://" + host + "/"
		}
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "v1" {
			b.Fatalf("%s: %d %q", url, resp.StatusCode, body)
		}
		return time.Since(start)
	}
	cases := []struct {
		name       string
		tls, alive bool
		c          *http.Client
		total      time.Duration
	}{
		{name: "plain-kept", alive: true}, {name: "tls-kept", tls: true, alive: true},
		{name: "plain-new"}, {name: "tls-new", tls: true},
	}
	for i := range cases {
		cases[i].c = client(cases[i].tls, cases[i].alive)
		get(cases[i].c, cases[i].tls) // warm up: the kept connections open here
	}
	const perRound = 200
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for i := range cases {
			for range perRound {
				cases[i].total += get(cases[i].c, cases[i].tls)
			}
		}
		n += perRound
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	for _, c := range cases {
		b.ReportMetric(us(c.total), c.name+"-µs/req")
	}
	b.ReportMetric(float64(cases[1].total)/float64(cases[0].total), "tls/plain-kept")
	b.ReportMetric(float64(cases[3].total)/float64(cases[2].total), "tls/plain-new")
	b.Logf("proxy: kept-alive %.0f µs plain vs %.0f µs TLS (+%.0f µs); new connection %.0f µs plain vs %.0f µs TLS (+%.0f µs), %d requests each",
		us(cases[0].total), us(cases[1].total), us(cases[1].total)-us(cases[0].total),
		us(cases[2].total), us(cases[3].total), us(cases[3].total)-us(cases[2].total), n)
}

// benchCertificate is a self-signed ECDSA certificate of host, and the pool
// that trusts it.
func benchCertificate(b *testing.B, host string) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	parsed, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: parsed}, pool
}
