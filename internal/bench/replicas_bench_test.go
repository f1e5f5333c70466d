package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/server"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/postgres"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// BenchmarkHookReplicas measures the deploy hook path on PostgreSQL with
// one, two and three API replicas (liftoff serve --role api, in this
// process) and one worker (--role worker) running what they queue, as an
// operator who scales out runs them: the load (32 clients, each call a new
// pull request's preview) is spread over the API replicas as a load
// balancer would. Rounds alternate between one, two and three replicas so
// drift on a shared machine hits each alike; it reports requests per
// second for each, and two's and three's as a ratio of one's. Every
// replica shares the machine's cores: the ratio says what more replicas
// add here, not on machines of their own. Run with -benchtime=1x.
func BenchmarkHookReplicas(b *testing.B) {
	ctx := context.Background()
	url := storetest.DatabaseURL(b) // skips without PostgreSQL
	repo := gittest.New(b)
	repo.Commit("site", map[string]string{"liftoff.json": `{"environments": [{"id": "preview", "name": "Preview", "source": {"pr": true},
		"services": [{"id": "web", "name": "Web", "type": "static", "buildCommand": "true", "outputDirectory": "."}]}]}`})
	st, err := postgres.Open(ctx, url, postgres.Options{Timeout: storetest.DatabaseTimeout})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	p, err := st.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "bench", RepoURL: repo.Dir, ConfigPath: "liftoff.json", At: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	envs, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: time.Now(), NewServiceID: cuid.New,
		Environments: []store.EnvironmentSpec{{GivenID: "preview", Name: "Preview", IsPreview: true,
			Services: []store.ServiceSpec{{GivenID: "web", Name: "Web", Type: "static"}}}}})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hooks, err := hook.NewService(st, hook.NewRecorder(st, 0, log), &deployment.Service{Store: st, NewID: cuid.New, Now: time.Now, Runner: deployment.NoRunner{}},
		hook.Config{PublicURL: "http://127.0.0.1", PerHookPerMinute: 60, FailuresPerMinute: 20}, log, cuid.New)
	if err != nil {
		b.Fatal(err)
	}
	created, err := hooks.Create(ctx, envs[0].ID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	key := filepath.Join(b.TempDir(), "secret.key")
	replica := func(role string) string {
		cfg := server.Config{Role: role, Addr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", DataDir: b.TempDir(), DatabaseURL: url, SecretKeyFile: key,
			HookRateLimit: 1 << 30, FailedCallLimit: 1 << 30, MaxPreviewsPerEnvironment: -1, AllowedRepos: []string{filepath.Join(os.TempDir(), "**")}}
		if role == server.RoleWorker {
			cfg.Workers = 2
		}
		s, err := server.New(ctx, cfg, log)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(s.Stop)
		return "http://" + s.Ready().Addr
	}
	replica(server.RoleWorker)
	apis := []string{replica(server.RoleAPI), replica(server.RoleAPI), replica(server.RoleAPI)}
	path := strings.ReplaceAll(fmt.Sprintf("/api/deploy-hook/%d/%s/", envs[0].ID, created.Secret), "%", "%%") + "%d/" + strings.Repeat("a", 40)

	results := make([][]LoadResult, len(apis))
	pr := 0
	for range b.N {
		for range benchRounds {
			for n := 1; n <= len(apis); n++ {
				round := pr
				pr += 1 << 24
				results[n-1] = append(results[n-1], Load(ctx, benchWorkers, benchRound, func(w, i int) string {
					return apis[w%n] + fmt.Sprintf(path, 1+round+w*(1<<18)+i)
				}))
			}
		}
	}
	one := merge(results[0]).RPS()
	for n, rs := range results {
		r := merge(rs)
		if r.Failed > 0 {
			b.Fatalf("%d replicas: %d failed requests", n+1, r.Failed)
		}
		b.ReportMetric(r.RPS(), fmt.Sprintf("req/s-%d-replicas", n+1))
		b.ReportMetric(ms(r.P99), fmt.Sprintf("p99-ms-%d-replicas", n+1))
		if n > 0 {
			b.ReportMetric(r.RPS()/one, fmt.Sprintf("ratio-%d-to-1", n+1))
		}
	}
	b.ReportMetric(0, "ns/op")
}
