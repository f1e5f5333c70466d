// Package server wires Liftoff together: it opens the store, builds the
// domain services, starts the HTTP servers (API and proxy), the deployment
// engine and the background services, and shuts them down in order: HTTP
// first, then the engine, then the releases, then the store.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/liftoffhq/liftoff/internal/demo"
	"github.com/liftoffhq/liftoff/internal/deploy"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
	"github.com/liftoffhq/liftoff/internal/target/local"
	"github.com/liftoffhq/liftoff/internal/webhook"
)

// OpenStore opens the store cfg names.
func OpenStore(ctx context.Context, cfg Config) (store.Store, error) {
	dialect, dsn, err := cfg.Database()
	if err != nil {
		return nil, err
	}
	if dialect == "postgres" {
		return postgres.Open(ctx, dsn)
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
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create --data-dir: %w", err)
	}
	var sb *sandbox.Sandbox
	if cfg.Workers > 0 { // an API-only replica runs nothing
		if sb, err = newSandbox(ctx, cfg, dataDir, log); err != nil {
			return err
		}
	}
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

	releases, err := local.New(local.Config{Dir: filepath.Join(dataDir, "runtime"), ProxyAddr: proxyLn.Addr().String(), Log: log, Sandbox: sb})
	if err != nil {
		return err
	}
	git := gitsource.NewManager(filepath.Join(dataDir, "mirrors"), log)
	logs := logstream.New(st, log, logstream.Options{MaxDeploymentBytes: cfg.MaxDeploymentLogBytes})
	logs.Start(ctx)
	defer logs.Stop()
	// -1 (no limit) is 0 below.
	limits := deploy.Limits{MaxPreviews: max(cfg.MaxPreviewsPerEnvironment, 0)}
	var engine *deploy.Engine
	if cfg.Workers > 0 {
		engine, err = deploy.New(deploy.Deps{Store: st, Git: git, Logs: logs, Local: releases, Log: log, NewID: cuid.New, Sandbox: sb},
			deploy.Config{Workers: cfg.Workers, DataDir: dataDir, NodeID: nodeID(dataDir), SingleNode: st.Dialect() == "sqlite",
				StopTimeout: cfg.ShutdownTimeout, Limits: limits})
		if err != nil {
			return err
		}
	}
	recorder := hook.NewRecorder(st, 0, log)
	hookCfg := hook.Config{PublicURL: publicURL, PerHookPerMinute: cfg.HookRateLimit, FailuresPerMinute: cfg.FailedCallLimit, Limits: limits}
	if engine != nil {
		hookCfg.Queued = engine.Wake
	}
	hooks := hook.NewService(st, recorder, hookCfg, log, cuid.New)
	var draining atomic.Bool
	dispatcher := &webhook.Dispatcher{Store: st, NewID: cuid.New, Log: log, Limits: limits}
	if engine != nil {
		dispatcher.Queued = engine.Wake
		dispatcher.TearDown = func(ctx context.Context, envID int64, pr int) error {
			_, err := engine.TearDown(ctx, envID, pr)
			return err
		}
	}
	projects := project.NewService(st, git, log, cuid.New)
	// Before the engine restores releases: their host names carry it.
	if err := projects.EnsureSlugs(ctx); err != nil {
		return err
	}
	apiKeys := apikey.NewService(st, cuid.New)
	handler := api.New(api.Deps{
		Store:    st,
		Projects: projects,
		Hooks:    hooks,
		APIKeys:  apiKeys,
		Engine:   engine,
		Logs:     logs,
		// GitHub webhooks, when a secret is set.
		GitHubSecret: []byte(cfg.GitHubWebhookSecret),
		Webhooks:     dispatcher,
		Limits:       limits,
		Log:          log,
		Draining:     draining.Load,
	})

	srv := &http.Server{
		Handler:           Handler(st, handler, log),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	proxy := &http.Server{
		Handler:           releases.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	recorder.Start(ctx)
	defer recorder.Stop()

	serveErr := make(chan error, 2)
	go func() { serveErr <- proxy.Serve(proxyLn) }()
	if engine != nil {
		// Starts the releases of the previous run again, then the workers.
		if err := engine.Start(ctx); err != nil {
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
	if engine != nil {
		log.Info("shutting down: letting running deployments finish", "timeout", cfg.ShutdownTimeout)
		engine.Stop()
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

// Handler is the whole HTTP surface of Liftoff: /healthz and the API, behind
// the access log and panic recovery.
func Handler(st store.Store, a *api.API, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(st))
	mux.Handle("/", a)
	return accessLog(log, recoverPanics(log, mux))
}

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
