package imagepack_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/imagepack"
)

// packRounds is how many times each way is timed.
const packRounds = 5

// BenchmarkPackProcess times the image of a process service's build
// output (about 24 MB in 2,000 files, half of it incompressible, as a
// node_modules is) made the Kubernetes target's way, Process: the base's
// manifest from the registry, the output's layer written and compressed,
// pushed to the registry; against the container CLI's way, a `podman
// build` of a Dockerfile doing the same (FROM the base, COPY --chown of
// the output to /app, the same entrypoint), then its `podman push` to the
// same registry, which the target needs too. Each round changes one file,
// so that neither reuses the output's layer; the ways alternate, and the
// medians are compared. Run with -benchtime=1x; it skips without podman.
func BenchmarkPackProcess(b *testing.B) {
	cli := containertest.CLI(b)
	ctx, cancel := context.WithTimeout(b.Context(), 20*time.Minute)
	defer cancel()
	host := startRegistry(b, nil)
	base := pushBase(b, host, "1", false)
	run := "b" + strings.ToLower(rand.Text()[:10])
	b.Cleanup(func() {
		if err := cli.RemoveImage(context.WithoutCancel(ctx), base); err != nil && !errors.Is(err, container.ErrNotFound) {
			b.Errorf("remove the base image: %v", err)
		}
	})
	containertest.Cleanup(b, cli, "liftoff.test", run)
	access := container.Access{Insecure: true, TempDir: b.TempDir()}
	if err := cli.Pull(ctx, container.PullSpec{Image: base, Access: access}); err != nil {
		b.Fatal(err)
	}
	buildCtx := b.TempDir()
	out := filepath.Join(buildCtx, "out")
	files := fakeOutput(b, out, 2000, 12<<10)
	start := "./server.sh"
	dockerfile := filepath.Join(b.TempDir(), "Dockerfile")
	df := "FROM " + base + "\nCOPY --chown=65532:65532 out /app\nWORKDIR /app\nUSER 65532:65532\nENV PORT=8080\n" +
		`ENTRYPOINT ["/bin/sh", "-c", "` + start + `"]` + "\n"
	if err := os.WriteFile(dockerfile, []byte(df), 0o644); err != nil {
		b.Fatal(err)
	}
	p := newPacker(b, imagepack.Config{Registry: host, BaseImage: base})

	var packed, built, pushed, builtPushed []time.Duration
	var log strings.Builder // the last pack's
	round := 0
	change := func() {
		round++
		writeFiles(b, out, map[string]string{"version.txt": fmt.Sprintf("round %d %s", round, rand.Text())})
	}
	pack := func() {
		change()
		log.Reset()
		t0 := time.Now()
		if _, err := p.Process(ctx, imagepack.ProcessSpec{Origin: origin(fmt.Sprintf("pack%d", round)), Root: out,
			Start: config.Shell(start), Port: 8080, Log: &log}); err != nil {
			b.Fatalf("pack: %v", err)
		}
		packed = append(packed, time.Since(t0))
	}
	build := func() {
		change()
		tag := fmt.Sprintf("localhost/liftoff-bench/pack:%s-%d", run, round)
		var blog strings.Builder
		t0 := time.Now()
		if err := cli.Build(ctx, container.BuildSpec{Context: buildCtx, Dockerfile: dockerfile, Tags: []string{tag},
			Labels: map[string]string{"liftoff.test": run}, Output: &blog}); err != nil {
			b.Fatalf("podman build: %v\n%s", err, blog.String())
		}
		t1 := time.Now()
		if _, err := cli.Push(ctx, container.PushSpec{Image: tag, Dest: fmt.Sprintf("%s/shop/api:build%d", host, round), Access: access}); err != nil {
			b.Fatalf("podman push: %v", err)
		}
		built, pushed, builtPushed = append(built, t1.Sub(t0)), append(pushed, time.Since(t1)), append(builtPushed, time.Since(t0))
	}
	// Once each, unmeasured: the base's layers reach podman's blob cache
	// and the registry's repository, as they would after a first deploy.
	pack()
	build()
	packed, built, pushed, builtPushed = nil, nil, nil, nil
	b.ResetTimer()
	for range b.N {
		for range packRounds {
			pack()
			build()
		}
	}
	b.StopTimer()
	median := func(ds []time.Duration) float64 {
		s := slices.Sorted(slices.Values(ds))
		return float64(s[(len(s)-1)/2]) / float64(time.Millisecond)
	}
	b.ReportMetric(median(packed), "pack-push-p50-ms")
	b.ReportMetric(median(built), "podman-build-p50-ms")
	b.ReportMetric(median(builtPushed), "podman-build-push-p50-ms")
	b.ReportMetric(median(packed)/median(built), "ratio-pack-vs-build")
	b.ReportMetric(median(packed)/median(builtPushed), "ratio-pack-vs-build-push")
	b.ReportMetric(0, "ns/op")
	b.Logf("output: %d files; rounds of each: %d; the last pack said:\n%s", files, len(packed), log.String())
	b.Logf("pack + push (ms): %v", msList(packed))
	b.Logf("podman build (ms): %v", msList(built))
	b.Logf("podman push (ms): %v", msList(pushed))
}

// fakeOutput writes n files of about size bytes each under dir, in
// nested directories, half of them random (incompressible, as packed
// assets are) and half text; it returns n.
func fakeOutput(b *testing.B, dir string, n, size int) int {
	b.Helper()
	rng := mrand.New(mrand.NewPCG(1, 2))
	text := strings.Repeat("module.exports = function (a, b) { return a + b }\n", size/50+1)[:size]
	for i := range n {
		p := filepath.Join(dir, "node_modules", fmt.Sprintf("pkg%03d", i/20), "lib", fmt.Sprintf("file%d.js", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		content := []byte(text)
		if i%2 == 0 {
			content = make([]byte, size)
			for j := range content {
				content[j] = byte(rng.Uint32())
			}
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	writeFiles(b, dir, map[string]string{"server.sh*": "exec httpd -f -p \"$PORT\"\n"})
	return n + 1
}

// msList is durations in whole milliseconds, sorted.
func msList(ds []time.Duration) []int64 {
	out := make([]int64, len(ds))
	for i, d := range slices.Sorted(slices.Values(ds)) {
		out[i] = d.Milliseconds()
	}
	return out
}
