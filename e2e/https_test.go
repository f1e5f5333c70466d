package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// httpsConfig is a web service with a custom domain in production (and
// another, wild, under a wildcard domain), and previews named by a
// previewDomain template.
func httpsConfig(domain string) string {
	svc := func(id, extra string) string {
		return `{"id": "` + id + `", "name": "` + id + `", "type": "web", "startCommand": "` + webserver + `", "healthCheckPath": "/health"` + extra + `}`
	}
	return `{"environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [` +
		svc("web", `, "domain": "`+domain+`"`) + `, ` + svc("wild", `, "domain": "*.wild.`+domain+`"`) + `]},
  {"id": "preview", "name": "Previews", "source": {"pr": true}, "previewDomain": "{service}-pr-{pr}.preview.example.test", "services": [` + svc("web", "") + `]}
]}`
}

// httpsSite is a Liftoff serving HTTPS with certificates from Pebble.
type httpsSite struct {
	*fixture
	ca                  *pebbleCA
	httpPort, httpsPort int
}

// newHTTPSFixture starts Pebble, then Liftoff (on the store flags) with
// HTTPS on: the proxy's HTTP side on httpPort, HTTPS on httpsPort, which
// Pebble validates challenges on. validity is the certificates' lifetime.
func newHTTPSFixture(t *testing.T, flags []string, ca *pebbleCA, httpPort, httpsPort int, more ...string) *httpsSite {
	t.Helper()
	f := &fixture{t: t, logs: &logLines{}, flags: flags}
	f.serve = append([]string{"--proxy-addr", "127.0.0.1:" + strconv.Itoa(httpPort), "--https-addr", "127.0.0.1:" + strconv.Itoa(httpsPort),
		"--acme-email", "ops@example.test", "--acme-ca", ca.Directory, "--acme-ca-root", ca.CAFile, "--hsts-max-age", "1h"}, more...)
	f.key = bootstrapKey(t, f.flags)
	f.start()
	return &httpsSite{fixture: f, ca: ca, httpPort: httpPort, httpsPort: httpsPort}
}

// createProject makes the project from a new repository with the
// webserver at version v1 and a domain.
func (s *httpsSite) createProject(name, domain string) {
	f := s.fixture
	f.repo = gittest.New(f.t)
	f.repo.Commit("site", map[string]string{"liftoff.json": httpsConfig(domain), "version.txt": "v1"})
	ctx := ctxT(f.t)
	var err error
	if f.project, err = f.c.CreateProjectWith(ctx, client.NewProject{Name: name, RepoURL: f.repo.Dir}); err != nil {
		f.t.Fatal(err)
	}
	if f.hook, err = f.c.CreateHook(ctx, f.project.Environments[0].EnvironmentID, "CI"); err != nil {
		f.t.Fatal(err)
	}
	if f.previewHook, err = f.c.CreateHook(ctx, f.project.Environments[1].EnvironmentID, "CI previews"); err != nil {
		f.t.Fatal(err)
	}
	f.publicPreviews() // the tests open previews without a share link
}

// httpsClient connects to this Liftoff's HTTPS port whatever the URL's
// host, trusting Pebble's root only.
func (s *httpsSite) httpsClient(roots *x509.CertPool) *http.Client {
	addr := "127.0.0.1:" + strconv.Itoa(s.httpsPort)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		},
		ForceAttemptHTTP2: true,
	}}
}

// httpsGet fetches host's path over HTTPS and returns the body of a 200.
func (s *httpsSite) httpsGet(hc *http.Client, host, path string) string {
	s.t.Helper()
	resp, err := hc.Get(s.httpsURL(host, path))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		s.t.Fatalf("GET %s: %d %q", s.httpsURL(host, path), resp.StatusCode, body)
	}
	return string(body)
}

// httpsURL is https://host:<https port>/path.
func (s *httpsSite) httpsURL(host, path string) string {
	return "https://" + host + ":" + strconv.Itoa(s.httpsPort) + path
}

// serial is the serial number of the certificate served for host, or ""
// with the handshake's error.
func (s *httpsSite) serial(host string, roots *x509.CertPool) (string, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", "127.0.0.1:"+strconv.Itoa(s.httpsPort),
		&tls.Config{ServerName: host, RootCAs: roots})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

// TestHTTPSCustomDomain: a service with a domain gets a certificate from
// Pebble (a real ACME CA) on its first deployment; HTTPS answers from the
// service with HSTS; plain HTTP redirects; .localhost names stay plain
// HTTP; a preview host gets its certificate once its service is live;
// names nobody serves get none.
func TestHTTPSCustomDomain(t *testing.T) {
	t.Parallel()
	httpPort, httpsPort := freeTCPPort(t), freeTCPPort(t)
	ca := startPebble(t, httpPort, httpsPort, 90*24*time.Hour)
	s := newHTTPSFixture(t, storeFlags(t, "sqlite", t.TempDir()), ca, httpPort, httpsPort)
	s.createProject("tls", "app.example.test")
	d := s.deployOK("")
	web := service(t, d, "web")
	if want := s.httpsURL("app.example.test", ""); web.Service.ServiceDomain == nil || *web.Service.ServiceDomain != want {
		t.Fatalf("serviceDomain = %v, want %s", web.Service.ServiceDomain, want)
	}
	if n := ca.Issued("app.example.test"); n != 1 {
		logs, _ := s.c.Logs(context.Background(), d.DeploymentID, "web")
		t.Fatalf("Pebble issued %d certificates for app.example.test by the end of the deployment, want 1:\n%s\nLiftoff:\n%s\ndeployment:\n%s",
			n, strings.Join(ca.log.all(), "\n"), strings.Join(s.logs.all(), "\n"), logs)
	}
	roots := ca.Roots()
	hc := s.httpsClient(roots)
	resp, err := hc.Get(s.httpsURL("app.example.test", "/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "v1" || resp.Header.Get("Strict-Transport-Security") != "max-age=3600" {
		t.Fatalf("HTTPS: %d %q, HSTS %q", resp.StatusCode, body, resp.Header.Get("Strict-Transport-Security"))
	}
	if got := s.httpsGet(hc, "app.example.test", "/header/X-Forwarded-Proto"); got != "https" {
		t.Fatalf("the service saw X-Forwarded-Proto %q over HTTPS, want https", got)
	}
	// A name under the wildcard domain gets its certificate on demand.
	if n := ca.Issued("a.wild.app.example.test"); n != 0 {
		t.Fatalf("a name under a wildcard had a certificate before anyone asked: %d", n)
	}
	if got := s.httpsGet(hc, "a.wild.app.example.test", "/"); got != "v1" {
		t.Fatalf("a.wild.app.example.test over HTTPS: %q", got)
	}
	if n := ca.Issued("a.wild.app.example.test"); n != 1 {
		t.Fatalf("Pebble issued %d certificates for a.wild.app.example.test, want 1 (on demand)", n)
	}

	// Plain HTTP redirects to HTTPS, method and path kept.
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(httpPort)+"/a?b=c", nil)
	req.Host = "app.example.test"
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != s.httpsURL("app.example.test", "/a?b=c") {
		t.Fatalf("plain HTTP: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, body := s.get("web", "/"); status != 200 || body != "v1" {
		t.Fatalf("web.production.localhost over plain HTTP: %d %q", status, body)
	}

	// Nobody serves this name: no certificate is asked for it.
	if _, err := s.serial("nobody.example.test", roots); err == nil {
		t.Fatal("a TLS handshake for a name no service answers at succeeded")
	}
	if n := ca.Issued("nobody.example.test"); n != 0 {
		t.Fatalf("Pebble issued %d certificates for a name nobody serves", n)
	}

	// A preview's host, from previewDomain, gets its certificate too.
	sha := s.branch("feature", map[string]string{"version.txt": "pr1"})
	pd := s.wait(callHook(t, s.previewURL(1, sha)))
	pweb := service(t, pd, "web")
	host := "web-pr-1.preview.example.test"
	if pd.Status != "SUCCESS" || pweb.Service.ServiceDomain == nil || *pweb.Service.ServiceDomain != s.httpsURL(host, "") {
		t.Fatalf("preview: %s, serviceDomain %v", pd.Status, pweb.Service.ServiceDomain)
	}
	resp, err = hc.Get(s.httpsURL(host, "/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "pr1" {
		t.Fatalf("preview over HTTPS: %d %q", resp.StatusCode, body)
	}
}

// TestHTTPSRenewal: with certificates living 30 seconds, Liftoff renews
// them (in their last third) while requests keep succeeding over HTTPS.
func TestHTTPSRenewal(t *testing.T) {
	t.Parallel()
	httpPort, httpsPort := freeTCPPort(t), freeTCPPort(t)
	ca := startPebble(t, httpPort, httpsPort, 30*time.Second)
	s := newHTTPSFixture(t, storeFlags(t, "sqlite", t.TempDir()), ca, httpPort, httpsPort, "--acme-renew-interval", "1s")
	s.createProject("renew", "renew.example.test")
	s.deployOK("")
	roots := ca.Roots()
	first, err := s.serial("renew.example.test", roots)
	if err != nil {
		t.Fatal(err)
	}
	stop := s.httpsLoad("renew.example.test", roots)
	var renewed string
	waitUntil(t, "the certificate renewed", func() bool {
		renewed, err = s.serial("renew.example.test", roots)
		return err == nil && renewed != first
	})
	sent, failed, firstFailure := stop()
	t.Logf("https: certificate %s renewed as %s; %d HTTPS requests during it, %d failed", first, renewed, sent, failed)
	if failed > 0 || sent == 0 {
		t.Fatalf("%d of %d HTTPS requests failed during the renewal; first: %v", failed, sent, firstFailure)
	}
}

// httpsLoad sends requests to host over HTTPS from 2 clients, each on new
// connections (so each sees the certificate served then), until the
// returned function is called, which returns how many were sent, failed,
// and the first failure.
func (s *httpsSite) httpsLoad(host string, roots *x509.CertPool) func() (sent, failed int64, first any) {
	var sentN, failedN atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			hc := s.httpsClient(roots)
			hc.Transport.(*http.Transport).DisableKeepAlives = true
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := hc.Get(s.httpsURL(host, "/"))
				sentN.Add(1)
				if err != nil {
					failedN.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 {
					failedN.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprint("status ", resp.StatusCode))
				}
			}
		})
	}
	return func() (int64, int64, any) {
		close(stop)
		wg.Wait()
		return sentN.Load(), failedN.Load(), firstFailure.Load()
	}
}

// TestHTTPSReplicasShareCertificates: two replicas on one PostgreSQL. The
// first deploys a service with a domain and gets its certificate; the
// second starts, runs the release too, and serves the same certificate,
// loaded from the shared store: Pebble issued one.
func TestHTTPSReplicasShareCertificates(t *testing.T) {
	t.Parallel()
	db := storetest.DatabaseURL(t) // skips without PostgreSQL
	httpPort, httpsPort := freeTCPPort(t), freeTCPPort(t)
	ca := startPebble(t, httpPort, httpsPort, 90*24*time.Hour)
	dirA := t.TempDir()
	a := newHTTPSFixture(t, []string{"--data-dir", dirA, "--database-url", db}, ca, httpPort, httpsPort)
	a.createProject("replicas", "shared.example.test")
	a.deployOK("")
	if n := ca.Issued("shared.example.test"); n != 1 {
		t.Fatalf("Pebble issued %d certificates for shared.example.test, want 1", n)
	}

	// The second replica: the same database and secret key file, its
	// own data dir and ports.
	bHTTP, bHTTPS := freeTCPPort(t), freeTCPPort(t)
	bLogs := &logLines{}
	start(t, []string{"--workers", "2", "--data-dir", t.TempDir(), "--database-url", db, "--secret-key-file", filepath.Join(dirA, "secret.key"),
		"--proxy-addr", "127.0.0.1:" + strconv.Itoa(bHTTP), "--https-addr", "127.0.0.1:" + strconv.Itoa(bHTTPS),
		"--acme-email", "ops@example.test", "--acme-ca", ca.Directory, "--acme-ca-root", ca.CAFile}, bLogs)
	waitUntil(t, "the second replica serving the restored release", func() bool {
		for _, l := range bLogs.all() {
			if strings.Contains(l, "release serving") && strings.Contains(l, "shared.example.test") {
				return true
			}
		}
		return false
	})
	b := &httpsSite{fixture: a.fixture, ca: ca, httpPort: bHTTP, httpsPort: bHTTPS}
	roots := ca.Roots()
	serialA, errA := a.serial("shared.example.test", roots)
	serialB, errB := b.serial("shared.example.test", roots)
	if errA != nil || errB != nil || serialA != serialB {
		t.Fatalf("replica A serves %s (%v), replica B %s (%v): want one certificate", serialA, errA, serialB, errB)
	}
	if n := ca.Issued("shared.example.test"); n != 1 {
		t.Fatalf("Pebble issued %d certificates for shared.example.test with two replicas, want 1", n)
	}
	resp, err := b.httpsClient(roots).Get(b.httpsURL("shared.example.test", "/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "v1" {
		t.Fatalf("replica B over HTTPS: %d %q", resp.StatusCode, body)
	}
	t.Logf("https: two replicas serve certificate %s, issued once", serialA)
}

// TestHTTPSTLSALPN: where the CA cannot reach the HTTP side (port 80 closed
// to it), the certificate is obtained with the TLS-ALPN-01 challenge on
// the HTTPS side.
func TestHTTPSTLSALPN(t *testing.T) {
	t.Parallel()
	closed, httpPort, httpsPort := freeTCPPort(t), freeTCPPort(t), freeTCPPort(t)
	ca := startPebble(t, closed, httpsPort, 90*24*time.Hour)
	s := newHTTPSFixture(t, storeFlags(t, "sqlite", t.TempDir()), ca, httpPort, httpsPort)
	s.createProject("alpn", "alpn.example.test")
	s.deployOK("")
	if got := s.httpsGet(s.httpsClient(ca.Roots()), "alpn.example.test", "/"); got != "v1" {
		t.Fatalf("HTTPS: %q", got)
	}
	solved := false
	for _, l := range s.logs.all() {
		if strings.Contains(l, "served key authentication certificate") && strings.Contains(l, `"challenge":"tls-alpn-01"`) &&
			strings.Contains(l, `"server_name":"alpn.example.test"`) {
			solved = true
		}
	}
	if !solved {
		t.Fatalf("Liftoff never answered a TLS-ALPN-01 challenge for alpn.example.test:\n%s", strings.Join(s.logs.all(), "\n"))
	}
}

// TestDomainHeldByAnotherProject: a domain one project's service holds
// fails another project's service that claims it, naming both; once the
// first drops it from its config and deploys, the second gets it.
func TestDomainHeldByAnotherProject(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	first := &httpsSite{fixture: &fixture{t: t, logs: f.logs, srv: f.srv, c: f.c, key: f.key}}
	first.createProject("first", "dup.example.test")
	if d := first.deployOK(""); service(t, d, "web").Service.ServiceDomain == nil ||
		!strings.HasPrefix(*service(t, d, "web").Service.ServiceDomain, "http://dup.example.test:") {
		t.Fatalf("first's serviceDomain = %v", service(t, d, "web").Service.ServiceDomain)
	}
	second := &httpsSite{fixture: &fixture{t: t, logs: f.logs, srv: f.srv, c: f.c, key: f.key}}
	second.createProject("second", "dup.example.test")
	d := second.deploy("")
	web := service(t, d, "web")
	msg := fmt.Sprint(web.Error)
	if web.Status == "SUCCESS" || !strings.Contains(msg, "domain dup.example.test of service web in project \"second\"") ||
		!strings.Contains(msg, `is already used by service web of project "first"`) {
		t.Fatalf("second's web: %s %q, want a failure naming both services", web.Status, msg)
	}
	if status, body := first.getHost("dup.example.test", "/"); status != 200 || body != "v1" {
		t.Fatalf("the domain no longer leads to the first project: %d %q", status, body)
	}
	dropped := strings.NewReplacer(`, "domain": "dup.example.test"`, ``, `, "domain": "*.wild.dup.example.test"`, ``).Replace(httpsConfig("dup.example.test"))
	first.repo.Commit("drop the domains", map[string]string{"liftoff.json": dropped})
	first.deployOK("")
	second.deployOK("force=true")
	if status, body := second.getHost("dup.example.test", "/"); status != 200 || body != "v1" {
		t.Fatalf("after the first dropped it, dup.example.test: %d %q", status, body)
	}
}
