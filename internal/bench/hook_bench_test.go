package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lucsky/cuid"
	_ "modernc.org/sqlite"

	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/server"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/sqlite"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/variables"
)

const (
	benchWorkers = 32
	benchRound   = 3 * time.Second
	benchRounds  = 3
)

// BenchmarkHookEndpoint measures the deploy hook endpoint under concurrent
// load on loopback against a baseline in the same run: a bare net/http
// handler doing one INSERT into the same database. Rounds alternate between
// the two so drift on a shared machine hits both alike.
//
// Every hook call deploys a new pull request (the preview form with a fresh
// PR number), so each one authenticates, inserts a deployment and records
// the call: the write path, never a join. Run with -benchtime=1x: each round
// lasts benchRound whatever b.N is.
func BenchmarkHookEndpoint(b *testing.B) {
	for _, dialect := range storetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			st, baseline := openBoth(b, dialect)
			hookURL := hookServer(b, st)
			baseURL := baselineServer(b, baseline)
			var hookRes, baseRes []LoadResult
			for range b.N {
				for round := range benchRounds {
					baseRes = append(baseRes, Load(ctx, benchWorkers, benchRound, func(int, int) string { return baseURL }))
					hookRes = append(hookRes, Load(ctx, benchWorkers, benchRound, func(w, i int) string {
						// A fresh PR number per call: worker, round and index.
						pr := 1 + (round*benchWorkers+w)*1_000_000 + i
						return fmt.Sprintf(hookURL, pr)
					}))
				}
			}
			h, base := merge(hookRes), merge(baseRes)
			if h.Failed > 0 || base.Failed > 0 {
				b.Fatalf("failed requests: hook %d, baseline %d", h.Failed, base.Failed)
			}
			b.ReportMetric(h.RPS(), "hook-req/s")
			b.ReportMetric(base.RPS(), "base-req/s")
			b.ReportMetric(h.RPS()/base.RPS(), "ratio")
			b.ReportMetric(ms(h.P50), "hook-p50-ms")
			b.ReportMetric(ms(h.P99), "hook-p99-ms")
			b.ReportMetric(ms(base.P50), "base-p50-ms")
			b.ReportMetric(ms(base.P99), "base-p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// merge sums rounds: total requests over total time, and the median round's
// percentiles.
func merge(rs []LoadResult) LoadResult {
	var out LoadResult
	for _, r := range rs {
		out.Requests += r.Requests
		out.Failed += r.Failed
		out.Elapsed += r.Elapsed
	}
	mid := rs[len(rs)/2]
	out.P50, out.P99 = mid.P50, mid.P99
	return out
}

// baselineDB is the bare handler's own connection to the same database.
type baselineDB struct {
	sqlite *sql.DB
	pg     *pgxpool.Pool
}

func openBoth(b *testing.B, dialect string) (store.Store, baselineDB) {
	ctx := context.Background()
	var st store.Store
	var base baselineDB
	var err error
	switch dialect {
	case "sqlite":
		path := filepath.Join(b.TempDir(), "liftoff.db")
		if st, err = sqlite.Open(ctx, path, sqlite.Options{}); err != nil {
			b.Fatal(err)
		}
		// The same pragmas as the store's writer, and one connection: the
		// faster of one and a pool for SQLite writes on this machine.
		base.sqlite, err = sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
		if err != nil {
			b.Fatal(err)
		}
		base.sqlite.SetMaxOpenConns(1)
		b.Cleanup(func() { _ = base.sqlite.Close() })
		_, err = base.sqlite.Exec(`CREATE TABLE baseline (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, payload TEXT NOT NULL)`)
	case "postgres":
		url := storetest.DatabaseURL(b)
		if st, err = postgres.Open(ctx, url, postgres.Options{Timeout: storetest.DatabaseTimeout}); err != nil {
			b.Fatal(err)
		}
		// A pool of the store's size: the same connections for both.
		var pcfg *pgxpool.Config
		if pcfg, err = pgxpool.ParseConfig(url); err != nil {
			b.Fatal(err)
		}
		pcfg.MaxConns = postgres.DefaultMaxConns
		if base.pg, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(base.pg.Close)
		_, err = base.pg.Exec(ctx, `CREATE TABLE baseline (id TEXT PRIMARY KEY, created_at BIGINT NOT NULL, payload TEXT NOT NULL)`)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st, base
}

// baselineServer answers like a hook after one INSERT.
func baselineServer(b *testing.B, db baselineDB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := cuid.New()
		var err error
		if db.sqlite != nil {
			_, err = db.sqlite.ExecContext(r.Context(), `INSERT INTO baseline (id, created_at, payload) VALUES ($1, $2, $3)`, id, time.Now().UnixMilli(), r.URL.Path)
		} else {
			_, err = db.pg.Exec(r.Context(), `INSERT INTO baseline (id, created_at, payload) VALUES ($1, $2, $3)`, id, time.Now().UnixMilli(), r.URL.Path)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success": "true", "deploymentId": "` + id + `"}`))
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/api/deploy-hook/1/x"
}

// hookServer serves Liftoff's real HTTP stack (access log included) over
// the store, with one preview environment and its hook. It returns the
// hook URL with %d in place of the PR number.
func hookServer(b *testing.B, st store.Store) string {
	ctx := context.Background()
	p, err := st.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "bench", RepoURL: "/srv/bench", ConfigPath: "liftoff.json", At: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	envs, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "preview", Name: "Preview", IsPreview: true,
			Services: []store.ServiceSpec{{GivenID: "web", Name: "Web", Type: "web"}}}}})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := hook.NewRecorder(st, 0, log)
	rec.Start(ctx)
	b.Cleanup(rec.Stop)
	// The per-hook limit is lifted: this measures throughput, not the limiter.
	deployments := &deployment.Service{Store: st, NewID: cuid.New, Now: time.Now, Runner: deployment.NoRunner{}}
	hooks, err := hook.NewService(st, rec, deployments, hook.Config{PublicURL: "http://127.0.0.1:8080", PerHookPerMinute: 1 << 30, FailuresPerMinute: 20},
		log, cuid.New)
	if err != nil {
		b.Fatal(err)
	}
	created, err := hooks.Create(ctx, envs[0].ID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	vars, _, err := variables.Open(st, filepath.Join(b.TempDir(), "secret.key"))
	if err != nil {
		b.Fatal(err)
	}
	a := api.New(api.Deps{Deployments: deployments, Variables: vars, Hooks: hooks, APIKeys: apikey.NewService(st, cuid.New), Log: log})
	srv := httptest.NewServer(server.Handler(st, a, log))
	b.Cleanup(srv.Close)
	return strings.Replace(srv.URL+fmt.Sprintf("/api/deploy-hook/%d/%s/", envs[0].ID, created.Secret), "%", "%%", -1) + "%d/" + strings.Repeat("a", 40)
}
