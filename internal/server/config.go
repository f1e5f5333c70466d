package server

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/https"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/notify"
	"github.com/liftoffhq/liftoff/internal/repoaccess"
	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

// Roles of a replica (liftoff serve --role).
const (
	RoleAll    = "all"
	RoleAPI    = "api"
	RoleWorker = "worker"
)

// Config is everything `liftoff serve` is told. It is built once in main,
// validated once, and passed down; every field documents its default.
type Config struct {
	// Addr is where the dashboard, the API and deploy hooks listen.
	// Default 127.0.0.1:8080.
	Addr string
	// ProxyAddr is where the local target's proxy listens over plain HTTP
	// (liftoff serve --proxy-addr, or its other name --http-addr). With
	// HTTPS on it also answers ACME's HTTP-01 challenges and redirects
	// custom domains to HTTPS. Default 127.0.0.1:8000.
	ProxyAddr string
	// MetricsAddr is where /metrics is served alone, for a scraper on a
	// private network. Empty: /metrics is served on Addr.
	MetricsAddr string
	// HTTPSAddr is where the proxy is also served over TLS, with
	// certificates obtained and renewed from an ACME CA for the custom
	// domains of services ("domain", "previewDomain"). Empty: HTTPS off.
	HTTPSAddr string
	// ACMEEmail is the ACME account's contact. Required with HTTPSAddr.
	ACMEEmail string
	// ACMECA is the ACME directory URL. Default Let's Encrypt's production
	// directory.
	ACMECA string
	// ACMECARoot is a PEM file of the roots to trust for the CA's own
	// HTTPS (a private CA). Default: the system's.
	ACMECARoot string
	// HSTSMaxAge, when positive, sends Strict-Transport-Security with that
	// max-age on HTTPS responses. Default 0: none.
	HSTSMaxAge time.Duration
	// ACMERenewInterval is how often certificates are checked for
	// renewal. Default 10m.
	ACMERenewInterval time.Duration
	// DataDir holds the SQLite database, git mirrors, builds and releases.
	// Default ./liftoff-data.
	DataDir string
	// DatabaseURL selects the store: empty for SQLite at DataDir/liftoff.db,
	// a sqlite:// or file: URL or path for another SQLite file, or a
	// postgres:// URL.
	DatabaseURL string
	// ManagedPostgresURL is postgres://role:password@host:port/database of
	// a role with CREATEDB and CREATEROLE on a PostgreSQL server (13 or
	// later) where Liftoff makes a database and a role for each rds
	// postgres service of each environment and preview. Empty: such
	// services are not deployed, saying why. Its password is never logged.
	ManagedPostgresURL string
	// ManagedRedisURL is redis://user:password@host:port[/db] of a user
	// allowed to manage ACL users on a Redis server (6 or later), where
	// Liftoff makes an ACL user and key prefix for each elasticache
	// service of each environment and preview. Empty: such services are
	// not deployed, saying why. Its password is never logged.
	ManagedRedisURL string
	// NotifyAllowPrivate lets the environments' webhooks reach loopback,
	// link-local, private, unspecified and multicast addresses, which
	// they may not by default (a webhook's URL is anyone's with a deploy
	// key, and must not reach the operator's network).
	NotifyAllowPrivate bool
	// NotificationSinks are destinations, by name, that hear every
	// deployment event besides the environments' webhooks (package
	// notify's Sink).
	NotificationSinks map[string]notify.Sink
	// SecretKeyFile holds the keys that encrypt secret variables and named
	// secrets; created (mode 0600) with a new key on first start when
	// missing. Replicas sharing one database share one key file. Default
	// DataDir/secret.key.
	SecretKeyFile string
	// PublicURL is the base of the hook URLs Liftoff shows. Default
	// http://<the address the API listens on> (localhost when it listens on
	// every interface).
	PublicURL string
	// HookRateLimit is the number of accepted calls per hook per minute.
	// Default 60.
	HookRateLimit int
	// FailedCallLimit is the number of failed hook calls per client address
	// per minute before that address is refused. Default 20.
	FailedCallLimit int
	// HookSuccessType is how every deploy hook answer, errors included,
	// writes "success": "string" ("true"/"false", as Flightcontrol's Deploy
	// Hooks page shows it) or "boolean" (true/false, for clients that
	// decode a boolean). Default "string".
	HookSuccessType string
	// GitHubWebhookSecret is the secret shared with GitHub webhooks
	// (POST /api/github/webhook). Empty: the endpoint is off.
	GitHubWebhookSecret string
	// GitHubToken, or GitHubAppID with GitHubAppKeyFile, let Liftoff tell
	// GitHub how deployments went (package github/report: commit
	// statuses, deployments, a preview's pull request comment); off when
	// neither is set. GitHubAPIURL is the REST API's root: default
	// https://api.github.com; https://HOST/api/v3 for GitHub Enterprise
	// Server. The token and the key are never logged.
	GitHubToken      string
	GitHubAppID      int64
	GitHubAppKeyFile string
	GitHubAPIURL     string
	// ShutdownTimeout bounds each stage of the graceful shutdown: requests
	// in flight, then deployments running, then the releases (and the
	// proxy in front of them). Default 30s.
	ShutdownTimeout time.Duration
	// RestartBackoff is the wait before a supervised release whose process
	// ended (or failed its health checks) is started again; it doubles with
	// each restart in a row, up to RestartBackoffMax. Default 1s.
	RestartBackoff time.Duration
	// RestartBackoffMax caps the wait between restarts. Default 1m.
	RestartBackoffMax time.Duration
	// MaxRestarts is how many restarts in a row (that did not stay up 1 min)
	// a release gets before it is crashed: left down until the next
	// deployment of its service. Default 10.
	MaxRestarts int
	// Role is what this replica does: RoleAll (the default) everything;
	// RoleAPI the API, the dashboard, deploy hooks and the GitHub webhook,
	// with no engine (Workers -1); RoleWorker the engine and the proxy of
	// the releases it runs, with only /healthz, /readyz and /metrics on
	// Addr.
	Role string
	// Workers bounds the deployments this node runs at once. Default 2;
	// -1 runs no engine on this node (an API-only replica).
	Workers int
	// MaxDeploymentLogBytes caps the output stored per deployment, all its
	// services together: the head and the tail are kept, with a line saying
	// what was cut between them. Default 10 MiB; at least 128 KiB.
	MaxDeploymentLogBytes int64
	// MaxPreviewsPerEnvironment bounds the live preview instances of one
	// preview environment: a hook call or GitHub event that would start
	// one more is refused (409). Default 20; -1 for no limit.
	MaxPreviewsPerEnvironment int
	// Sandbox is how builds, deploy steps and releases run: "auto" (the
	// default) in bubblewrap when it works on this host, else as Liftoff's
	// user with a warning at start; "bwrap" always in bubblewrap (the
	// start fails when it cannot run); "none" as Liftoff's user, with a
	// warning at start.
	Sandbox string
	// SandboxBinds are more host paths shown read-only in the sandbox, for
	// toolchains installed outside the system directories and PATH.
	// Default none.
	SandboxBinds []string
	// BuildCacheMaxSize bounds the build caches of all services together
	// (<data-dir>/buildcache), in bytes: past it, after a save, whole
	// caches are removed, least recently used first. Default 10 GiB;
	// negative: no build cache, every build runs cold.
	BuildCacheMaxSize int64
	// Kubeconfig turns the kubernetes target on: the kubeconfig file
	// naming the cluster(s), or "in-cluster" for the service account of a
	// Liftoff running in one. Empty: services whose target is kubernetes
	// are not deployed, saying why.
	Kubeconfig string
	// KubeNamespace, KubeRegistry and KubeIngressClass are the kubernetes
	// target's defaults: the namespace, the registry images are pushed
	// to, and the Ingress class of services whose target names none.
	KubeNamespace, KubeRegistry, KubeIngressClass string
	// KubeDefault sends the services that leave the target to the
	// operator (no target, or Flightcontrol's fargate and ecs-ec2) to the
	// cluster.
	KubeDefault bool
	// KubeRolloutTimeout bounds a rollout. Default 10 minutes.
	KubeRolloutTimeout time.Duration
	// KubeBaseImage is the base image of services built from their
	// commands. Default imagepack.DefaultBaseImage.
	KubeBaseImage string
	// KubeRegistryInsecure reaches the registry over plain HTTP or
	// without verifying its certificate.
	KubeRegistryInsecure bool
	// KubeIngressAnnotations go on every Ingress (cert-manager's issuer,
	// the ingress controller's settings).
	KubeIngressAnnotations map[string]string
	// KubeIngressTLS gives every Ingress a TLS section for its hosts,
	// with the certificate in the Secret <name>-tls.
	KubeIngressTLS bool
	// ContainerCLI is the container CLI that builds docker services'
	// images: "auto" (the default) podman if it is in PATH, else docker,
	// else none (docker services are then not deployed, saying why); a
	// path or name of podman or docker; or "none".
	ContainerCLI string
	// ContainerRuntime, ContainerCgroupManager and ContainerStorageDriver
	// are podman's --runtime, --cgroup-manager and --storage-driver.
	// Default "": podman's own (containers.conf, and the driver its
	// storage was made with). Ignored for docker.
	ContainerRuntime, ContainerCgroupManager, ContainerStorageDriver string
	// ContainerUlimits are the --ulimit values of podman's builds and
	// containers: "auto" (the default) lowers nofile and nproc to the
	// host's hard limits when podman's defaults are above them; "none"
	// passes none; or a comma-separated list ("nofile=4096:4096,nproc=4096:4096").
	ContainerUlimits string
	// AllowedRepos are the patterns of the repositories projects may be
	// created from and fetched (see package repoaccess for the syntax).
	// Default: every https, http, ssh and scp-like URL whose host is on a
	// public address, and no local path outside DataDir/repos (and the
	// demo's repository); DataDir/repos is allowed whatever is set.
	AllowedRepos []string
	// Demo creates, on first start, a project from the example monorepo
	// that ships with Liftoff, an API key and a deploy hook, and prints how
	// to deploy with them. Default off.
	Demo bool
	// Out is where the demo prints (secrets included: it is the terminal,
	// not the log). Default os.Stdout.
	Out io.Writer

	// TrustedProxies are the load balancers and proxies in front of
	// Liftoff, as CIDR prefixes. When the TCP peer of a request is one of
	// them, X-Forwarded-For names the client (its rightmost hop that is not
	// trusted), for the failed-call limit, hook call records, the access
	// log, and the X-Forwarded-*/X-Real-IP headers the proxy sends to
	// releases. Default none: the TCP peer is the client, and
	// X-Forwarded-For is never believed.
	TrustedProxies []netip.Prefix
	// DatabaseTimeout bounds each PostgreSQL call (connecting, waiting for a
	// pooled connection, each statement): past it the call fails and the
	// caller gets a 503, instead of hanging on a database that stopped
	// answering. SQLite, a local file, is not bounded by it. Default 5s.
	DatabaseTimeout time.Duration

	// ReadHeaderTimeout bounds reading a request's headers, on the API and
	// on the proxy. Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole API request, body included, so a
	// body trickled byte by byte cannot hold a connection. Default 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds an API answer, from the end of the request's
	// headers to the last byte written. Deployment logs, which stream for
	// as long as the deployment runs, and project creation and sync, which
	// fetch a repository first, lift it. Default 60s.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long, on the API
	// and on the proxy. Default 120s.
	IdleTimeout time.Duration
}

// Defaults with a name, for the code that needs the value (tests,
// benchmarks); WithDefaults applies them with the rest.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	// DefaultDatabaseTimeout is DatabaseTimeout's default.
	DefaultDatabaseTimeout = 5 * time.Second
	// DefaultMaxDeploymentLogBytes is MaxDeploymentLogBytes's default.
	DefaultMaxDeploymentLogBytes = 10 << 20
	// DefaultMaxPreviewsPerEnvironment is MaxPreviewsPerEnvironment's
	// default.
	DefaultMaxPreviewsPerEnvironment = 20
	// DefaultBuildCacheMaxSize is BuildCacheMaxSize's default.
	DefaultBuildCacheMaxSize = 10 << 30
)

// WithDefaults fills in the default each field's comment gives. It is the
// one place they are applied: liftoff serve's flags show them, and the
// packages the server builds require what it passes them.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.ProxyAddr == "" {
		c.ProxyAddr = "127.0.0.1:8000"
	}
	if c.ACMECA == "" {
		c.ACMECA = https.LetsEncrypt
	}
	if c.ACMERenewInterval == 0 {
		c.ACMERenewInterval = 10 * time.Minute
	}
	if c.DataDir == "" {
		c.DataDir = "./liftoff-data"
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.HookRateLimit == 0 {
		c.HookRateLimit = 60
	}
	if c.FailedCallLimit == 0 {
		c.FailedCallLimit = 20
	}
	if c.HookSuccessType == "" {
		c.HookSuccessType = string(api.HookSuccessString)
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.RestartBackoff == 0 {
		c.RestartBackoff = local.DefaultRestartBackoff
	}
	if c.RestartBackoffMax == 0 {
		c.RestartBackoffMax = local.DefaultRestartBackoffMax
	}
	if c.MaxRestarts == 0 {
		c.MaxRestarts = local.DefaultMaxRestarts
	}
	if c.Role == "" {
		c.Role = RoleAll
	}
	if c.Role == RoleAPI && c.Workers == 0 {
		c.Workers = -1
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.MaxDeploymentLogBytes == 0 {
		c.MaxDeploymentLogBytes = DefaultMaxDeploymentLogBytes
	}
	if c.MaxPreviewsPerEnvironment == 0 {
		c.MaxPreviewsPerEnvironment = DefaultMaxPreviewsPerEnvironment
	}
	if c.BuildCacheMaxSize == 0 {
		c.BuildCacheMaxSize = DefaultBuildCacheMaxSize
	}
	if c.KubeRolloutTimeout <= 0 {
		c.KubeRolloutTimeout = 10 * time.Minute
	}
	if c.ContainerCLI == "" {
		c.ContainerCLI = "auto"
	}
	if c.ContainerUlimits == "" {
		c.ContainerUlimits = "auto"
	}
	if c.Sandbox == "" {
		c.Sandbox = string(sandbox.Auto)
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.DatabaseTimeout == 0 {
		c.DatabaseTimeout = DefaultDatabaseTimeout
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

// Validate reports every setting that cannot work, each naming its flag.
func (c Config) Validate() error {
	var errs []error
	for _, a := range []struct{ flag, addr string }{{"--addr", c.Addr}, {"--proxy-addr", c.ProxyAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q must be host:port, e.g. 127.0.0.1:8080", a.flag, a.addr))
		}
	}
	switch c.Role {
	case RoleAll, RoleWorker:
		if c.Role == RoleWorker && c.Workers <= 0 {
			errs = append(errs, fmt.Errorf("--role worker runs deployments: --workers must be positive (got %d)", c.Workers))
		}
		if c.Role == RoleWorker && c.Demo {
			errs = append(errs, errors.New("--demo sets its project up through the API, which --role worker does not serve: use --role all"))
		}
	case RoleAPI:
		if c.Workers > 0 {
			errs = append(errs, fmt.Errorf("--role api runs no deployments: drop --workers %d (or use --role all)", c.Workers))
		}
	default:
		errs = append(errs, fmt.Errorf("--role %q: give all (the default), api or worker", c.Role))
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-addr %q must be host:port, e.g. 127.0.0.1:9090", c.MetricsAddr))
		}
	}
	if c.HTTPSAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPSAddr); err != nil {
			errs = append(errs, fmt.Errorf("--https-addr %q must be host:port, e.g. :443", c.HTTPSAddr))
		}
		if c.ACMEEmail == "" || !strings.Contains(c.ACMEEmail, "@") {
			errs = append(errs, fmt.Errorf("--https-addr needs --acme-email: the address the CA writes to about your certificates (got %q)", c.ACMEEmail))
		}
		if u, err := url.Parse(c.ACMECA); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("--acme-ca %q must be the https:// URL of an ACME directory", c.ACMECA))
		}
		if c.ACMECARoot != "" {
			if _, err := c.CARoots(); err != nil {
				errs = append(errs, err)
			}
		}
		if c.HSTSMaxAge < 0 || c.ACMERenewInterval < 0 {
			errs = append(errs, fmt.Errorf("--hsts-max-age %s and --acme-renew-interval %s must be positive", c.HSTSMaxAge, c.ACMERenewInterval))
		}
	}
	if u, err := url.Parse(c.PublicURL); c.PublicURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, fmt.Errorf("--public-url %q must be an http:// or https:// URL", c.PublicURL))
	}
	if _, _, err := c.Database(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.GitHubReporter("", nil); err != nil {
		errs = append(errs, err)
	}
	if _, err := repoaccess.New(repoaccess.Config{Patterns: c.AllowedRepos}); err != nil {
		errs = append(errs, err)
	}
	if c.HookRateLimit < 0 || c.FailedCallLimit < 0 {
		errs = append(errs, errors.New("--hook-rate-limit and --failed-call-limit must be positive"))
	}
	if _, err := api.ParseHookSuccessType(c.HookSuccessType); err != nil {
		errs = append(errs, fmt.Errorf("--hook-success-type: %w", err))
	}
	if c.MaxDeploymentLogBytes < logstream.MinMaxDeploymentBytes {
		errs = append(errs, fmt.Errorf("--max-deployment-log-bytes %d is too small: give at least %d (128KiB), e.g. 10MiB",
			c.MaxDeploymentLogBytes, logstream.MinMaxDeploymentBytes))
	}
	if c.MaxPreviewsPerEnvironment < -1 {
		errs = append(errs, fmt.Errorf("--max-previews-per-environment %d: give a positive number, or -1 for no limit", c.MaxPreviewsPerEnvironment))
	}
	if _, err := sandbox.ParseMode(c.Sandbox); err != nil {
		errs = append(errs, fmt.Errorf("--sandbox: %w", err))
	}
	for _, p := range c.SandboxBinds {
		if !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("--sandbox-bind %q: use an absolute path", p))
		}
	}
	if c.RestartBackoff < 0 || c.RestartBackoffMax < 0 {
		errs = append(errs, fmt.Errorf("--restart-backoff %s and --restart-backoff-max %s must be positive, e.g. 1s and 1m", c.RestartBackoff, c.RestartBackoffMax))
	}
	if c.RestartBackoffMax > 0 && c.RestartBackoff > c.RestartBackoffMax {
		errs = append(errs, fmt.Errorf("--restart-backoff %s is above --restart-backoff-max %s", c.RestartBackoff, c.RestartBackoffMax))
	}
	if c.MaxRestarts < 0 {
		errs = append(errs, fmt.Errorf("--max-restarts %d must be positive, e.g. 10", c.MaxRestarts))
	}
	if c.DatabaseTimeout < 0 {
		errs = append(errs, fmt.Errorf("--database-timeout %s must be positive, e.g. 5s", c.DatabaseTimeout))
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"ReadHeaderTimeout", c.ReadHeaderTimeout}, {"ReadTimeout", c.ReadTimeout}, {"WriteTimeout", c.WriteTimeout}, {"IdleTimeout", c.IdleTimeout}} {
		if t.d < 0 {
			errs = append(errs, fmt.Errorf("%s %s must be positive", t.name, t.d))
		}
	}
	return errors.Join(errs...)
}

// CARoots reads ACMECARoot: nil when it is not set.
func (c Config) CARoots() (*x509.CertPool, error) {
	if c.ACMECARoot == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.ACMECARoot)
	if err != nil {
		return nil, fmt.Errorf("--acme-ca-root: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--acme-ca-root %s holds no PEM certificate", c.ACMECARoot)
	}
	return pool, nil
}

// KeyFile is the secret key file: SecretKeyFile, or secret.key in the
// data directory.
func (c Config) KeyFile() string {
	if c.SecretKeyFile != "" {
		return c.SecretKeyFile
	}
	return filepath.Join(c.DataDir, "secret.key")
}

// Database returns the dialect and its connection string.
func (c Config) Database() (dialect, dsn string, err error) {
	u := c.DatabaseURL
	switch {
	case u == "":
		return "sqlite", filepath.Join(c.DataDir, "liftoff.db"), nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return "postgres", u, nil
	case strings.HasPrefix(u, "sqlite://"):
		return "sqlite", strings.TrimPrefix(u, "sqlite://"), nil
	case strings.HasPrefix(u, "file:"):
		return "sqlite", strings.TrimPrefix(strings.TrimPrefix(u, "file:"), "//"), nil
	case !strings.Contains(u, "://"):
		return "sqlite", u, nil
	}
	return "", "", fmt.Errorf("--database-url %q: use a postgres:// URL, or a sqlite:// URL or path of a SQLite file", redactDSN(u))
}

// publicURL is the base of hook URLs for an API listening at addr.
func (c Config) publicURL(addr net.Addr) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// redactDSN hides a password in a database URL.
func redactDSN(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return u.String()
}
