// Package logstream keeps the output of deployments: writers that split it
// into lines, scrub secrets from them and store them in batches, and
// followers that read them back live, on this replica or any other.
package logstream

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/store"
)

// MaxLine bounds a stored line; longer output is split.
const MaxLine = 16 << 10

// secretPattern matches the secrets Liftoff issues: deploy hook secrets and
// API keys. Output never stores them.
var secretPattern = regexp.MustCompile(`\b(lf[hk]_)[a-z2-7]{52}\b`)

// Scrub replaces every Liftoff secret in s.
func Scrub(s string) string {
	if !bytes.Contains([]byte(s), []byte("lf")) {
		return s
	}
	return secretPattern.ReplaceAllString(s, "${1}[REDACTED]")
}

// Streams stores and serves deployment output.
type Streams struct {
	store      store.Store
	log        *slog.Logger
	flushEvery time.Duration

	mu      sync.Mutex
	pending []store.LogLine
	changed chan struct{} // closed and replaced after every stored batch

	flushMu sync.Mutex // one flush at a time keeps lines in order
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// New returns the streams over st. Start it before writing.
func New(st store.Store, log *slog.Logger) *Streams {
	return &Streams{store: st, log: log, flushEvery: 200 * time.Millisecond, changed: make(chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Start flushes buffered lines in the background until Stop.
func (s *Streams) Start(ctx context.Context) {
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.flushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.Flush(context.WithoutCancel(ctx))
			case <-s.stop:
				s.Flush(context.WithoutCancel(ctx))
				return
			}
		}
	}()
}

// Stop writes what is buffered and stops.
func (s *Streams) Stop() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

// Flush stores every buffered line now.
func (s *Streams) Flush(ctx context.Context) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := s.store.AppendLogs(ctx, batch); err != nil {
		s.log.Error("store deployment output", "lines", len(batch), "err", err)
	}
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *Streams) add(l store.LogLine) {
	s.mu.Lock()
	s.pending = append(s.pending, l)
	s.mu.Unlock()
}

// wait returns a channel closed after the next stored batch.
func (s *Streams) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Writer is the output of one deployment, or of one of its services.
type Writer struct {
	s            *Streams
	deploymentID string
	serviceDepID string

	mu  sync.Mutex
	buf []byte
}

// Writer returns a writer for a deployment's own lines (serviceDeploymentID
// empty) or a service deployment's.
func (s *Streams) Writer(deploymentID, serviceDeploymentID string) *Writer {
	return &Writer{s: s, deploymentID: deploymentID, serviceDepID: serviceDeploymentID}
}

// Write implements io.Writer: complete lines are scrubbed and queued.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 || i > MaxLine {
			// No complete line, or one too long to keep whole: split it.
			if len(w.buf) >= MaxLine {
				w.emit(w.buf[:MaxLine])
				w.buf = append(w.buf[:0], w.buf[MaxLine:]...)
				continue
			}
			return len(p), nil
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

// Printf writes one formatted line.
func (w *Writer) Printf(format string, args ...any) {
	_, _ = w.Write([]byte(sprintf(format, args...) + "\n"))
}

// Close queues a last unterminated line.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
	return nil
}

func (w *Writer) emit(line []byte) {
	// A carriage return redraws the line (progress bars): keep what a
	// terminal would show, the last part.
	line = bytes.TrimRight(line, "\r")
	if i := bytes.LastIndexByte(line, '\r'); i >= 0 {
		line = line[i+1:]
	}
	text := Scrub(string(line))
	w.s.add(store.LogLine{DeploymentID: w.deploymentID, ServiceDeploymentID: w.serviceDepID, At: store.Now(), Text: text})
}
