// Package server wires Liftoff together: it opens the store, builds the
// domain services, starts the HTTP servers (API and proxy), the deployment
// engine and the background services, and shuts them down in order: HTTP
// first, then the engine, then the releases, then the store.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/clientaddr"
	"github.com/liftoffhq/liftoff/internal/demo"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/engine"
	"github.com/liftoffhq/liftoff/internal/github/dispatch"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/repoaccess"
	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

// OpenStore opens the store cfg names.
func OpenStore(ctx context.Context, cfg Config) (store.Store, error) {
	dialect, dsn, err := cfg.Database()
	if err != nil {
		return nil, err
	}
	if dialect == "postgres" {
		return postgres.Open(ctx, dsn, postgres.Options{Timeout: cfg.DatabaseTimeout})
	}
	if cfg.DatabaseURL == "" && cfg.DataDir != "" { // the database in the data dir
		if err := PrepareDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	return sqlite.Open(ctx, dsn, sqlite.Options{})
}

// Ready is what a started server tells its caller.
type Ready struct {
	Addr      string // where the API listens
	ProxyAddr string // where the proxy listens
	PublicURL string // the base of hook URLs
}

// Run serves until ctx ends, then shuts down gracefully. ready, if not nil,
// is called once everything accepts connections.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func(Ready)) error {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	if err := PrepareDataDir(dataDir); err != nil {
		return err
	}
	var sb *sandbox.Sandbox
	if cfg.Workers > 0 { // an API-only replica runs nothing
		if sb, err = newSandbox(ctx, cfg, dataDir, log); err != nil {
			return err
		}
	}
	warnOpenDataDir(dataDir, log)
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()
	log.Info("store open", "dialect", st.Dialect())

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on --addr %s: %w", cfg.Addr, err)
	}
	proxyLn, err := net.Listen("tcp", cfg.ProxyAddr)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listen on --proxy-addr %s: %w", cfg.ProxyAddr, err)
	}
	publicURL := cfg.publicURL(ln.Addr())

	clients := clientaddr.New(cfg.TrustedProxies)
	releases, err := local.New(local.Config{Dir: filepath.Join(dataDir, "runtime"), ProxyAddr: proxyLn.Addr().String(), Log: log,
		Sandbox: sb, Clients: clients})
	if err != nil {
		return err
	}
	// Repositories an operator puts under DataDir/repos are always allowed.
	reposDir := filepath.Join(dataDir, "repos")
	if err := os.MkdirAll(reposDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", reposDir, err)
	}
	access, err := repoaccess.New(repoaccess.Config{Patterns: cfg.AllowedRepos, LocalRoots: []string{reposDir, demo.RepoDir(dataDir)}})
	if err != nil {
		return err
	}
	git := gitsource.NewManager(filepath.Join(dataDir, "mirrors"), log, access)
	logs := logstream.New(st, log, logstream.Options{MaxDeploymentBytes: cfg.MaxDeploymentLogBytes})
	logs.Start(ctx)
	defer logs.Stop()
	// -1 (no limit) is 0 below.
	limits := deployment.Limits{MaxPreviews: max(cfg.MaxPreviewsPerEnvironment, 0)}
	// Cancels, redeploys and teardowns change the store, then tell this
	// node's engine; a replica without one leaves them to the others.
	deployments := &deployment.Service{Store: st, Limits: limits, NewID: cuid.New, Now: time.Now, Runner: deployment.NoRunner{}}
	var eng *engine.Engine
	if cfg.Workers > 0 {
		eng, err = engine.New(engine.Deps{Store: st, Git: git, Logs: logs, Local: releases, Log: log, NewID: cuid.New, Sandbox: sb},
			engine.Config{Workers: cfg.Workers, DataDir: dataDir, NodeID: nodeID(dataDir), SingleNode: st.Dialect() == "sqlite",
				StopTimeout: cfg.ShutdownTimeout})
		if err != nil {
			return err
		}
		deployments.Runner = eng
	}
	recorder := hook.NewRecorder(st, 0, log)
	hookCfg := hook.Config{PublicURL: publicURL, PerHookPerMinute: cfg.HookRateLimit, FailuresPerMinute: cfg.FailedCallLimit, Limits: limits,
		Queued: deployments.Queued}
	hooks := hook.NewService(st, recorder, hookCfg, log, cuid.New)
	var draining atomic.Bool
	dispatcher := &dispatch.Dispatcher{Store: st, NewID: cuid.New, Log: log, Limits: limits, Queued: deployments.Queued,
		TearDown: func(ctx context.Context, envID int64, pr int) error {
			_, err := deployments.TearDown(ctx, envID, pr)
			return err
		}}
	projects := project.NewService(st, git, log, cuid.New)
	// Before the eng restores releases: their host names carry it.
	if err := projects.EnsureSlugs(ctx); err != nil {
		return err
	}
	apiKeys := apikey.NewService(st, cuid.New)
	handler := api.New(api.Deps{
		Store:       st,
		Projects:    projects,
		Hooks:       hooks,
		APIKeys:     apiKeys,
		Deployments: deployments,
		Logs:        logs,
		// GitHub webhooks, when a secret is set.
		GitHubSecret: []byte(cfg.GitHubWebhookSecret),
		Webhooks:     dispatcher,
		Log:          log,
		Draining:     draining.Load,
		HookSuccess:  api.HookSuccessType(cfg.HookSuccessType),
		Clients:      clients,
	})

	const maxAPIHeaderBytes = 64 << 10
	srv := &http.Server{
		Handler:           Handler(st, handler, log),
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
	proxy := &http.Server{
		Handler:           releases.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	recorder.Start(ctx)
	defer recorder.Stop()

	serveErr := make(chan error, 2)
	go func() { serveErr <- proxy.Serve(proxyLn) }()
	if eng != nil {
		// Starts the releases of the previous run again, then the workers.
		if err := eng.Start(ctx); err != nil {
			_ = proxy.Close()
			return err
		}
	}
	go func() { serveErr <- srv.Serve(ln) }()
	if cfg.Demo {
		if err := demo.Setup(ctx, demo.Deps{Store: st, Projects: projects, Hooks: hooks, APIKeys: apiKeys},
			dataDir, "http://"+ln.Addr().String(), proxyLn.Addr().String(), cfg.Out); err != nil {
			log.Error("set up the demo", "err", err)
		}
	}
	log.Info("listening", "addr", ln.Addr().String(), "proxy_addr", proxyLn.Addr().String(), "public_url", publicURL)
	if ready != nil {
		ready(Ready{Addr: ln.Addr().String(), ProxyAddr: proxyLn.Addr().String(), PublicURL: publicURL})
	}

	var runErr error
	select {
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("shutdown deadline passed with requests in flight", "err", err)
	}
	// Requests still running past the deadline: refuse new hook calls.
	draining.Store(true)
	if eng != nil {
		log.Info("shutting down: letting running deployments finish", "timeout", cfg.ShutdownTimeout)
		eng.Stop()
	}
	// Releases stop with Liftoff; the next start runs them again.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer rcancel()
	if err := releases.Close(rctx); err != nil {
		log.Warn("stop releases", "err", err)
	}
	_ = proxy.Shutdown(rctx)
	log.Info("stopped")
	return runErr
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

// Handler is the whole HTTP surface of Liftoff: /healthz, /readyz and the
// API, behind the access log and panic recovery. Paths not in canonical
// form are answered by the API's guard before the mux, which would
// otherwise redirect them.
func Handler(st store.Store, a *api.API, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(st))
	mux.Handle("GET /readyz", readyz(st, log))
	mux.Handle("/", a)
	return accessLog(log, a.Clients, recoverPanics(log, a.Canonical(mux)))
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
