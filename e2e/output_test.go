package e2e

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// loudBuild prints 300,000 numbered lines of 100 characters: 30 MB.
const loudBuild = `awk 'BEGIN { x = sprintf("%87s", ""); gsub(/ /, "x", x); for (i = 0; i < 300000; i++) printf "line %07d %s\n", i, x }'
echo built
`

var cutLine = regexp.MustCompile(`^\.\.\. ([0-9,]+) lines \(([0-9.]+) MB\) of output were cut here: the limit is 10 MiB per deployment \(--max-deployment-log-bytes\) \.\.\.$`)

// TestBuildOutputIsCapped runs a real build printing 30 MB through the
// engine of the real binary (default cap, 10 MiB): the deployment
// succeeds, and its stored output is within the cap, begins with the
// build's first lines, says exactly what was cut, and ends with the
// build's last lines and the service's own last lines.
func TestBuildOutputIsCapped(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dialect)
			f.repo.Commit("a loud build", map[string]string{"api/build.sh": loudBuild})
			d := f.deploy("force=true")
			if d.Status != "SUCCESS" {
				t.Fatalf("deployment ended %s %+v", d.Status, d.Error)
			}
			logs, err := f.c.Logs(context.Background(), d.DeploymentID, "api")
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			var stored int
			for l := range strings.Lines(logs) {
				text := strings.TrimPrefix(strings.TrimSuffix(l, "\n"), "[api] ")
				lines = append(lines, text)
				stored += len(text) + 1
			}
			if stored > 10<<20+1024 {
				t.Errorf("stored %d bytes of the api's output, more than 10 MiB", stored)
			}
			first, cut, last := -1, -1, -1
			for i, l := range lines {
				switch {
				case strings.HasPrefix(l, "line 0000000 "):
					first = i
				case cutLine.MatchString(l):
					cut = i
				case strings.HasPrefix(l, "line 0299999 "):
					last = i
				}
			}
			if first < 0 || cut < first || last < cut || !strings.HasPrefix(lines[len(lines)-1], "==> SUCCESS") {
				t.Fatalf("first line at %d, cut line at %d, last line at %d of %d; last %q", first, cut, last, len(lines), lines[len(lines)-1])
			}
			head, _ := strconv.Atoi(strings.Fields(lines[cut-1])[1])
			tail, _ := strconv.Atoi(strings.Fields(lines[cut+1])[1])
			m := cutLine.FindStringSubmatch(lines[cut])
			n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			if want := tail - head - 1; n != want {
				t.Errorf("the cut line says %d lines were cut, but lines %d to %d are missing: %q", n, head+1, tail-1, lines[cut])
			}
			if want := strconv.FormatFloat(float64(n*101)/1e6, 'f', 1, 64); m[2] != want {
				t.Errorf("the cut line says %s MB, want %s: %q", m[2], want, lines[cut])
			}
			t.Logf("%s: %d lines stored (%d bytes); lines %d to %d cut", dialect, len(lines), stored, head+1, tail-1)
		})
	}
}
