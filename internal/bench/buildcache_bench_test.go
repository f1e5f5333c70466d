package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/server"
)

// buildCacheWait bounds one deployment of BenchmarkBuildCache: a cold Go
// build compiles the standard library.
const buildCacheWait = 10 * time.Minute

// cachedService is one service BenchmarkBuildCache deploys: its files (from
// testdata/buildcache/<dir>), its liftoff.json service, and the one-line
// changes of its second and third builds. BenchmarkBuildCache/<name>
// measures one.
type cachedService struct {
	name    string
	dir     string
	service map[string]any
	file    string    // the file the one-line changes edit
	edits   [2]string // appended to it, one line each
	needs   []string  // programs the builds run
}

var cachedServices = []cachedService{
	{
		name: "go", dir: "go",
		service: map[string]any{"id": "api", "type": "web",
			"buildCommand": "go build -o bin/api .", "startCommand": "./bin/api"},
		file:  "main.go",
		edits: [2]string{"\n// a one-line change\n", "\n// another one-line change\n"},
		needs: []string{"go"},
	},
	{
		name: "node", dir: "node",
		service: map[string]any{"id": "web", "type": "web",
			"installCommand": "npm install --no-audit --no-fund", "buildCommand": "npm run build",
			"startCommand": "node dist/server.js", "cacheDirectories": []string{"node_modules"}},
		file:  "src/server.ts",
		edits: [2]string{"// a one-line change\n", "// another one-line change\n"},
		needs: []string{"node", "npm"},
	},
}

// BenchmarkBuildCache measures what the build cache saves users: on an
// idle server (the real one, in process, on SQLite, builds in the sandbox
// where bubblewrap works, as by default), a Go web service with a few
// module dependencies (chi, uuid, zerolog) and a Node web service, an
// Express API in TypeScript bundled with esbuild, whose package-lock.json
// holds 550 packages (its runtime dependencies and the tooling its
// repository installs with them: TypeScript, esbuild, Jest, ESLint,
// Prettier), node_modules in its cacheDirectories, each its own project,
// deployed three times:
//
//  1. first build: nothing cached (modules and packages downloaded from
//     the Go module proxy and the npm registry, the standard library
//     compiled);
//  2. after a one-line change, with the cache the first build saved;
//  3. after another one-line change, with clearCache: the same second
//     build, cold, as a baseline measured in the same run.
//
// A build is what liftoff_build_duration_seconds measures on the server:
// checkout, cache restore, install and build commands, cache save. The
// deployment (hook answer to SUCCESS) adds fetching, planning and the
// release. It reports each, and the ratios of the cached build to both
// cold ones; the target is at most 0.30 of the first. It needs the Go
// module proxy and the npm registry, and skips without them. Run with
// -benchtime=1x; -bench=BenchmarkBuildCache/node measures one service.
func BenchmarkBuildCache(b *testing.B) {
	for _, host := range []string{"https://proxy.golang.org/github.com/google/uuid/@v/list", "https://registry.npmjs.org/zod"} {
		if err := reachable(b.Context(), host); err != nil {
			b.Skipf("the builds download dependencies: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Minute)
	defer cancel()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	defer func() {
		if b.Failed() {
			b.Logf("server log:\n%s", logs.tail(16<<10))
		}
	}()
	cfg := server.Config{Addr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", DataDir: b.TempDir(), Workers: 1,
		AllowedRepos: []string{filepath.Join(os.TempDir(), "**")}}
	key := bootstrapAPIKey(b, ctx, cfg)
	base := startServer(b, ctx, cfg, log)
	c := client.New(base, key)

	for _, svc := range cachedServices {
		b.Run(svc.name, func(b *testing.B) {
			if missing := missingPrograms(svc.needs); missing != "" {
				b.Skipf("%s is not in PATH", missing)
			}
			for range b.N {
				r, err := measureCache(ctx, b, c, base, svc)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.cold.build.Seconds(), "cold-build-s")
				b.ReportMetric(r.cached.build.Seconds(), "cached-build-s")
				b.ReportMetric(r.coldAgain.build.Seconds(), "cold-second-build-s")
				b.ReportMetric(r.cached.build.Seconds()/r.cold.build.Seconds(), "ratio-vs-first")
				b.ReportMetric(r.cached.build.Seconds()/r.coldAgain.build.Seconds(), "ratio-vs-cold-second")
				b.ReportMetric(r.cached.deploy.Seconds()/r.cold.deploy.Seconds(), "deploy-ratio-vs-first")
				b.ReportMetric(0, "ns/op")
				b.Logf("first build (cold) %.1fs, deployment %.1fs; second build after a one-line change, with the cache %.1fs (%.0f%% of the first), "+
					"deployment %.1fs; the same second build cold (clearCache) %.1fs, deployment %.1fs",
					r.cold.build.Seconds(), r.cold.deploy.Seconds(), r.cached.build.Seconds(), 100*r.cached.build.Seconds()/r.cold.build.Seconds(),
					r.cached.deploy.Seconds(), r.coldAgain.build.Seconds(), r.coldAgain.deploy.Seconds())
			}
		})
	}
}

// cacheRun is one deployment: its build and the whole of it.
type cacheRun struct{ build, deploy time.Duration }

// cacheRuns are the three deployments of one service.
type cacheRuns struct{ cold, cached, coldAgain cacheRun }

// measureCache makes a project of svc and deploys it three times.
func measureCache(ctx context.Context, b *testing.B, c *client.Client, base string, svc cachedService) (cacheRuns, error) {
	var out cacheRuns
	files, err := testdataFiles(filepath.Join("testdata", "buildcache", svc.dir))
	if err != nil {
		return out, err
	}
	cfg, err := json.Marshal(map[string]any{"environments": []any{map[string]any{
		"id": "production", "source": map[string]any{"branch": "main"}, "services": []any{svc.service}}}})
	if err != nil {
		return out, err
	}
	files["liftoff.json"] = string(cfg)
	repo := gittest.New(b)
	repo.Commit("initial", files)
	// A name of its own: without -benchtime=1x a benchmark runs again.
	p, err := c.CreateProject(ctx, fmt.Sprintf("bench-%s-%d", svc.name, time.Now().UnixNano()), repo.Dir, "")
	if err != nil {
		return out, err
	}
	env := p.Environments[0].EnvironmentID
	if out.cold, err = deployTimed(ctx, c, base, env, false); err != nil {
		return out, fmt.Errorf("first build: %w", err)
	}
	for i, run := range []*cacheRun{&out.cached, &out.coldAgain} {
		files[svc.file] += svc.edits[i]
		repo.Commit("a one-line change", map[string]string{svc.file: files[svc.file]})
		if *run, err = deployTimed(ctx, c, base, env, i == 1); err != nil {
			return out, fmt.Errorf("build %d: %w", i+2, err)
		}
	}
	return out, nil
}

// deployTimed deploys env (forced, with clearCache when asked), waits for
// it to succeed, and returns the build's duration as the server measured
// it and the deployment's, from the call's answer to its end.
func deployTimed(ctx context.Context, c *client.Client, base string, env int64, clearCache bool) (cacheRun, error) {
	before, err := buildSeconds(ctx, base)
	if err != nil {
		return cacheRun{}, err
	}
	started, err := c.StartDeploymentWith(ctx, env, client.DeploymentRequest{Force: true, ClearCache: clearCache})
	if err != nil {
		return cacheRun{}, err
	}
	t0 := time.Now()
	deadline := t0.Add(buildCacheWait)
	var d client.Deployment
	for {
		if d, err = c.Deployment(ctx, started.DeploymentID); err != nil {
			return cacheRun{}, err
		}
		if liftoff.Status(d.Status).Final() {
			break
		}
		if time.Now().After(deadline) {
			return cacheRun{}, fmt.Errorf("deployment %s still %s after %v", d.DeploymentID, d.Status, buildCacheWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(t0)
	if d.Status != string(liftoff.StatusSuccess) {
		out, _ := c.Logs(ctx, d.DeploymentID, "")
		return cacheRun{}, fmt.Errorf("deployment %s ended %s %v:\n%s", d.DeploymentID, d.Status, d.Error, out)
	}
	after, err := buildSeconds(ctx, base)
	if err != nil {
		return cacheRun{}, err
	}
	return cacheRun{build: time.Duration((after - before) * float64(time.Second)), deploy: took}, nil
}

// buildSeconds reads the sum of the successful builds' durations from the
// server's /metrics.
func buildSeconds(ctx context.Context, base string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `liftoff_build_duration_seconds_sum{result="success"} `); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, sc.Err() // none yet
}

// testdataFiles reads the files under dir, by path relative to it.
func testdataFiles(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	return files, err
}

// reachable checks that url answers at all.
func reachable(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s is not reachable: %w", url, err)
	}
	resp.Body.Close()
	return nil
}

// missingPrograms names the first of names not in PATH.
func missingPrograms(names []string) string {
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			return n
		}
	}
	return ""
}
