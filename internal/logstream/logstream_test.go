package logstream

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/token"
)

var discard = slog.New(slog.DiscardHandler)

// testCap is liftoff serve's default --max-deployment-log-bytes.
const testCap = 10 << 20

// newStreams returns streams over st with the cap testCap, storing what
// they buffer every flushEvery (DefaultFlushEvery when 0).
func newStreams(t *testing.T, st store.LogQueries, flushEvery time.Duration) *Streams {
	t.Helper()
	s, err := New(st, discard, Options{MaxDeploymentBytes: testCap, FlushEvery: flushEvery})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var secretShape = regexp.MustCompile(token.Pattern)

// queued returns the texts a Streams holds, not yet stored.
func queued(s *Streams) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.pending {
		out = append(out, l.Text)
	}
	return out
}

// TestSplitEveryOffset puts a secret at every offset across the place a
// line longer than MaxLine is split, writes it in parts of several sizes,
// and checks that no stored line holds a whole secret and that the lines,
// joined, are the scrubbed input.
func TestSplitEveryOffset(t *testing.T) {
	t.Parallel()
	secret := token.New(token.HookPrefix)
	for off := MaxLine - len(secret) - 1; off <= MaxLine+1; off++ {
		for _, terminated := range []bool{true, false} {
			for _, part := range []int{1 << 30, 5000, 777} {
				s := newStreams(t, nil, 0)
				w := s.Writer("d", "sd")
				in := strings.Repeat("a", off) + secret + strings.Repeat("b", 3*MaxLine/2)
				if terminated {
					in += "\n"
				}
				for rest := in; rest != ""; {
					n := min(part, len(rest))
					_, _ = w.Write([]byte(rest[:n]))
					rest = rest[n:]
				}
				_ = w.Close()
				lines := queued(s)
				for i, l := range lines {
					if len(l) > MaxLine {
						t.Fatalf("secret at %d: line %d has %d bytes, more than MaxLine", off, i, len(l))
					}
					if strings.Contains(l, secret) || secretShape.MatchString(l) {
						t.Fatalf("secret at %d, parts of %d: line %d holds a secret", off, part, i)
					}
				}
				if got, want := strings.Join(lines, ""), redact.Secrets(strings.TrimSuffix(in, "\n")); got != want {
					t.Fatalf("secret at %d, parts of %d: lines joined differ from the scrubbed input", off, part)
				}
			}
		}
	}
}

func TestLinesKeepUTF8(t *testing.T) {
	t.Parallel()
	s := newStreams(t, nil, 0)
	w := s.Writer("d", "sd")
	// A three-byte character across the split, a NUL and an invalid byte.
	in := strings.Repeat("a", MaxLine-1) + "€" + "tail\nnul\x00 and \xff here\n"
	_, _ = w.Write([]byte(in))
	_ = w.Close()
	got := queued(s)
	want := []string{strings.Repeat("a", MaxLine-1), "€tail", "nul\uFFFD and \uFFFD here"}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %.30q, want %.30q", i, got[i], want[i])
		}
	}
}

func TestCutLine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		lines, bytes, limit int64
		want                string
	}{
		{27345, 29_100_000, 10 << 20, "... 27,345 lines (29.1 MB) of output were cut here: the limit is 10 MiB per deployment (--max-deployment-log-bytes) ..."},
		{1, 120, 512 << 10, "... 1 line (120 bytes) of output was cut here: the limit is 512 KiB per deployment (--max-deployment-log-bytes) ..."},
		{1234567, 2_500_000_000, 1 << 30, "... 1,234,567 lines (2.5 GB) of output were cut here: the limit is 1 GiB per deployment (--max-deployment-log-bytes) ..."},
		{999, 1500, 200_000, "... 999 lines (1.5 kB) of output were cut here: the limit is 200,000 bytes per deployment (--max-deployment-log-bytes) ..."},
	} {
		if got := cutLine(c.lines, c.bytes, c.limit); got != c.want {
			t.Errorf("cutLine(%d, %d, %d) =\n%s\nwant\n%s", c.lines, c.bytes, c.limit, got, c.want)
		}
	}
}

func TestWriteAndFollow(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, dialect)
			s := newStreams(t, st, 20*time.Millisecond)
			ctx := context.Background()
			s.Start(ctx)
			defer s.Stop()
			secret := token.New(token.HookPrefix)
			var finished atomic.Bool
			got := make(chan []string, 1)
			go func() {
				var lines []string
				err := follow(ctx, s, followParams{DeploymentID: "d1", Poll: 50 * time.Millisecond,
					Finished: func(context.Context) (bool, error) { return finished.Load(), nil }},
					func(ls []liftoff.LogLine) error {
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

// TestCapKeepsHeadAndTail writes 30 MB through a service's writer, as a
// build printing without end does, with the default cap of 10 MiB, into a
// real store: what is stored stays within the cap, begins with the first
// lines and ends with the last ones, with the cut said exactly between
// them; the deployment's own lines after the cut survive; and a live
// follower sees it all, the cut line included.
func TestCapKeepsHeadAndTail(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, dialect)
			s := newStreams(t, st, 50*time.Millisecond)
			ctx := context.Background()
			s.Start(ctx)
			defer s.Stop()

			var finished atomic.Bool
			followed := make(chan []string, 1)
			go func() {
				var lines []string
				err := follow(ctx, s, followParams{DeploymentID: "d1", Poll: 100 * time.Millisecond,
					Finished: func(context.Context) (bool, error) { return finished.Load(), nil }},
					func(ls []liftoff.LogLine) error {
						for _, l := range ls {
							lines = append(lines, l.Text)
						}
						return nil
					})
				if err != nil {
					t.Error(err)
				}
				followed <- lines
			}()

			deployLog := s.Writer("d1", "")
			deployLog.Printf("==> Building api")
			svc := s.Writer("d1", "sd1")
			const lineLen, total = 100, 300_000 // 30.3 MB with line breaks
			line := func(i int) string { return fmt.Sprintf("line %07d %s", i, strings.Repeat("x", lineLen-13)) }
			var buf []byte
			for i := range total {
				buf = append(buf, line(i)...)
				buf = append(buf, '\n')
				if len(buf) > 32<<10 || i == total-1 {
					_, _ = svc.Write(buf)
					buf = buf[:0]
				}
			}
			_ = svc.Close()
			deployLog.Printf("==> SUCCESS")
			_ = deployLog.Close()
			s.Flush(ctx)
			finished.Store(true)

			var stored []liftoff.LogLine
			for after := int64(0); ; {
				ls, err := st.ListLogs(ctx, store.ListLogsParams{DeploymentID: "d1", AfterID: after, Limit: 5000})
				if err != nil {
					t.Fatal(err)
				}
				if len(ls) == 0 {
					break
				}
				stored = append(stored, ls...)
				after = ls[len(ls)-1].ID
			}
			var bytes int64
			var svcLines []string
			for _, l := range stored {
				bytes += int64(len(l.Text)) + 1
				if l.ServiceDeploymentID == "sd1" {
					svcLines = append(svcLines, l.Text)
				}
			}
			if max := int64(testCap) + 1024; bytes > max {
				t.Errorf("stored %d bytes, more than the cap of %d", bytes, testCap)
			}
			if first, last := stored[0].Text, stored[len(stored)-1].Text; first != "==> Building api" || last != "==> SUCCESS" {
				t.Errorf("the deployment's lines are %q ... %q", first, last)
			}
			// The head, a cut line, the tail.
			cutAt := -1
			for i, l := range svcLines {
				if strings.HasPrefix(l, "... ") {
					cutAt = i
					break
				}
			}
			if cutAt < 1 || cutAt >= len(svcLines)-1 {
				t.Fatalf("no cut line between a head and a tail in %d lines of the service", len(svcLines))
			}
			for i := range cutAt {
				if svcLines[i] != line(i) {
					t.Fatalf("head line %d = %.20q, want line %d", i, svcLines[i], i)
				}
			}
			tail := svcLines[cutAt+1:]
			for i, l := range tail {
				if n := total - len(tail) + i; l != line(n) {
					t.Fatalf("tail line %d = %.20q, want line %d", i, l, n)
				}
			}
			cut := int64(total - cutAt - len(tail))
			want := fmt.Sprintf("... %s lines (%.1f MB) of output were cut here: the limit is 10 MiB per deployment (--max-deployment-log-bytes) ...",
				commas(cut), float64(cut*(lineLen+1))/1e6)
			if svcLines[cutAt] != want {
				t.Errorf("cut line\n%s\nwant\n%s", svcLines[cutAt], want)
			}
			t.Logf("%s: stored %d of %d lines (%d bytes): head %d, tail %d, cut %d", dialect, len(stored), total+2, bytes, cutAt, len(tail), cut)

			got := <-followed
			if len(got) != len(stored) || got[len(got)-1] != "==> SUCCESS" || !strings.Contains(strings.Join(got, "\n"), want) {
				t.Errorf("the follower saw %d lines, want %d with the cut line", len(got), len(stored))
			}
		})
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestWritesNeverWaitForTheStore writes 30 MB while the store takes
// nothing: every Write returns, and what waits in memory stays within the
// cap.
func TestWritesNeverWaitForTheStore(t *testing.T) {
	t.Parallel()
	st := &blockedStore{Store: storetest.Open(t, "sqlite"), release: make(chan struct{})}
	s := newStreams(t, st, 10*time.Millisecond)
	ctx := context.Background()
	s.Start(ctx)
	defer s.Stop()
	defer close(st.release)
	w := s.Writer("d1", "sd1")
	chunk := []byte(strings.Repeat(strings.Repeat("y", 99)+"\n", 1000))
	for range 300 {
		_, _ = w.Write(chunk)
	}
	var held int64
	for _, l := range queued(s) {
		held += int64(len(l)) + 1
	}
	w.mu.Lock()
	held += w.tail.held
	w.mu.Unlock()
	if held > testCap {
		t.Fatalf("%d bytes wait in memory for the store, more than the cap", held)
	}
}

// blockedStore takes no logs until release is closed.
type blockedStore struct {
	store.Store
	release chan struct{}
}

func (b *blockedStore) AppendLogs(ctx context.Context, lines []liftoff.LogLine) error {
	<-b.release
	return b.Store.AppendLogs(ctx, lines)
}

// TestBatchesAreBounded stores a flood in batches of bounded lines and
// bytes: one commit stays short.
func TestBatchesAreBounded(t *testing.T) {
	t.Parallel()
	st := &countingStore{Store: storetest.Open(t, "sqlite")}
	s := newStreams(t, st, 0)
	w := s.Writer("d1", "sd1")
	for range 3000 {
		_, _ = w.Write([]byte(strings.Repeat("z", 1000) + "\n"))
	}
	_, _ = w.Write([]byte(strings.Repeat("short\n", 3000)))
	_ = w.Close()
	s.Flush(context.Background())
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.lines != 6000 {
		t.Fatalf("stored %d lines, want 6000", st.lines)
	}
	if st.maxLines > maxBatchLines || st.maxBytes > maxBatchBytes {
		t.Fatalf("a batch had %d lines and %d bytes; the bounds are %d and %d", st.maxLines, st.maxBytes, maxBatchLines, maxBatchBytes)
	}
}

// TestStoredIsTold: Options.Stored hears every batch stored, its lines
// and bytes, as the store received them.
func TestStoredIsTold(t *testing.T) {
	t.Parallel()
	st := &countingStore{Store: storetest.Open(t, "sqlite")}
	var mu sync.Mutex
	lines, bytes := 0, 0
	s, err := New(st, discard, Options{MaxDeploymentBytes: testCap, Stored: func(n, size int) {
		mu.Lock()
		defer mu.Unlock()
		lines, bytes = lines+n, bytes+size
	}})
	if err != nil {
		t.Fatal(err)
	}
	w := s.Writer("d1", "sd1")
	_, _ = w.Write([]byte(strings.Repeat("0123456789\n", 2500)))
	_ = w.Close()
	s.Flush(context.Background())
	mu.Lock()
	defer mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if lines != 2500 || lines != st.lines || bytes != 25000 {
		t.Fatalf("told %d lines and %d bytes; the store received %d lines of 10 bytes", lines, bytes, st.lines)
	}
}

type countingStore struct {
	store.Store
	mu                        sync.Mutex
	lines, maxLines, maxBytes int
}

func (c *countingStore) AppendLogs(ctx context.Context, lines []liftoff.LogLine) error {
	n := 0
	for _, l := range lines {
		n += len(l.Text)
	}
	c.mu.Lock()
	c.lines += len(lines)
	c.maxLines, c.maxBytes = max(c.maxLines, len(lines)), max(c.maxBytes, n)
	c.mu.Unlock()
	return c.Store.AppendLogs(ctx, lines)
}

var _ io.Writer = (*Writer)(nil)

// followParams select what to follow.
type followParams struct {
	DeploymentID        string
	ServiceDeploymentID string // "" for every line
	// Finished reports whether the deployment has ended; following stops
	// once it has and every line is out.
	Finished func(ctx context.Context) (bool, error)
	// Poll is how often the store is read when this replica stored nothing
	// new (lines written by another replica). Default 1s.
	Poll time.Duration
	// AfterID resumes after the line with this id (an event stream's
	// Last-Event-ID).
	AfterID int64
}

// follow calls emit with every line of a deployment, in order, as they are
// stored, until the deployment has finished and its last lines were emitted,
// or ctx ends: a live reader, as the API's is (internal/deployment), made
// of the store and the signal Await uses.
func follow(ctx context.Context, s *Streams, p followParams, emit func([]liftoff.LogLine) error) error {
	if p.Poll <= 0 {
		p.Poll = time.Second
	}
	after := p.AfterID
	for {
		// Check before reading, so lines stored before the end are read.
		finished, err := p.Finished(ctx)
		if err != nil {
			return err
		}
		changed := s.wait()
		for {
			lines, err := s.store.ListLogs(ctx, store.ListLogsParams{DeploymentID: p.DeploymentID,
				ServiceDeploymentID: p.ServiceDeploymentID, AfterID: after, Limit: 1000})
			if err != nil {
				return err
			}
			if len(lines) == 0 {
				break
			}
			after = lines[len(lines)-1].ID
			if err := emit(lines); err != nil {
				return err
			}
		}
		if finished {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-time.After(p.Poll):
		}
	}
}
