package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pebble is Let's Encrypt's ACME test CA, and pebble-challtestsrv its DNS
// companion: both are built once per machine (at the pinned version) into
// the user's cache directory, and run per test.
const pebbleVersion = "v2.10.3"

var pebbleTools struct {
	once sync.Once
	dir  string
	err  error
}

// pebbleBinaries builds pebble and pebble-challtestsrv once per machine
// and returns their directory.
func pebbleBinaries(t *testing.T) string {
	t.Helper()
	pebbleTools.once.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			pebbleTools.err = err
			return
		}
		dir := filepath.Join(cache, "liftoff-e2e-tools", "pebble-"+pebbleVersion)
		for _, tool := range []string{"pebble", "pebble-challtestsrv"} {
			if _, err := os.Stat(filepath.Join(dir, tool)); err == nil {
				continue
			}
			cmd := exec.Command("go", "install", "github.com/letsencrypt/pebble/v2/cmd/"+tool+"@"+pebbleVersion)
			cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
			if out, err := cmd.CombinedOutput(); err != nil {
				pebbleTools.err = fmt.Errorf("go install %s@%s: %v\n%s", tool, pebbleVersion, err, out)
				return
			}
		}
		pebbleTools.dir = dir
	})
	if pebbleTools.err != nil {
		t.Fatal(pebbleTools.err)
	}
	return pebbleTools.dir
}

// pebbleCA is a running Pebble and its DNS server, which answers every
// name with 127.0.0.1.
type pebbleCA struct {
	t *testing.T
	// Directory is the ACME directory URL.
	Directory string
	// CAFile is the PEM of the root of Pebble's own HTTPS (liftoff serve
	// --acme-ca-root).
	CAFile string
	mgmt   string
	client *http.Client
	log    *logLines
}

// freePort finds a free loopback port.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startPebble runs Pebble validating challenges at 127.0.0.1 on httpPort
// (HTTP-01) and tlsPort (TLS-ALPN-01), issuing certificates valid for
// validity.
func startPebble(t *testing.T, httpPort, tlsPort int, validity time.Duration) *pebbleCA {
	t.Helper()
	bin := pebbleBinaries(t)
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := selfSignedServer(t)
	p := &pebbleCA{t: t, CAFile: filepath.Join(dir, "ca.pem"), log: &logLines{}}
	for name, b := range map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dnsPort, listenPort, mgmtPort := freeTCPPort(t), freeTCPPort(t), freeTCPPort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  "127.0.0.1:" + strconv.Itoa(listenPort),
		"managementListenAddress":        "127.0.0.1:" + strconv.Itoa(mgmtPort),
		"certificate":                    filepath.Join(dir, "cert.pem"),
		"privateKey":                     filepath.Join(dir, "key.pem"),
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]any{"default": map[string]any{
			"description": "the tests'", "validityPeriod": int(validity / time.Second)}},
	}}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "pebble.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	dns := exec.Command(filepath.Join(bin, "pebble-challtestsrv"), "-dnsserver", "127.0.0.1:"+strconv.Itoa(dnsPort),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "", "-management", "127.0.0.1:"+strconv.Itoa(freeTCPPort(t)),
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	p.run(dns, "Starting management server")
	peb := exec.Command(filepath.Join(bin, "pebble"), "-config", filepath.Join(dir, "pebble.json"),
		"-dnsserver", "127.0.0.1:"+strconv.Itoa(dnsPort), "-strict")
	peb.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	p.run(peb, "Listening on")
	p.Directory = "https://127.0.0.1:" + strconv.Itoa(listenPort) + "/dir"
	p.mgmt = "https://127.0.0.1:" + strconv.Itoa(mgmtPort)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	p.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return p
}

// run starts cmd and waits until its output has ready.
func (p *pebbleCA) run(cmd *exec.Cmd, ready string) {
	t := p.t
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	up, ended := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.log.add(sc.Text())
			if strings.Contains(sc.Text(), ready) {
				once.Do(func() { close(up) })
			}
		}
	}()
	select {
	case <-up:
	case <-ended:
		t.Fatalf("%s ended before it was ready:\n%s", cmd.Path, strings.Join(p.log.all(), "\n"))
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start:\n%s", cmd.Path, strings.Join(p.log.all(), "\n"))
	}
}

// Roots is the pool of Pebble's issuing root, which its certificates
// chain to.
func (p *pebbleCA) Roots() *x509.CertPool {
	p.t.Helper()
	resp, err := p.client.Get(p.mgmt + "/roots/0")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		p.t.Fatalf("Pebble's root: %s", b)
	}
	return pool
}

// Issued counts the certificates Pebble issued for host: the
// authorizations of host it validated, one per order since authorizations
// are never reused (PEBBLE_AUTHZREUSE=0).
func (p *pebbleCA) Issued(host string) int {
	n := 0
	for _, l := range p.log.all() {
		if strings.Contains(l, "Pulled a task from the Tasks queue") && strings.Contains(l, `Value:"`+host+`"`) {
			n++
		}
	}
	return n
}

// selfSignedServer makes a CA and a certificate of 127.0.0.1 and
// localhost it signed, for Pebble's own HTTPS.
func selfSignedServer(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e pebble CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	caCert, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
