package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/server"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// floodBytes is what the flooding build prints: 30 MB, as the one that
// pushed hook latency to seconds.
const floodBytes = 30 << 20

// BenchmarkHookUnderOutput measures the latency of deploy hook calls, one
// at a time, on an idle server and while a build prints 30 MB as fast as
// its pipe is read (through logstream into the same store), against the
// idle figures of the same run. "capped" is the default cap (10 MiB per
// deployment: the rest of the flood never reaches the store); "uncapped"
// raises the cap over the flood, so that all of it is stored and only the
// writer's priorities and the bounded batches keep hook calls ahead. Run
// with -benchtime=1x.
func BenchmarkHookUnderOutput(b *testing.B) {
	for _, dialect := range storetest.Dialects() {
		for _, c := range []struct {
			name string
			cap  int64
		}{{"capped", server.DefaultMaxDeploymentLogBytes}, {"uncapped", 1 << 30}} {
			b.Run(dialect+"/"+c.name, func(b *testing.B) {
				ctx := context.Background()
				st, _ := openBoth(b, dialect)
				hookURL := hookServer(b, st)
				logs, err := logstream.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), logstream.Options{MaxDeploymentBytes: c.cap})
				if err != nil {
					b.Fatal(err)
				}
				logs.Start(ctx)
				defer logs.Stop()
				hc := &http.Client{Timeout: time.Minute}
				defer hc.CloseIdleConnections()
				pr := 0
				call := func() time.Duration {
					pr++
					t0 := time.Now()
					resp, err := hc.Get(fmt.Sprintf(hookURL, pr))
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("hook answered %d", resp.StatusCode)
					}
					return time.Since(t0)
				}
				var idle, flood []time.Duration
				var stored time.Duration
				for range b.N {
					for range 100 {
						idle = append(idle, call())
					}
					var done atomic.Bool
					finished := make(chan time.Duration, 1)
					go func() {
						t0 := time.Now()
						w := logs.Writer("flood", "build")
						line := strings.Repeat("x", 99) + "\n"
						chunk := []byte(strings.Repeat(line, (32<<10)/len(line)))
						for n := 0; n < floodBytes; n += len(chunk) {
							_, _ = w.Write(chunk)
						}
						_ = w.Close()
						logs.Flush(ctx)
						done.Store(true)
						finished <- time.Since(t0)
					}()
					for i := 0; i < 50 || !done.Load(); i++ {
						flood = append(flood, call())
					}
					stored = <-finished
				}
				b.StopTimer()
				slices.Sort(idle)
				slices.Sort(flood)
				pct := func(d []time.Duration, p int) float64 { return ms(d[(len(d)-1)*p/100]) }
				b.ReportMetric(pct(idle, 50), "idle-p50-ms")
				b.ReportMetric(pct(idle, 99), "idle-p99-ms")
				b.ReportMetric(pct(flood, 50), "flood-p50-ms")
				b.ReportMetric(pct(flood, 99), "flood-p99-ms")
				b.ReportMetric(ms(flood[len(flood)-1]), "flood-max-ms")
				b.ReportMetric(pct(flood, 99)/pct(idle, 99), "p99-ratio")
				b.ReportMetric(stored.Seconds(), "flood-stored-s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
