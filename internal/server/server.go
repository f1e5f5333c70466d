// Package server wires Liftoff together: it opens the store, builds the
// domain services, starts the HTTP server and the background services, and
// shuts them down in order (HTTP first, then workers, then the store).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
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

// Run serves until ctx ends, then shuts down gracefully. ready, if not nil,
// is called with the API's address once it accepts connections.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func(addr string)) error {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
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
	publicURL := cfg.publicURL(ln.Addr())

	git := gitsource.NewManager(filepath.Join(cfg.DataDir, "mirrors"), log)
	recorder := hook.NewRecorder(st, 0, log)
	hooks := hook.NewService(st, recorder, hook.Config{
		PublicURL:         publicURL,
		PerHookPerMinute:  cfg.HookRateLimit,
		FailuresPerMinute: cfg.FailedCallLimit,
	}, log, cuid.New)
	var draining atomic.Bool
	handler := api.New(api.Deps{
		Store:    st,
		Projects: project.NewService(st, git, log, cuid.New),
		Hooks:    hooks,
		APIKeys:  apikey.NewService(st, cuid.New),
		Log:      log,
		Draining: draining.Load,
	})

	srv := &http.Server{
		Handler:           Handler(st, handler, log),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	recorder.Start(ctx)
	defer recorder.Stop()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "public_url", publicURL)
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	// Requests still running past the deadline: refuse new hook calls.
	draining.Store(true)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("shutdown deadline passed with requests in flight", "err", err)
	}
	log.Info("stopped")
	return nil
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
