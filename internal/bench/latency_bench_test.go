package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/server"
	"github.com/liftoffhq/liftoff/internal/steps"
)

const (
	latencyWarmup     = 2
	latencyIterations = 20
	// latencyMarkerWait bounds the wait for one build's marker.
	latencyMarkerWait = 30 * time.Second
	// latencyFinalWait bounds the wait for one deployment's final status.
	latencyFinalWait = 30 * time.Second
)

// markerCommand is the build command: it writes the deployment's id into
// the named pipe FIFO_PATH (one write, shorter than PIPE_BUF: atomic), which
// proves that the marker comes from the deployment just triggered.
const markerCommand = `printf '%s' "$LIFTOFF_DEPLOYMENT_ID" > "$FIFO_PATH"`

// BenchmarkHookToBuild measures, on an idle server (the real one, in
// process, on SQLite) with a local repository, the time from the deploy
// hook's answer to the start of the first build command: fetch, resolve,
// config, plan, checkout, then /bin/sh running the buildCommand (in the
// sandbox, when bubblewrap works here, as by default). The build
// writes into a named pipe the benchmark holds open for reading; the time
// is from the moment the hook's HTTP answer arrived to the moment the read
// returned. Every call has force=true, so every deployment builds, and the
// next call waits until the previous deployment ended (it is cancelled once
// its marker arrived: the worker would need 3 s to be healthy).
//
// The baseline, measured in the same run, alternating with the hook calls:
// exec of `/bin/sh -c '<the same command>'` alone, from Start to the read.
// Run with -benchtime=1x: each b.N runs all the iterations.
func BenchmarkHookToBuild(b *testing.B) {
	ctx, cancel := context.WithTimeout(b.Context(), 3*time.Minute)
	defer cancel()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	dumpLogs := func() {
		if b.Failed() {
			b.Logf("server log:\n%s", logs.tail(16<<10))
		}
	}
	defer dumpLogs()

	dataDir := b.TempDir()
	fifo := filepath.Join(b.TempDir(), "marker.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		b.Fatal(err)
	}
	// The build runs as builds do by default: in the sandbox where
	// bubblewrap works, which must show it the pipe (a pipe opens for
	// writing through a read-only bind).
	// The test's repository is in a temp directory, which the server's
	// default policy refuses: allow it.
	cfg := server.Config{Addr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", DataDir: dataDir, HookRateLimit: 100000,
		SandboxBinds: []string{filepath.Dir(fifo)}, AllowedRepos: []string{filepath.Join(os.TempDir(), "**")}}
	key := bootstrapAPIKey(b, ctx, cfg)
	repo := gittest.New(b)
	repo.Commit("initial", map[string]string{"liftoff.json": markerConfig(fifo), "README.md": "bench\n"})

	base := startServer(b, ctx, cfg, log)
	c := client.New(base, key)
	p, err := c.CreateProject(ctx, "bench", repo.Dir, "")
	if err != nil {
		b.Fatal(err)
	}
	if len(p.Environments) != 1 {
		b.Fatalf("project has %d environments, want 1", len(p.Environments))
	}
	h, err := c.CreateHook(ctx, p.Environments[0].EnvironmentID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	hookURL := h.URL + "?force=true"
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()

	var toBuild, answer, baseline []time.Duration
	b.ResetTimer()
	for range b.N {
		for i := range latencyWarmup + latencyIterations {
			bl, err := baselineMarker(ctx, fifo)
			if err != nil {
				b.Fatalf("baseline: %v", err)
			}
			m, err := hookToBuild(ctx, c, hc, hookURL, fifo)
			if err != nil {
				b.Fatalf("iteration %d: %v", i, err)
			}
			if i >= latencyWarmup {
				toBuild = append(toBuild, m.toBuild)
				answer = append(answer, m.answer)
				baseline = append(baseline, bl)
			}
		}
	}
	b.StopTimer()
	slices.Sort(toBuild)
	slices.Sort(answer)
	slices.Sort(baseline)
	// Nearest rank, the lower one: of 20, p50 is the 10th and p90 the 18th.
	pct := func(ds []time.Duration, p int) float64 { return ms(ds[(len(ds)-1)*p/100]) }
	b.ReportMetric(pct(toBuild, 50), "p50-ms")
	b.ReportMetric(pct(toBuild, 90), "p90-ms")
	b.ReportMetric(pct(baseline, 50), "sh-p50-ms")
	b.ReportMetric(pct(toBuild, 50)/pct(baseline, 50), "ratio-vs-sh")
	b.ReportMetric(pct(answer, 50), "hook-answer-p50-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("hook answer → build start, sorted (ms): %v", msList(toBuild))
	b.Logf("sh -c alone, sorted (ms): %v", msList(baseline))
}

// latency is one measured hook call.
type latency struct {
	answer  time.Duration // the hook call itself
	toBuild time.Duration // its answer → the build's marker
}

// hookToBuild calls the hook once and measures the time from its answer to
// the build's marker; then it cancels the deployment and waits until the
// deployment ended.
func hookToBuild(ctx context.Context, c *client.Client, hc *http.Client, hookURL, fifo string) (latency, error) {
	marker, err := openMarker(fifo)
	if err != nil {
		return latency{}, err
	}
	defer marker.close()
	t0 := time.Now()
	id, err := client.CallHook(ctx, hc, hookURL)
	answered := time.Now()
	if err != nil {
		return latency{}, err
	}
	got, at, err := marker.wait(latencyMarkerWait)
	if err != nil {
		d, _ := c.Deployment(ctx, id)
		return latency{}, fmt.Errorf("deployment %s (%s %v): %w", id, d.Status, d.Error, err)
	}
	if got != id {
		return latency{}, fmt.Errorf("the marker came from deployment %q, want %q", got, id)
	}
	// The build has started, which is all that is measured: do not wait
	// the worker's grace period.
	if _, err := c.CancelDeployment(ctx, id); err != nil {
		return latency{}, fmt.Errorf("cancel %s: %w", id, err)
	}
	if err := waitFinal(ctx, c, id); err != nil {
		return latency{}, err
	}
	return latency{answer: answered.Sub(t0), toBuild: at.Sub(answered)}, nil
}

// baselineMarker runs the build command alone, with /bin/sh -c, and
// returns the time from exec to the marker.
func baselineMarker(ctx context.Context, fifo string) (time.Duration, error) {
	marker, err := openMarker(fifo)
	if err != nil {
		return 0, err
	}
	defer marker.close()
	id := cuid.New()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", markerCommand)
	cmd.Env = append(steps.BaseEnv(), "LIFTOFF_DEPLOYMENT_ID="+id, "FIFO_PATH="+fifo)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	got, at, err := marker.wait(latencyMarkerWait)
	if werr := cmd.Wait(); err == nil {
		err = werr
	}
	if err == nil && got != id {
		err = fmt.Errorf("marker %q, want %q", got, id)
	}
	return at.Sub(t0), err
}

// marker is the named pipe, open for reading, and the goroutine reading it.
type marker struct {
	f    *os.File
	done chan markerRead
}

type markerRead struct {
	data string
	at   time.Time
	err  error
}

// openMarker opens the named pipe for reading, before anything may write
// to it. It is opened read-write: the open does not wait for a writer, and
// the read waits for data rather than seeing end of file while no writer
// has it open. The read starts at once, and its time is taken as soon as it
// returns.
func openMarker(fifo string) (*marker, error) {
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	m := &marker{f: f, done: make(chan markerRead, 1)}
	go func() {
		buf := make([]byte, 512)
		n, err := f.Read(buf)
		m.done <- markerRead{data: string(buf[:n]), at: time.Now(), err: err}
	}()
	return m, nil
}

// wait returns what the first write into the pipe carried, and when it was
// read.
func (m *marker) wait(d time.Duration) (string, time.Time, error) {
	if err := m.f.SetReadDeadline(time.Now().Add(d)); err != nil {
		return "", time.Time{}, err
	}
	r := <-m.done
	if errors.Is(r.err, os.ErrDeadlineExceeded) {
		r.err = fmt.Errorf("no build started within %v", d)
	}
	return r.data, r.at, r.err
}

// close closes the pipe: whatever is still in it is dropped, so that no
// write of one iteration can be read by the next.
func (m *marker) close() {
	_ = m.f.SetReadDeadline(time.Now())
	_ = m.f.Close()
}

// waitFinal polls a deployment until its status is final.
func waitFinal(ctx context.Context, c *client.Client, id string) error {
	deadline := time.Now().Add(latencyFinalWait)
	for {
		d, err := c.Deployment(ctx, id)
		if err != nil {
			return err
		}
		if liftoff.Status(d.Status).Final() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deployment %s still %s after %v", id, d.Status, latencyFinalWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// markerConfig is the liftoff.json of the benchmark's repository: one
// worker whose build writes its marker into fifo.
func markerConfig(fifo string) string {
	cfg := map[string]any{
		"environments": []any{map[string]any{
			"id": "production", "name": "Production",
			"source": map[string]any{"branch": "main"},
			"services": []any{map[string]any{
				"id": "worker", "name": "Worker", "type": "worker",
				"buildCommand": markerCommand,
				"startCommand": "sleep 600",
				"envVariables": map[string]string{"FIFO_PATH": fifo},
			}},
		}},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(data) + "\n"
}

// bootstrapAPIKey creates an API key in the store cfg names, before the
// server opens it, as `liftoff apikeys create` does.
func bootstrapAPIKey(b *testing.B, ctx context.Context, cfg server.Config) string {
	b.Helper()
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	_, key, err := apikey.NewService(st, cuid.New).Create(ctx, apikey.CreateParams{Name: "bench"})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	return key
}

// startServer starts a server until the benchmark ends and returns its
// base URL.
func startServer(b *testing.B, ctx context.Context, cfg server.Config, log *slog.Logger) string {
	b.Helper()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Stop)
	if err := srv.Start(ctx); err != nil {
		b.Fatalf("start the server: %v", err)
	}
	return "http://" + srv.Ready().Addr
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// tail returns the last n bytes written.
func (l *lockedBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.buf.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

func msList(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%.1f", ms(d))
	}
	return strings.Join(parts, " ")
}
