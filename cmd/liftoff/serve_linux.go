package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/internal/clientaddr"
	"github.com/liftoffhq/liftoff/internal/imagepack"
	"github.com/liftoffhq/liftoff/internal/repoaccess"
	"github.com/liftoffhq/liftoff/internal/server"
)

func newServe() *cobra.Command {
	var cfg server.Config
	var logFormat, logLevel, allowedRepos, httpAddr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run Liftoff: the dashboard, the API, deploy hooks, the engine and the proxy",
		Long: `Run Liftoff in one process. Every flag can also be set with an environment
variable: --data-dir with LIFTOFF_DATA_DIR, --database-url with LIFTOFF_DATABASE_URL, and so on.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logFormat, logLevel)
			if err != nil {
				return err
			}
			cfg.AllowedRepos = repoaccess.SplitPatterns(allowedRepos)
			if cmd.Flags().Changed("build-cache-max-size") && cfg.BuildCacheMaxSize == 0 {
				cfg.BuildCacheMaxSize = -1 // off; the server's zero is its default
			}
			if cfg.Role == server.RoleAPI && !cmd.Flags().Changed("workers") {
				cfg.Workers = -1 // an API replica runs none, whatever the default
			}
			if httpAddr != "" {
				if cmd.Flags().Changed("proxy-addr") && cfg.ProxyAddr != httpAddr {
					return fmt.Errorf("--http-addr %s and --proxy-addr %s name the same listener: give one", httpAddr, cfg.ProxyAddr)
				}
				cfg.ProxyAddr = httpAddr
			}
			return server.Run(cmd.Context(), cfg, log, nil)
		},
	}
	f := cmd.Flags()
	def := server.Config{}.WithDefaults() // the defaults live there, once
	f.StringVar(&cfg.Addr, "addr", def.Addr, "address of the dashboard, the API and deploy hooks")
	f.StringVar(&cfg.ProxyAddr, "proxy-addr", def.ProxyAddr, "address of the proxy in front of deployed services, over plain HTTP (with HTTPS on it redirects custom domains to HTTPS and answers ACME HTTP-01 challenges)")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "address of /metrics alone, e.g. 127.0.0.1:9090 (default: /metrics on --addr)")
	f.StringVar(&httpAddr, "http-addr", "", "the other name of --proxy-addr, e.g. :80 beside --https-addr :443")
	f.StringVar(&cfg.HTTPSAddr, "https-addr", "", "address of the proxy over HTTPS, e.g. :443, with certificates from ACME for services' domains (off when empty)")
	f.StringVar(&cfg.ACMEEmail, "acme-email", "", "ACME account email, required with --https-addr: the CA writes there about your certificates")
	f.StringVar(&cfg.ACMECA, "acme-ca", def.ACMECA, "ACME directory URL of the CA that issues certificates")
	f.StringVar(&cfg.ACMECARoot, "acme-ca-root", "", "PEM file of the roots to trust for the CA's own HTTPS (a private CA; default the system's)")
	f.DurationVar(&cfg.HSTSMaxAge, "hsts-max-age", 0, "send Strict-Transport-Security with this max-age on HTTPS responses, e.g. 8760h (off when 0)")
	f.DurationVar(&cfg.ACMERenewInterval, "acme-renew-interval", def.ACMERenewInterval, "how often certificates are checked for renewal (renewed in the last third of their lifetime)")
	f.StringVar(&cfg.DataDir, "data-dir", def.DataDir, "directory for the SQLite database, git mirrors, builds and releases")
	f.StringVar(&cfg.DatabaseURL, "database-url", "", "postgres:// URL to use PostgreSQL (default: SQLite in the data dir)")
	f.StringVar(&cfg.ManagedPostgresURL, "managed-postgres-url", "", "postgres://role:password@host:port/db of a role with CREATEDB and CREATEROLE: "+
		"rds postgres services get a database of their own there, per environment and preview (off when empty)")
	f.StringVar(&cfg.ManagedRedisURL, "managed-redis-url", "", "redis://user:password@host:port of a user that may manage ACL users: "+
		"elasticache services get a user and key prefix of their own there, per environment and preview (off when empty)")
	f.BoolVar(&cfg.NotifyAllowPrivate, "notify-allow-private", false, "let notification webhooks reach loopback, link-local, private and multicast addresses (refused by default)")
	f.StringVar(&cfg.SecretKeyFile, "secret-key-file", "", "file of the keys that encrypt secrets, created 0600 when missing; replicas share one (default <data-dir>/secret.key)")
	f.StringVar(&cfg.PublicURL, "public-url", "", "base URL of hook URLs (default http://<addr>)")
	f.IntVar(&cfg.HookRateLimit, "hook-rate-limit", def.HookRateLimit, "accepted calls per deploy hook per minute")
	f.IntVar(&cfg.FailedCallLimit, "failed-call-limit", def.FailedCallLimit, "failed hook calls per client address per minute before it is refused")
	f.StringVar(&cfg.HookSuccessType, "hook-success-type", def.HookSuccessType,
		`how deploy hook answers write "success": string ("true", as Flightcontrol's Deploy Hooks docs show) or boolean (true)`)
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", def.ShutdownTimeout, "how long each stage of a graceful shutdown (requests, then deployments, then releases) may take")
	f.DurationVar(&cfg.RestartBackoff, "restart-backoff", def.RestartBackoff, "wait before a release whose process ended is started again; it doubles with each restart in a row")
	f.DurationVar(&cfg.RestartBackoffMax, "restart-backoff-max", def.RestartBackoffMax, "cap of the wait between restarts of a release")
	f.IntVar(&cfg.MaxRestarts, "max-restarts", def.MaxRestarts, "restarts in a row (that did not stay up 1 min) before a release is crashed, down until its next deployment")
	f.BoolVar(&cfg.Demo, "demo", false, "on first start, create a demo project, API key and deploy hook and print how to deploy")
	f.StringVar(&cfg.GitHubWebhookSecret, "github-webhook-secret", "", "secret of GitHub webhooks sent to /api/github/webhook (off when empty)")
	f.StringVar(&cfg.GitHubToken, "github-token", "", "token that reports deployments to GitHub: commit statuses, deployments, preview comments (off when empty; or a GitHub App)")
	f.Int64Var(&cfg.GitHubAppID, "github-app-id", 0, "id of the GitHub App that reports deployments to GitHub, with --github-app-key-file (instead of --github-token)")
	f.StringVar(&cfg.GitHubAppKeyFile, "github-app-key-file", "", "PEM private key file of the GitHub App of --github-app-id")
	f.StringVar(&cfg.GitHubAPIURL, "github-api-url", "", "GitHub's REST API (default https://api.github.com; GitHub Enterprise Server: https://HOST/api/v3)")
	f.StringVar(&allowedRepos, "allowed-repos", "", "comma-separated patterns of the repositories projects may use, e.g. "+
		"'https://github.com/acme/*,/srv/git/*' (default: remote URLs on public addresses, and local paths only under <data-dir>/repos)")
	f.IntVar(&cfg.Workers, "workers", def.Workers, "deployments this node runs at once (-1: none, an API-only replica)")
	f.StringVar(&cfg.Role, "role", def.Role, "what this replica does: all; api (the API, dashboard and hooks, no deployments); "+
		"worker (deployments and the proxy of their releases; on --addr only /healthz, /readyz and /metrics)")
	cfg.MaxDeploymentLogBytes = def.MaxDeploymentLogBytes
	f.Var(byteSize{&cfg.MaxDeploymentLogBytes}, "max-deployment-log-bytes", "output stored per deployment, all its services together; past it the head and the tail are kept (bytes, or with KiB, MiB, GiB)")
	f.IntVar(&cfg.MaxPreviewsPerEnvironment, "max-previews-per-environment", def.MaxPreviewsPerEnvironment, "live preview instances per preview environment; past it a new PR's deployment is refused (-1: no limit)")
	f.StringVar(&cfg.Sandbox, "sandbox", def.Sandbox, "how builds, deploy steps and releases run: auto (in bubblewrap when it works here), bwrap or none")
	f.StringVar(&cfg.ContainerCLI, "container-cli", def.ContainerCLI, "container CLI that builds docker services' images: auto (podman, else docker, in PATH), a path, or none")
	f.StringVar(&cfg.ContainerRuntime, "container-runtime", "", "podman's --runtime (runc, crun; default podman's)")
	f.StringVar(&cfg.ContainerCgroupManager, "container-cgroup-manager", "", "podman's --cgroup-manager (systemd, cgroupfs; default podman's)")
	f.StringVar(&cfg.ContainerStorageDriver, "container-storage-driver", "", "podman's --storage-driver (overlay, vfs; default podman's)")
	f.StringVar(&cfg.ContainerUlimits, "container-ulimits", def.ContainerUlimits, "podman's --ulimit values: auto (the host's hard limits when below podman's defaults), none, or nofile=N:N,nproc=N:N")
	cfg.BuildCacheMaxSize = def.BuildCacheMaxSize
	f.Var(byteSize{&cfg.BuildCacheMaxSize}, "build-cache-max-size", "bound of all services' build caches together; past it the least recently used go (bytes, or with KiB, MiB, GiB; 0 turns build caches off)")
	f.StringVar(&cfg.Kubeconfig, "kubeconfig", "", `kubeconfig of the cluster(s) the kubernetes target deploys to, or "in-cluster" (off when empty)`)
	f.StringVar(&cfg.KubeNamespace, "kube-namespace", "", "namespace of services whose kubernetes target names none")
	f.StringVar(&cfg.KubeRegistry, "kube-registry", "", "registry (host[:port][/path]) images are pushed to, for kubernetes targets that name none")
	f.StringVar(&cfg.KubeIngressClass, "kube-ingress-class", "", "IngressClass of web services and static sites on the cluster (default the cluster's default class)")
	f.BoolVar(&cfg.KubeDefault, "kube-default", false, "deploy services without a target of their own (and Flightcontrol's fargate, ecs-ec2) to the cluster")
	f.DurationVar(&cfg.KubeRolloutTimeout, "kube-rollout-timeout", def.KubeRolloutTimeout, "how long a rollout may take before the release fails and is rolled back")
	f.StringVar(&cfg.KubeBaseImage, "kube-base-image", "", "base image of services built from their commands, on the cluster (default "+imagepack.DefaultBaseImage+")")
	f.BoolVar(&cfg.KubeRegistryInsecure, "kube-registry-insecure", false, "reach the registry over plain HTTP, or without verifying its certificate")
	f.StringToStringVar(&cfg.KubeIngressAnnotations, "kube-ingress-annotations", nil, "annotations of every Ingress on the cluster, key=value,... (e.g. cert-manager.io/cluster-issuer=letsencrypt)")
	f.BoolVar(&cfg.KubeIngressTLS, "kube-ingress-tls", false, "give every Ingress on the cluster TLS for its hosts, with the certificate in the Secret <name>-tls (cert-manager issues it, given its annotation)")
	f.StringSliceVar(&cfg.SandboxBinds, "sandbox-bind", nil, "host paths shown read-only in the sandbox, comma-separated (toolchains outside the system directories)")
	f.Var((*prefixList)(&cfg.TrustedProxies), "trusted-proxies",
		"CIDR prefixes or addresses of the proxies in front of Liftoff whose X-Forwarded-For names the client, e.g. 10.0.0.0/8,192.168.1.7 (default none)")
	f.DurationVar(&cfg.DatabaseTimeout, "database-timeout", def.DatabaseTimeout,
		"bound of each PostgreSQL call (connect, pool wait, statement); past it the caller gets a 503")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

// prefixList is a flag of comma-separated CIDR prefixes and addresses.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	var s []string
	for _, x := range *p {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	list, err := clientaddr.ParseList(v)
	if err != nil {
		return err
	}
	*p = list
	return nil
}

func (p *prefixList) Type() string { return "CIDRs" }

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}
