// Package server wires Liftoff together: New opens the store, builds the
// domain services, the HTTP servers (API and proxy), the deployment engine
// and the background services into one lifecycle group; Start starts them
// and Stop shuts them down in order: HTTP first, then the engine, then the
// releases, then the store.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/buildcache"
	"github.com/liftoffhq/liftoff/internal/clientaddr"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/dashboard"
	"github.com/liftoffhq/liftoff/internal/demo"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/engine"
	"github.com/liftoffhq/liftoff/internal/github/dispatch"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/https"
	"github.com/liftoffhq/liftoff/internal/job"
	"github.com/liftoffhq/liftoff/internal/lifecycle"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/metrics"
	"github.com/liftoffhq/liftoff/internal/notify"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/protect"
	"github.com/liftoffhq/liftoff/internal/repoaccess"
	"github.com/liftoffhq/liftoff/internal/resources"
	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
	"github.com/liftoffhq/liftoff/internal/store/sqlstore"
	"github.com/liftoffhq/liftoff/internal/supervision"
	"github.com/liftoffhq/liftoff/internal/target/local"
	"github.com/liftoffhq/liftoff/internal/user"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// OpenStore opens the store cfg names; cfg is as WithDefaults left it
// (PostgreSQL needs its DatabaseTimeout).
func OpenStore(ctx context.Context, cfg Config) (store.Store, error) {
	return openStore(ctx, cfg, nil)
}

// openStore is OpenStore with every store call timed for observe (nil:
// none).
func openStore(ctx context.Context, cfg Config, observe sqlstore.Observe) (store.Store, error) {
	dialect, dsn, err := cfg.Database()
	if err != nil {
		return nil, err
	}
	if dialect == "postgres" {
		return postgres.Open(ctx, dsn, postgres.Options{Timeout: cfg.DatabaseTimeout, Observe: observe})
	}
	if cfg.DatabaseURL == "" && cfg.DataDir != "" { // the database in the data dir
		if err := PrepareDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	return sqlite.Open(ctx, dsn, sqlite.Options{Observe: observe})
}

// Ready is what a started server tells its caller.
type Ready struct {
	Addr      string // where the API listens
	ProxyAddr string // where the proxy listens
	PublicURL string // the base of hook URLs
}

// Server is Liftoff wired together: New builds it, Start serves, Stop
// shuts it down. Its parts form one lifecycle.Group, started in this order
// and stopped in reverse:
//
//  1. the store (closed last),
//  2. the deployment output streams,
//  3. the hook call recorder,
//  4. the proxy in front of the releases,
//  5. the releases (the local target),
//  6. the deployment engine (nothing on an API-only replica),
//  7. the API's HTTP server.
//
// So a shutdown drains HTTP first, then lets running deployments finish,
// then stops the releases and their proxy, then writes what the recorder
// and the streams still hold, then closes the store. The first three
// stages are each bounded by Config.ShutdownTimeout (the releases and the
// proxy share one); the last ones write to the local store and are not.
type Server struct {
	cfg            Config
	log            *slog.Logger
	dataDir        string
	apiLn, proxyLn net.Listener
	httpsLn        net.Listener // nil when HTTPS is off
	publicURL      string
	demo           demo.Deps
	group          *lifecycle.Group
	// serveErr receives why an HTTP server stopped serving on its own.
	serveErr chan error
}

// New checks cfg, opens the store, listens on the API and proxy addresses
// and wires every part; nothing runs until Start. When New fails it
// releases what it made. ctx bounds the work New does (opening the store,
// checking the sandbox, naming projects).
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Server, err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	if err := PrepareDataDir(dataDir); err != nil {
		return nil, err
	}
	var sb *sandbox.Sandbox
	if cfg.Workers > 0 { // an API-only replica runs nothing
		if sb, err = newSandbox(ctx, cfg, dataDir, log); err != nil {
			return nil, err
		}
	}
	warnOpenDataDir(dataDir, log)
	m := metrics.New()
	st, err := openStore(ctx, cfg, m.StoreCall)
	if err != nil {
		return nil, err
	}
	m.WatchQueue(func(ctx context.Context) (metrics.QueueState, error) {
		q, err := st.QueueStats(ctx)
		state := metrics.QueueState{Pending: q.Pending, Running: q.Running}
		if !q.OldestPending.IsZero() {
			state.OldestPending = time.Since(q.OldestPending)
		}
		return state, err
	})
	s := &Server{cfg: cfg, log: log, dataDir: dataDir, serveErr: make(chan error, 4)}
	// made is what New made so far, released if it fails: every part's
	// Stop is safe before Start.
	var made []lifecycle.Service
	defer func() {
		if err != nil {
			lifecycle.NewGroup(made...).Stop()
		}
	}()
	storePart := &lifecycle.Funcs{StopFunc: func(bool) {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}}
	made = append(made, storePart)
	log.Info("store open", "dialect", st.Dialect())

	if s.apiLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen on --addr %s: %w", cfg.Addr, err)
	}
	// The HTTP servers are made below; until they serve, stopping their
	// part closes the listener.
	var apiSrv, proxySrv *http.Server
	var draining atomic.Bool
	apiPart := &lifecycle.Funcs{
		StartFunc: func(context.Context) error {
			go func() { s.serveErr <- apiSrv.Serve(s.apiLn) }()
			return nil
		},
		StopFunc: func(started bool) {
			if !started {
				_ = s.apiLn.Close()
				return
			}
			log.Info("shutting down: finishing requests in flight", "timeout", cfg.ShutdownTimeout)
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			if err := apiSrv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Warn("shutdown deadline passed with requests in flight", "err", err)
			}
			// Requests still running past the deadline: refuse new hook calls.
			draining.Store(true)
		},
	}
	made = append(made, apiPart)
	if s.proxyLn, err = net.Listen("tcp", cfg.ProxyAddr); err != nil {
		return nil, fmt.Errorf("listen on --proxy-addr %s: %w", cfg.ProxyAddr, err)
	}
	// The proxy stops after the releases, within the same deadline: what
	// it still carries then is theirs.
	var releasesStopping time.Time
	proxyPart := &lifecycle.Funcs{
		StartFunc: func(context.Context) error {
			go func() { s.serveErr <- proxySrv.Serve(s.proxyLn) }()
			return nil
		},
		StopFunc: func(started bool) {
			if !started {
				_ = s.proxyLn.Close()
				return
			}
			// Alone (the releases never stopped), it has a deadline of
			// its own.
			from := releasesStopping
			if from.IsZero() {
				from = time.Now()
			}
			rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), from.Add(cfg.ShutdownTimeout))
			defer cancel()
			_ = proxySrv.Shutdown(rctx)
		},
	}
	made = append(made, proxyPart)
	s.publicURL = cfg.publicURL(s.apiLn.Addr())

	clients := clientaddr.New(cfg.TrustedProxies)
	node := nodeID(dataDir)
	// The supervision of releases records their states and restarts, for
	// every replica to show.
	recorder := &supervision.Recorder{Store: st, NodeID: node, Log: log}
	// The container CLI builds docker services' images and runs them, on
	// a node with an engine.
	var containers *container.CLI
	if cfg.Workers > 0 {
		if containers, err = newContainerCLI(ctx, cfg, log); err != nil {
			return nil, err
		}
	}
	var certs *https.Manager // set below when HTTPS is on, before anything deploys
	httpsAddr := ""
	if cfg.HTTPSAddr != "" {
		if s.httpsLn, err = net.Listen("tcp", cfg.HTTPSAddr); err != nil {
			return nil, fmt.Errorf("listen on --https-addr %s: %w", cfg.HTTPSAddr, err)
		}
		httpsAddr = s.httpsLn.Addr().String()
	}
	releases, err := local.New(local.Config{Dir: filepath.Join(dataDir, "runtime"), ProxyAddr: s.proxyLn.Addr().String(), Log: log,
		HTTPSAddr: httpsAddr, Sandbox: sb, Clients: clients, StopTimeout: cfg.ShutdownTimeout, OnEvent: func(ev local.Event) {
			if ev.State == local.StateRestarting {
				m.ServiceRestarted()
			}
			recorder.Record(ev)
		}, Containers: containers,
		RestartBackoff: cfg.RestartBackoff, RestartBackoffMax: cfg.RestartBackoffMax, MaxRestarts: cfg.MaxRestarts,
		PrepareHosts: func(ctx context.Context, hosts []string) error {
			if certs == nil {
				return nil
			}
			return certs.Prepare(ctx, hosts)
		}})
	if err != nil {
		return nil, err
	}
	// Releases stop with Liftoff; the next start runs them again.
	releasesPart := &lifecycle.Funcs{StartFunc: releases.Start, StopFunc: func(bool) {
		releasesStopping = time.Now()
		releases.Stop()
	}}
	made = append(made, releasesPart)
	// Repositories an operator puts under DataDir/repos are always allowed.
	reposDir := filepath.Join(dataDir, "repos")
	if err := os.MkdirAll(reposDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", reposDir, err)
	}
	access, err := repoaccess.New(repoaccess.Config{Patterns: cfg.AllowedRepos, LocalRoots: []string{reposDir, demo.RepoDir(dataDir)}})
	if err != nil {
		return nil, err
	}
	git := gitsource.NewManager(filepath.Join(dataDir, "mirrors"), log, access)
	logs, err := logstream.New(st, log, logstream.Options{MaxDeploymentBytes: cfg.MaxDeploymentLogBytes, Stored: m.OutputStored})
	if err != nil {
		return nil, err
	}
	made = append(made, logs)
	// -1 (no limit) is 0 below.
	limits := deployment.Limits{MaxPreviews: max(cfg.MaxPreviewsPerEnvironment, 0)}
	// Cancels, redeploys and teardowns change the store, then tell this
	// node's engine; a replica without one leaves them to the others.
	deployments := &deployment.Service{Store: st, Limits: limits, NewID: cuid.New, Now: time.Now, Runner: deployment.NoRunner{},
		Output: logs}
	keyFile := cfg.SecretKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(dataDir, "secret.key")
	}
	vars, created, err := variables.Open(st, keyFile)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created the secret key file: back it up, secrets cannot be read without it", "path", keyFile)
	}
	// The databases and Redis users of rds and elasticache services, on
	// the operator's servers when given.
	managed, err := resources.New(resources.Config{PostgresURL: cfg.ManagedPostgresURL, RedisURL: cfg.ManagedRedisURL}, st, vars.Keys, cuid.New, log)
	if err != nil {
		return nil, err
	}
	jobs := &job.Service{Store: st, NewID: cuid.New, Now: time.Now}
	// The kubernetes target, when Liftoff has a cluster.
	cluster, closePackers, err := newKube(ctx, cfg, dataDir, containers, log)
	if err != nil {
		return nil, err
	}
	// The packers' files go once the engine that uses them has stopped.
	packersPart := &lifecycle.Funcs{StopFunc: func(bool) { closePackers() }}
	made = append(made, packersPart)
	// The engine, or nothing to run on an API-only replica (--workers -1).
	var runner lifecycle.Service = &lifecycle.Funcs{}
	if cfg.Workers > 0 {
		cache, err := newBuildCache(cfg, dataDir, log)
		if err != nil {
			return nil, err
		}
		deps := engine.Deps{Store: st, Git: git, Logs: logs, Local: releases, Log: log, NewID: cuid.New, Sandbox: sb,
			Variables: vars, Containers: containers, Resources: managed, Metrics: m, KubeDefault: cfg.KubeDefault, BuildCache: cache}
		if cluster != nil {
			deps.Kube = cluster
		}
		eng, err := engine.New(deps,
			engine.Config{Workers: cfg.Workers, DataDir: dataDir, NodeID: node, SingleNode: st.Dialect() == "sqlite",
				StopTimeout: cfg.ShutdownTimeout})
		if err != nil {
			return nil, err
		}
		made = append(made, eng)
		deployments.Runner, runner = eng, eng
		jobs.Runner = eng
	}
	// Notifications: every replica derives the events of deployments
	// from the store and delivers them (each once, whichever replica).
	// Sinks are destinations besides the environments' webhooks, by
	// name: GitHub's reporter plugs in here.
	sinks := maps.Clone(cfg.NotificationSinks)
	if gh, err := cfg.GitHubReporter(s.publicURL, log); err != nil {
		return nil, err
	} else if gh != nil {
		if sinks == nil {
			sinks = map[string]notify.Sink{}
		}
		sinks["github"] = gh
	}
	notifications, err := notify.New(notify.Config{Store: st, Keys: vars.Keys, NodeID: node, Sinks: sinks,
		AllowPrivate: cfg.NotifyAllowPrivate, PublicURL: s.publicURL, Log: log, NewID: cuid.New})
	if err != nil {
		return nil, err
	}
	notifyPart := runLoop(notifications.Run)
	made = append(made, notifyPart)
	hookRecorder := hook.NewRecorder(st, 0, log)
	made = append(made, hookRecorder)
	hookCfg := hook.Config{PublicURL: s.publicURL, PerHookPerMinute: cfg.HookRateLimit, FailuresPerMinute: cfg.FailedCallLimit,
		Managed: managed.Available()}
	hooks, err := hook.NewService(st, hookRecorder, deployments, hookCfg, log, cuid.New)
	if err != nil {
		return nil, err
	}
	dispatcher := &dispatch.Dispatcher{Store: st, Log: log, Deployments: deployments}
	projects := project.NewService(st, git, vars.Keys, log, cuid.New)
	// Hook calls read environments through a cache: a sync or a
	// deletion makes them read the store again.
	projects.Changed = func() { hooks.Forget(0) }
	deployments.Deleted = func(ids []int64) {
		for _, id := range ids {
			hooks.Forget(id)
		}
	}
	// Before the engine restores releases: their host names carry it.
	if err := projects.EnsureSlugs(ctx); err != nil {
		return nil, err
	}
	// Before the engine fetches: credentials a Liftoff from before they
	// were sealed stored in clear are sealed now.
	if n, err := projects.SealCredentials(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		log.Info("sealed the repository credentials stored in clear", "count", n)
	}
	apiKeys := apikey.NewService(st, cuid.New)
	users := user.NewService(st, cuid.New, user.Config{})
	// Who may open each environment through the proxy: the API sets it,
	// the gate in front of the proxy enforces it.
	protection := protect.NewService(st, vars.Keys)
	gate, err := protect.NewGate(releases.Handler(), protect.Config{Protection: protection, Instances: releases, Clients: clients, Log: log,
		SignInURL: s.publicURL})
	if err != nil {
		return nil, err
	}
	supervised := &supervision.Service{Store: st, Reader: releases, NodeID: node}
	if cluster != nil {
		supervised.Cluster = cluster
		jobs.Cluster = cluster
	}
	s.demo = demo.Deps{Store: st, Projects: projects, Hooks: hooks, APIKeys: apiKeys, Users: users}
	handler := api.New(api.Deps{
		Metrics:     m,
		Projects:    projects,
		Hooks:       hooks,
		APIKeys:     apiKeys,
		Deployments: deployments,
		Variables:   vars,
		Jobs:        jobs,
		Supervision: supervised,
		Protection:  protection,
		Resources:   managed,
		// Webhooks of environments and their delivery logs.
		Notifications: notifications,
		// GitHub webhooks, when a secret is set.
		GitHubSecret: []byte(cfg.GitHubWebhookSecret),
		Webhooks:     dispatcher,
		Log:          log,
		Draining:     draining.Load,
		HookSuccess:  api.HookSuccessType(cfg.HookSuccessType),
		Clients:      clients,
	})
	// The dashboard, on the API's address, calling the same use cases.
	ui, err := dashboard.New(dashboard.Deps{Projects: projects, Hooks: hooks, Deployments: deployments, Users: users, Clients: clients, Log: log,
		Protection: protection, InstanceAt: releases.InstanceAt, Supervision: supervised, Jobs: jobs, Resources: managed,
		APIKeys: apiKeys, Variables: vars, APIURL: s.publicURL})
	if err != nil {
		return nil, err
	}

	// The servers in front of the releases stop after them (see
	// lifecycle.Group): the proxy, and HTTPS when it is on.
	parts := []lifecycle.Service{storePart, packersPart, logs, hookRecorder, proxyPart}
	// With HTTPS on, the proxy is served over TLS too, and its plain
	// HTTP side answers ACME challenges and redirects custom domains.
	proxyHandler := http.Handler(gate)
	var httpsSrv *http.Server
	if s.httpsLn != nil {
		if certs, err = newCertificates(cfg, st, vars.Keys, node, releases, s.proxyLn, s.httpsLn, log); err != nil {
			return nil, err
		}
		httpsSrv = &http.Server{
			Handler:           certs.HTTPSHandler(proxyHandler),
			TLSConfig:         certs.TLSConfig(),
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		proxyHandler = certs.HTTPHandler(proxyHandler)
		httpsPart := &lifecycle.Funcs{
			StartFunc: func(context.Context) error {
				go func() { s.serveErr <- httpsSrv.ServeTLS(s.httpsLn, "", "") }()
				return nil
			},
			StopFunc: func(started bool) {
				defer certs.Stop()
				if !started {
					_ = s.httpsLn.Close()
					return
				}
				from := releasesStopping
				if from.IsZero() {
					from = time.Now()
				}
				rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), from.Add(cfg.ShutdownTimeout))
				defer cancel()
				_ = httpsSrv.Shutdown(rctx)
			},
		}
		made = append(made, httpsPart)
		parts = append(parts, httpsPart)
	}
	// A worker serves its probes and metrics on --addr, not the API.
	front := Handler(st, handler, log, ui, metricsOn{m, cfg.MetricsAddr == ""})
	if cfg.Role == RoleWorker {
		front = probes(st, handler, log, metricsOn{m, cfg.MetricsAddr == ""})
	}
	const maxAPIHeaderBytes = 64 << 10
	apiSrv = &http.Server{
		Handler:           front,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		// Hook URLs and API calls need a few hundred bytes of request
		// line and headers; Go's default allows 1 MB per request.
		MaxHeaderBytes: maxAPIHeaderBytes,
		ReadTimeout:    cfg.ReadTimeout,
		WriteTimeout:   cfg.WriteTimeout,
		IdleTimeout:    cfg.IdleTimeout,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// The proxy has no read or write timeout: what it carries (uploads,
	// downloads, event streams, websockets) is the services' own business.
	// Headers and idle connections are bounded, so idle or half-sent
	// requests cannot pile up.
	proxySrv = &http.Server{
		Handler:           proxyHandler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// The engine starts the releases of the previous run again, then
	// its workers, before the API takes calls.
	parts = append(parts, releasesPart, runner, notifyPart, apiPart)
	if cfg.MetricsAddr != "" {
		part, err := serveMetrics(ctx, cfg, m, log, s.serveErr)
		if err != nil {
			return nil, err
		}
		made = append(made, part)
		parts = append(parts, part)
	}
	s.group = lifecycle.NewGroup(parts...)
	return s, nil
}

// Ready says where the server listens.
func (s *Server) Ready() Ready {
	return Ready{Addr: s.apiLn.Addr().String(), ProxyAddr: s.proxyLn.Addr().String(), PublicURL: s.publicURL}
}

// Start starts every part in order (see Server), then sets up the demo
// when asked. When a part fails to start, every part is stopped, the
// store closed, and its error returned.
func (s *Server) Start(ctx context.Context) error {
	if err := s.group.Start(ctx); err != nil {
		return err
	}
	if s.cfg.Demo {
		if err := demo.Setup(ctx, s.demo, s.dataDir, "http://"+s.apiLn.Addr().String(), s.proxyLn.Addr().String(), s.cfg.Out); err != nil {
			s.log.Error("set up the demo", "err", err)
		}
	}
	r := s.Ready()
	s.log.Info("listening", "addr", r.Addr, "proxy_addr", r.ProxyAddr, "public_url", r.PublicURL)
	return nil
}

// Stop shuts the server down in order (see Server) and returns when every
// part has stopped. It may be called before Start, and more than once.
func (s *Server) Stop() { s.group.Stop() }

// Run serves until ctx ends, or an HTTP server fails, then shuts down
// gracefully. ready, if not nil, is called once everything accepts
// connections.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func(Ready)) error {
	s, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	if ready != nil {
		ready(s.Ready())
	}
	var runErr error
	select {
	case err := <-s.serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.Stop()
	log.Info("stopped")
	return runErr
}

// metricsOn mounts /metrics on the API's address, unless it has one of its
// own (--metrics-addr).
type metricsOn struct {
	m  *metrics.Metrics
	on bool
}

func (o metricsOn) Mount(mux *http.ServeMux) {
	if o.on {
		mux.Handle("GET /metrics", o.m.Handler())
	}
}

// serveMetrics listens on --metrics-addr and returns the part that serves
// /metrics there, alone.
func serveMetrics(ctx context.Context, cfg Config, m *metrics.Metrics, log *slog.Logger, serveErr chan<- error) (lifecycle.Service, error) {
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on --metrics-addr %s: %w", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
		IdleTimeout: cfg.IdleTimeout, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	return &lifecycle.Funcs{
		StartFunc: func(context.Context) error {
			log.Info("metrics listening", "metrics_addr", ln.Addr().String())
			go func() { serveErr <- srv.Serve(ln) }()
			return nil
		},
		StopFunc: func(started bool) {
			if !started {
				_ = ln.Close()
				return
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			_ = srv.Shutdown(sctx)
		},
	}, nil
}

// newBuildCache makes the keeper of the build caches, and says at start
// where they are and how large they may grow; nil when they are off.
func newBuildCache(cfg Config, dataDir string, log *slog.Logger) (*buildcache.Manager, error) {
	if cfg.BuildCacheMaxSize < 0 {
		log.Info("build caches: off (--build-cache-max-size 0): every build runs cold")
		return nil, nil
	}
	c, err := buildcache.New(buildcache.Config{Dir: filepath.Join(dataDir, "buildcache"), MaxSize: cfg.BuildCacheMaxSize})
	if err != nil {
		return nil, fmt.Errorf("build caches: %w", err)
	}
	size, count, err := c.Usage()
	if err != nil {
		return nil, fmt.Errorf("build caches: %w", err)
	}
	log.Info("build caches", "dir", c.Dir(), "max_bytes", c.MaxSize(), "bytes", size, "caches", count)
	return c, nil
}

// newSandbox makes the sandbox of builds and releases and says at start
// how they run, warning when they are not isolated.
func newSandbox(ctx context.Context, cfg Config, dataDir string, log *slog.Logger) (*sandbox.Sandbox, error) {
	mode, _ := sandbox.ParseMode(cfg.Sandbox) // checked by Validate
	sb, err := sandbox.New(ctx, sandbox.Config{Mode: mode, DataDir: dataDir, Binds: cfg.SandboxBinds})
	if err != nil {
		return nil, fmt.Errorf("--sandbox %s: %w", mode, err)
	}
	const exposed = "builds, deploy steps and releases run as Liftoff's user, without isolation: they can read Liftoff's data dir (database, other projects' builds), its environment and its processes, and what they start may outlive them"
	switch {
	case sb.Mode() == sandbox.Bwrap:
		log.Info("sandbox: builds, deploy steps and releases run in bubblewrap", "sandbox_bind", cfg.SandboxBinds)
	case sb.Fallback() != nil:
		log.Warn("sandbox: bubblewrap cannot run here, so "+exposed, "reason", sb.Fallback().Error(), "fix", sandbox.Advice)
	default:
		log.Warn("sandbox: off (--sandbox none): " + exposed)
	}
	return sb, nil
}

// nodeID names this node in deployment leases: stable across restarts of
// the same data dir on the same host, different between nodes.
func nodeID(dataDir string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host + "\x00" + dataDir))
	return host + "-" + hex.EncodeToString(sum[:4])
}

// Handler is the whole HTTP surface of Liftoff: /healthz, /readyz, the API
// and what pages mounts beside it (the dashboard), behind the access log
// and panic recovery. Paths not in canonical form are answered by the
// API's guard before the mux, which would otherwise redirect them.
func Handler(st store.Store, a *api.API, log *slog.Logger, pages ...interface{ Mount(*http.ServeMux) }) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(st))
	mux.Handle("GET /readyz", readyz(st, log))
	mux.Handle("/", a)
	for _, p := range pages {
		p.Mount(mux)
	}
	return accessLog(log, a.Clients, recoverPanics(log, a.Canonical(mux)))
}

// probes is the HTTP surface of a worker replica (--role worker):
// /healthz, /readyz and what pages mounts (/metrics), behind the access log
// and panic recovery; the API and the dashboard answer 404 there.
func probes(st store.Store, a *api.API, log *slog.Logger, pages ...interface{ Mount(*http.ServeMux) }) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(st))
	mux.Handle("GET /readyz", readyz(st, log))
	for _, p := range pages {
		p.Mount(mux)
	}
	return accessLog(log, a.Clients, recoverPanics(log, mux))
}

// healthz is the liveness check: the process serves and its database
// answers.
func healthz(st store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, `{"status":"unavailable","store":%q}`+"\n", st.Dialect())
			return
		}
		_, _ = fmt.Fprintf(w, `{"status":"ok","store":%q}`+"\n", st.Dialect())
	})
}

// readiness is the body of /readyz.
type readiness struct {
	Status string `json:"status"` // ready, unavailable or schema_mismatch
	Store  string `json:"store"`
	// SchemaVersion is the database's; ExpectedSchemaVersion this binary's.
	SchemaVersion         *int64 `json:"schemaVersion"`
	ExpectedSchemaVersion int64  `json:"expectedSchemaVersion"`
	// Reason says, when not ready, why and what to do.
	Reason string `json:"reason,omitempty"`
}

// readyz is the readiness check: 200 only when the database answers and its
// schema is the one this binary migrates to, so a load balancer or
// Kubernetes sends no calls to a replica whose database was dropped,
// emptied or migrated by a newer release.
func readyz(st store.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		body := readiness{Status: "ready", Store: st.Dialect()}
		v, err := st.SchemaVersion(ctx)
		switch {
		case err != nil:
			log.WarnContext(r.Context(), "not ready: the store does not answer", "err", err)
			body.Status, body.Reason = "unavailable", "the database does not answer, or its file was removed or replaced; see the server's log"
		case v.Current < v.Embedded:
			body.Status = "schema_mismatch"
			body.Reason = fmt.Sprintf("the database schema is at version %d, this binary needs %d (was the database emptied?); "+
				"restart Liftoff to migrate it", v.Current, v.Embedded)
		case v.Current > v.Embedded:
			body.Status = "schema_mismatch"
			body.Reason = fmt.Sprintf("the database schema is at version %d, newer than this binary's %d: a newer Liftoff migrated it; "+
				"upgrade this replica", v.Current, v.Embedded)
		}
		body.ExpectedSchemaVersion = v.Embedded
		if err == nil {
			body.SchemaVersion = &v.Current
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if body.Status != "ready" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
}

// warnOpenDataDir warns when other users can read or enter the data dir:
// it holds the database, the git mirrors and every build. Liftoff creates
// it 0700 but leaves an existing one as the operator set it.
func warnOpenDataDir(dir string, log *slog.Logger) {
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	log.Warn("the data dir can be read by other users: it holds the database, the repositories and every build; "+
		"make it private with chmod", "data_dir", dir, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()), "fix", "chmod 700 "+dir)
}

// newContainerCLI finds the container CLI that builds docker services'
// images, and says at start which one and how, or why there is none.
func newContainerCLI(ctx context.Context, cfg Config, log *slog.Logger) (*container.CLI, error) {
	if cfg.ContainerCLI == "none" {
		log.Info("no container CLI (--container-cli none): docker services are not deployed")
		return nil, nil
	}
	cc := container.Config{Runtime: cfg.ContainerRuntime, CgroupManager: cfg.ContainerCgroupManager, StorageDriver: cfg.ContainerStorageDriver}
	if cfg.ContainerCLI != "auto" {
		cc.CLI = cfg.ContainerCLI
	}
	switch cfg.ContainerUlimits {
	case "auto":
	case "none":
		cc.Ulimits = []string{}
	default:
		cc.Ulimits = strings.Split(cfg.ContainerUlimits, ",")
	}
	cli, err := container.New(cc)
	switch {
	case errors.Is(err, container.ErrNoCLI):
		log.Warn("no container CLI (podman or docker) in PATH: docker services are not deployed")
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("--container-cli: %w", err)
	}
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cli.Check(checkCtx); err != nil {
		if cfg.ContainerCLI != "auto" {
			return nil, fmt.Errorf("--container-cli %s does not work: %w", cfg.ContainerCLI, err)
		}
		log.Warn("the container CLI does not work: docker services are not deployed", "cli", cli.Path(), "err", err)
		return nil, nil
	}
	log.Info("container CLI", "cli", cli.Path(), "kind", cli.Kind(), "ulimits", strings.Join(cli.Ulimits(), ","))
	return cli, nil
}

// newCertificates prepares HTTPS: certificates from the ACME CA cfg
// names for the hosts releases serves, kept in the store every replica
// shares.
func newCertificates(cfg Config, st store.Store, keys *secretbox.Keyring, node string, releases *local.Target, httpLn, httpsLn net.Listener, log *slog.Logger) (*https.Manager, error) {
	roots, err := cfg.CARoots()
	if err != nil {
		return nil, err
	}
	httpsPort, err := portOf(httpsLn.Addr())
	if err != nil {
		return nil, err
	}
	httpPort, err := portOf(httpLn.Addr())
	if err != nil {
		return nil, err
	}
	m, err := https.New(https.Config{Email: cfg.ACMEEmail, CA: cfg.ACMECA, CARoots: roots,
		Storage: certificateStorage(st, keys, node, log), Serves: releases.Serves,
		HTTPSPort: httpsPort, HTTPPort: httpPort, HSTSMaxAge: cfg.HSTSMaxAge, RenewCheckInterval: cfg.ACMERenewInterval, Log: log})
	if err != nil {
		return nil, err
	}
	log.Info("https on", "addr", httpsLn.Addr().String(), "ca", cfg.ACMECA, "email", cfg.ACMEEmail)
	return m, nil
}

func portOf(a net.Addr) (int, error) {
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}

// runLoop is a part that runs loop until it stops.
func runLoop(loop func(ctx context.Context)) *lifecycle.Funcs {
	var cancel context.CancelFunc
	done := make(chan struct{})
	return &lifecycle.Funcs{
		StartFunc: func(ctx context.Context) error {
			var lctx context.Context
			lctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
			go func() {
				defer close(done)
				loop(lctx)
			}()
			return nil
		},
		StopFunc: func(started bool) {
			if started {
				cancel()
				<-done
			}
		},
	}
}
