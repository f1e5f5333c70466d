package logstream

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/token"
)

func TestScrub(t *testing.T) {
	t.Parallel()
	hook, key := token.New(token.HookPrefix), token.New(token.APIKeyPrefix)
	for _, c := range []struct{ in, want string }{
		{"curl https://x/api/deploy-hook/1/" + hook + "?force=1", "curl https://x/api/deploy-hook/1/lfh_[REDACTED]?force=1"},
		{"LIFTOFF_API_KEY=" + key, "LIFTOFF_API_KEY=lfk_[REDACTED]"},
		{"two " + hook + " " + hook, "two lfh_[REDACTED] lfh_[REDACTED]"},
		{"lfh_short is not a secret", "lfh_short is not a secret"},
		{"plain", "plain"},
	} {
		if got := Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWriteAndFollow(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, dialect)
			s := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
			s.flushEvery = 20 * time.Millisecond
			ctx := context.Background()
			s.Start(ctx)
			defer s.Stop()
			secret := token.New(token.HookPrefix)
			var finished atomic.Bool
			got := make(chan []string, 1)
			go func() {
				var lines []string
				err := s.Follow(ctx, FollowParams{DeploymentID: "d1", Poll: 50 * time.Millisecond,
					Finished: func(context.Context) (bool, error) { return finished.Load(), nil }},
					func(ls []store.LogLine) error {
						for _, l := range ls {
							lines = append(lines, l.Text)
						}
						return nil
					})
				if err != nil {
					t.Error(err)
				}
				got <- lines
			}()
			w := s.Writer("d1", "sd1")
			other := s.Writer("d2", "sdx")
			_, _ = w.Write([]byte("first line\nsecond "))
			_, _ = other.Write([]byte("not ours\n"))
			_, _ = w.Write([]byte("half\r\n10%\r50%\r100%\nsecret " + secret + "\n" + strings.Repeat("x", MaxLine+10) + "\nno newline"))
			_ = w.Close()
			s.Flush(ctx)
			finished.Store(true)
			lines := <-got
			want := []string{"first line", "second half", "100%", "secret lfh_[REDACTED]", strings.Repeat("x", MaxLine), strings.Repeat("x", 10), "no newline"}
			if len(lines) != len(want) {
				t.Fatalf("followed %d lines, want %d", len(lines), len(want))
			}
			for i := range want {
				if lines[i] != want[i] {
					t.Fatalf("line %d = %.40q, want %.40q", i, lines[i], want[i])
				}
			}
		})
	}
}
