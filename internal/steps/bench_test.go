package steps

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/sandbox/sandboxtest"
)

// BenchmarkStep measures what the sandbox adds to a build step: the same
// step through Run unsandboxed and in bubblewrap, alternately in one run so
// that drift on a shared machine hits both alike. It reports the mean time
// of a step in each mode, the time bubblewrap adds, and their ratio.
func BenchmarkStep(b *testing.B) {
	dataDir := b.TempDir()
	sb := sandboxtest.New(b, dataDir)
	dir := filepath.Join(dataDir, "builds", "cbench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	home, err := sb.Home("cbench", "production")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, cmd string }{
		{name: "true", cmd: "true"},
		{name: "script", cmd: `echo "building $LIFTOFF_SERVICE_ID"; mkdir -p out && for f in a b c d e; do echo "$f" > out/$f.txt; done; cat out/*.txt | wc -l; rm -r out`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			env := append(BaseEnv(), "LIFTOFF_SERVICE_ID=api")
			plain := Spec{Dir: dir, Env: env, Steps: []Step{build(bc.cmd)}}
			boxed := plain
			boxed.Sandbox, boxed.Home = sb, home
			var tPlain, tBoxed time.Duration
			for range b.N {
				for _, m := range []struct {
					spec Spec
					sum  *time.Duration
				}{{plain, &tPlain}, {boxed, &tBoxed}} {
					start := time.Now()
					if err := Run(b.Context(), m.spec); err != nil {
						b.Fatal(err)
					}
					*m.sum += time.Since(start)
				}
			}
			perStep := func(d time.Duration) float64 { return float64(d) / float64(b.N) / float64(time.Millisecond) }
			b.ReportMetric(perStep(tPlain), "none-ms/step")
			b.ReportMetric(perStep(tBoxed), "bwrap-ms/step")
			b.ReportMetric(perStep(tBoxed-tPlain), "added-ms/step")
			b.ReportMetric(float64(tBoxed)/float64(tPlain), "ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}
