// Package logstream keeps the output of deployments: writers that split it
// into lines, scrub secrets from them (package redact) and store them in
// bounded batches, within a cap per deployment, and a signal (Await) for
// the readers that follow them live (internal/deployment), on this
// replica or any other.
package logstream

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/lifecycle"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// MaxLine bounds a stored line; longer output is split (where no secret
// spans the split).
const MaxLine = 16 << 10

const (
	// MinMaxDeploymentBytes is the smallest cap that still holds a few
	// lines of MaxLine in its head and its tail.
	MinMaxDeploymentBytes = 128 << 10
	// DefaultFlushEvery is Options.FlushEvery's default.
	DefaultFlushEvery = 200 * time.Millisecond
)

// Bounds of one stored batch: one commit stays short however much a build
// prints, so that a hook call queued behind it waits little.
const (
	maxBatchLines = 500
	maxBatchBytes = 256 << 10
)

// Options tune Streams. The cap, an operator's setting, is required:
// liftoff serve passes it from server.Config, where its default lives.
// FlushEvery, the package's own tunable, takes its default when zero.
type Options struct {
	// MaxDeploymentBytes caps the output stored per deployment, all its
	// services together. The head (the cap but its tail: a quarter of it,
	// at most 1 MiB) is stored as it comes; past it each writer keeps its
	// last lines in memory (the tail, shared by all writers) and stores
	// them when it closes, after a line saying what was cut. A line counts
	// its text and its line break, and at least 32 bytes. Required, at
	// least MinMaxDeploymentBytes (liftoff serve
	// --max-deployment-log-bytes).
	MaxDeploymentBytes int64
	// FlushEvery is how often buffered lines are stored. Default 200ms.
	FlushEvery time.Duration
	// Stored, if set, is told each batch of lines stored: how many, and
	// their bytes.
	Stored func(lines, bytes int)
}

// Streams stores and serves deployment output.
type Streams struct {
	store store.LogQueries
	log   *slog.Logger
	opts  Options

	mu      sync.Mutex
	pending []liftoff.LogLine
	budgets map[string]*budget // by deployment, while it has open writers
	changed chan struct{}      // closed and replaced after every stored batch

	flushMu sync.Mutex // one flush at a time keeps lines in order
	loop    lifecycle.Loop
}

var _ lifecycle.Service = (*Streams)(nil)

// New returns the streams over st, or an error when opts cannot work.
// Start it before writing.
func New(st store.LogQueries, log *slog.Logger, opts Options) (*Streams, error) {
	if opts.MaxDeploymentBytes < MinMaxDeploymentBytes {
		return nil, fmt.Errorf("logstream: Options.MaxDeploymentBytes %d must be at least %d (128 KiB)",
			opts.MaxDeploymentBytes, MinMaxDeploymentBytes)
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = DefaultFlushEvery
	}
	return &Streams{store: st, log: log, opts: opts, budgets: make(map[string]*budget),
		changed: make(chan struct{})}, nil
}

// Start flushes buffered lines in the background until Stop; see package
// lifecycle for the contract.
func (s *Streams) Start(ctx context.Context) error {
	return s.loop.Start(func(stop <-chan struct{}) {
		t := time.NewTicker(s.opts.FlushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.Flush(context.WithoutCancel(ctx))
			case <-stop:
				s.Flush(context.WithoutCancel(ctx))
				return
			}
		}
	})
}

// Stop writes what is buffered and stops. It may be called before Start
// (then it writes nothing: Flush does), and more than once.
func (s *Streams) Stop() { s.loop.Stop() }

// Flush stores every buffered line now, in batches of bounded size.
func (s *Streams) Flush(ctx context.Context) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	queued := s.pending
	s.pending = nil
	s.mu.Unlock()
	for len(queued) > 0 {
		n, size := 0, 0
		for n < len(queued) && n < maxBatchLines && (n == 0 || size+len(queued[n].Text) <= maxBatchBytes) {
			size += len(queued[n].Text)
			n++
		}
		batch := queued[:n]
		queued = queued[n:]
		if err := s.store.AppendLogs(ctx, batch); err != nil {
			s.log.Error("store deployment output", "lines", len(batch), "err", err)
		} else if s.opts.Stored != nil {
			s.opts.Stored(n, size)
		}
		s.mu.Lock()
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
}

// queue adds lines to be stored, in order.
func (s *Streams) queue(lines ...liftoff.LogLine) {
	s.mu.Lock()
	s.pending = append(s.pending, lines...)
	s.mu.Unlock()
}

// wait returns a channel closed after the next stored batch.
func (s *Streams) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Writer returns a writer for a deployment's own lines (serviceDeploymentID
// empty) or a service deployment's. Close it when the output ends: that
// stores its kept tail once the deployment's cap was reached.
func (s *Streams) Writer(deploymentID, serviceDeploymentID string) *Writer {
	s.mu.Lock()
	b := s.budgets[deploymentID]
	if b == nil {
		b = newBudget(s.opts.MaxDeploymentBytes)
		s.budgets[deploymentID] = b
	}
	b.writers++
	s.mu.Unlock()
	return &Writer{s: s, b: b, deploymentID: deploymentID, serviceDepID: serviceDeploymentID}
}

// release forgets a deployment's budget once its last writer closed.
func (s *Streams) release(deploymentID string, b *budget) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b.writers--
	if b.writers == 0 && s.budgets[deploymentID] == b {
		delete(s.budgets, deploymentID)
	}
}
