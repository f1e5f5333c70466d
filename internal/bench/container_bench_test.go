package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/server"
)

const (
	releaseRounds = 5
	// releaseAnswerWait bounds the wait for one release to answer.
	releaseAnswerWait = 3 * time.Minute
)

// releaseServer is the web server both services run, as a process and in
// a container: it answers / with version.txt (read at start) and /health
// with 200, on $HOST (default 127.0.0.1) and $PORT; SIGTERM ends it (it
// is PID 1 in its container, where SIGTERM has no default action).
const releaseServer = `package main

import (
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	version, _ := os.ReadFile("version.txt")
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(version) })
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
		<-stop
		os.Exit(0)
	}()
	if err := http.ListenAndServe(host+":"+os.Getenv("PORT"), nil); err != nil {
		os.Exit(1)
	}
}
`

// releaseDockerfile copies the committed server and version.txt into the
// busybox base image: a build after a change of version.txt reuses the
// server's layer.
const releaseDockerfile = `FROM ` + containertest.BaseImage + `
COPY server /app/server
RUN chmod 755 /app/server
COPY version.txt /app/version.txt
WORKDIR /app
ENV HOST=0.0.0.0
CMD ["/app/server"]
`

// BenchmarkHookToRelease measures, on an idle server (the real one, in
// process, on SQLite, with podman) with a local repository, the time from
// a deploy hook call to the new release answering through the proxy, for
// a commit that changes what the service serves: fetch, plan, build,
// start, health check, switch. The container service (buildType docker:
// an image build reusing the server's layer, a container run) is measured
// against the same server run as a process (no build command), in the same
// run, alternately: each round commits a change to one service, calls the
// hook and polls the proxy until the new content answers, then waits for
// the deployment to end; then the same for the other. It skips where no
// container CLI works. Run with -benchtime=1x.
func BenchmarkHookToRelease(b *testing.B) {
	cli := containertest.CLI(b)
	ctx, cancel := context.WithTimeout(b.Context(), 20*time.Minute)
	defer cancel()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	defer func() {
		if b.Failed() {
			b.Logf("server log:\n%s", logs.tail(16<<10))
		}
	}()

	binDir := b.TempDir()
	containertest.GoProgram(b, binDir, "server", releaseServer)
	serverBin, err := os.ReadFile(filepath.Join(binDir, "server"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := server.Config{Addr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", DataDir: b.TempDir(), HookRateLimit: 100000,
		SandboxBinds: []string{binDir}, AllowedRepos: []string{filepath.Join(os.TempDir(), "**")}}
	key := bootstrapAPIKey(b, ctx, cfg)
	repo := gittest.New(b)
	repo.Commit("initial", map[string]string{
		"liftoff.json":    releaseConfig(filepath.Join(binDir, "server")),
		"web/Dockerfile":  releaseDockerfile,
		"web/server":      string(serverBin),
		"web/version.txt": "web 0",
		"api/version.txt": "api 0",
	})

	var p client.Project
	// Registered before the server starts, so it runs after its stop: a
	// stopping Liftoff leaves its containers running.
	b.Cleanup(func() { removeBenchContainers(b, cli, p) })
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Stop)
	if err := srv.Start(ctx); err != nil {
		b.Fatalf("start the server: %v", err)
	}
	c := client.New("http://"+srv.Ready().Addr, key)
	if p, err = c.CreateProject(ctx, "bench-release", repo.Dir, ""); err != nil {
		b.Fatal(err)
	}
	h, err := c.CreateHook(ctx, p.Environments[0].EnvironmentID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	proxy := "http://" + srv.Ready().ProxyAddr

	// The first deployment starts both; it is not measured.
	if _, err := hookToAnswer(ctx, c, hc, h.URL, proxy, map[string]string{"web": "web 0", "api": "api 0"}); err != nil {
		b.Fatalf("first deployment: %v", err)
	}
	var inContainer, asProcess []time.Duration
	b.ResetTimer()
	for range b.N {
		for i := range releaseRounds {
			for _, svc := range []string{"web", "api"} {
				version := svc + " " + strconv.Itoa(len(inContainer)+len(asProcess)+1)
				repo.Commit(version, map[string]string{svc + "/version.txt": version})
				d, err := hookToAnswer(ctx, c, hc, h.URL, proxy, map[string]string{svc: version})
				if err != nil {
					b.Fatalf("round %d, %s: %v", i+1, svc, err)
				}
				if svc == "web" {
					inContainer = append(inContainer, d)
				} else {
					asProcess = append(asProcess, d)
				}
			}
		}
	}
	b.StopTimer()
	slices.Sort(inContainer)
	slices.Sort(asProcess)
	median := func(ds []time.Duration) float64 { return ms(ds[(len(ds)-1)/2]) }
	b.ReportMetric(median(inContainer), "container-p50-ms")
	b.ReportMetric(median(asProcess), "process-p50-ms")
	b.ReportMetric(median(inContainer)/median(asProcess), "ratio-container-vs-process")
	b.ReportMetric(0, "ns/op")
	b.Logf("hook call → container release answers, sorted (ms): %v", msList(inContainer))
	b.Logf("hook call → process release answers, sorted (ms): %v", msList(asProcess))
}

// hookToAnswer calls the hook and returns the time from the call to the
// proxy answering want for each service (host <service>.production.localhost);
// then it waits until the deployment ended, and fails unless it succeeded.
func hookToAnswer(ctx context.Context, c *client.Client, hc *http.Client, hookURL, proxy string, want map[string]string) (time.Duration, error) {
	t0 := time.Now()
	id, err := client.CallHook(ctx, hc, hookURL)
	if err != nil {
		return 0, err
	}
	var took time.Duration
	for svc, body := range want {
		for n := 1; ; n++ {
			if got, err := proxyGet(ctx, hc, proxy, svc+".production.localhost"); err == nil && got == body {
				took = max(took, time.Since(t0))
				break
			}
			if n%100 == 0 {
				if d, err := c.Deployment(ctx, id); err != nil || (d.FinishedAt != nil && d.Status != "SUCCESS") {
					return 0, fmt.Errorf("deployment %s ended %s %v before %s answered %q (%v)", id, d.Status, d.Error, svc, body, err)
				}
			}
			if time.Since(t0) > releaseAnswerWait {
				d, _ := c.Deployment(ctx, id)
				return 0, fmt.Errorf("%s did not answer %q within %v (deployment %s %s %v)", svc, body, releaseAnswerWait, id, d.Status, d.Error)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(releaseAnswerWait)
	for {
		d, err := c.Deployment(ctx, id)
		if err != nil {
			return 0, err
		}
		if d.Status == "SUCCESS" {
			return took, nil
		}
		if d.FinishedAt != nil || time.Now().After(deadline) {
			return 0, fmt.Errorf("deployment %s ended %s %v", id, d.Status, d.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// proxyGet fetches / of a host through the proxy.
func proxyGet(ctx context.Context, hc *http.Client, proxy, host string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", proxy+"/", nil)
	if err != nil {
		return "", err
	}
	req.Host = host
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(body), err
}

// releaseConfig is the liftoff.json of BenchmarkHookToRelease: web, the
// server in a container built from web/Dockerfile, and api, the server
// (at serverPath) run as a process in api/; each deploys on a change in
// its folder only.
func releaseConfig(serverPath string) string {
	cfg := map[string]any{
		"environments": []any{map[string]any{
			"id": "production", "name": "Production",
			"source": map[string]any{"branch": "main"},
			"services": []any{
				map[string]any{"id": "web", "name": "Web", "type": "web", "buildType": "docker", "port": 3000,
					"dockerfilePath": "web/Dockerfile", "dockerContext": "web", "watchPaths": []string{"web/**"},
					"healthCheckPath": "/health"},
				map[string]any{"id": "api", "name": "API", "type": "web", "basePath": "api", "watchPaths": []string{"api/**"},
					"startCommand": serverPath, "healthCheckPath": "/health"},
			},
		}},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(data) + "\n"
}

// removeBenchContainers removes the project's containers (by label) and
// its images (by tag).
func removeBenchContainers(b *testing.B, cli *container.CLI, p client.Project) {
	if p.ProjectID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs, err := cli.List(ctx, map[string]string{"liftoff.project": p.ProjectID})
	if err != nil {
		b.Errorf("list the benchmark's containers: %v", err)
	}
	for _, c := range cs {
		if err := cli.Remove(ctx, c.ID); err != nil {
			b.Errorf("remove container %s: %v", c.Name, err)
		}
	}
	var images []container.Image
	for i := range 10 { // podman fails a listing while an image is removed
		if images, err = cli.ListImages(ctx, nil); err == nil {
			break
		}
		time.Sleep(time.Duration(i+1) * 100 * time.Millisecond)
	}
	if err != nil {
		b.Errorf("list images: %v", err)
	}
	for _, im := range images {
		for _, tag := range im.Tags {
			if !strings.HasPrefix(tag, "localhost/liftoff/"+p.Slug+"/") {
				continue
			}
			if err := cli.RemoveImage(ctx, tag); err != nil && !errors.Is(err, container.ErrNotFound) {
				b.Errorf("remove image %s: %v", tag, err)
			}
		}
	}
}
