package local

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/token"
)

// TestRuntimeLogIsScrubbed runs a release that prints a secret in every
// shape, before it is healthy and after, one of them across the point where
// a long line is written in parts, and one in an unfinished last line: the
// service's log file holds none of them.
func TestRuntimeLogIsScrubbed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	secret := token.New(token.HookPrefix)
	const script = `
printf 'TOKEN_%s\n' "$S"
printf '%sx and more\n' "$S"
printf 'split %s' "${S%????????????????????????????}"
printf '%s across two writes\n' "${S#????????????????????????????}"
echo healthy-soon
while [ ! -e go ]; do sleep 0.05; done
printf '%16370s%s after the part boundary\n' '' "$S"
printf 'LIFTOFF_HOOK=%s' "$S"
: > printed
exec sleep 600
`
	rel := shellRelease(t, production, "jobs", config.TypeWorker, script)
	rel.Env = append(rel.Env, "S="+secret)
	if err := h.tg.Deploy(context.Background(), rel); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if err := os.WriteFile(filepath.Join(rel.Dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the release to print after it is healthy", func() bool {
		_, err := os.Stat(filepath.Join(rel.Dir, "printed"))
		return err == nil
	})
	// Stop returns once the release's output is copied and written.
	if err := h.tg.StopInstance(context.Background(), production); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(h.tg.LogPath(production, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if strings.Contains(log, secret) || regexp.MustCompile(token.Pattern).MatchString(log) {
		t.Fatalf("the runtime log holds the secret:\n%s", log)
	}
	for _, want := range []string{
		"TOKEN_lfh_[REDACTED]\n",
		"lfh_[REDACTED]x and more\n",
		"split lfh_[REDACTED] across two writes\n",
		"healthy-soon\n",
		"lfh_[REDACTED] after the part boundary\n",
		"LIFTOFF_HOOK=lfh_[REDACTED]",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the runtime log misses %q:\n%.2000s", want, log)
		}
	}
}

// TestRuntimeLogScrubsSecretVariables: the values of a release's secret
// variables (Release.Scrub) are hidden in the service's log file too.
func TestRuntimeLogScrubsSecretVariables(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	const secret = "db-password-5be1c0"
	rel := shellRelease(t, production, "jobs", config.TypeWorker, `echo "connecting with $DB_PASSWORD"; : > printed; exec sleep 600`)
	rel.Env = append(rel.Env, "DB_PASSWORD="+secret)
	rel.Scrub = redact.New(secret)
	if err := h.tg.Deploy(context.Background(), rel); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	eventually(t, "the release to print", func() bool {
		_, err := os.Stat(filepath.Join(rel.Dir, "printed"))
		return err == nil
	})
	if err := h.tg.StopInstance(context.Background(), production); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(h.tg.LogPath(production, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) || !strings.Contains(string(b), "connecting with [REDACTED]") {
		t.Fatalf("the runtime log:\n%s", b)
	}
}
