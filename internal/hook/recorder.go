package hook

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/liftoffhq/liftoff/internal/lifecycle"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Recorder writes hook calls and usage counters in batches, off the path of
// the call: a hook answers as soon as its deployment is stored, and its call
// record follows within FlushEvery. A call recorded while the buffer is full
// is written at once instead, so none is dropped; calls still buffered when
// the process is killed (not stopped) are lost, the deployments they queued
// are not.
type Recorder struct {
	store      store.HookQueries
	log        *slog.Logger
	keep       int
	flushEvery time.Duration
	pruneEvery time.Duration
	// keyWindow is how long idempotency keys are kept (set by the Service
	// that records through this recorder, maybe after Start); 0 keeps them.
	keyWindow atomic.Int64

	calls chan liftoff.HookCall
	flush chan chan struct{}
	loop  lifecycle.Loop
}

var _ lifecycle.Service = (*Recorder)(nil)

// NewRecorder returns a recorder that keeps the newest keep calls per hook
// (DefaultKeepCalls when keep is 0).
func NewRecorder(s store.HookQueries, keep int, log *slog.Logger) *Recorder {
	if keep <= 0 {
		keep = DefaultKeepCalls
	}
	return &Recorder{
		store:      s,
		log:        log,
		keep:       keep,
		flushEvery: 200 * time.Millisecond,
		pruneEvery: time.Minute,
		calls:      make(chan liftoff.HookCall, 4096),
		flush:      make(chan chan struct{}),
	}
}

// Record queues a call.
func (r *Recorder) Record(ctx context.Context, call liftoff.HookCall) {
	select {
	case r.calls <- call:
	default:
		if err := r.store.RecordHookCalls(ctx, []liftoff.HookCall{call}); err != nil {
			r.log.Error("record hook call", "hook_id", call.HookID, "err", err)
		}
	}
}

// Flush writes everything queued so far and returns when it is stored.
func (r *Recorder) Flush(ctx context.Context) {
	ack := make(chan struct{})
	select {
	case r.flush <- ack:
		select {
		case <-ack:
		case <-ctx.Done():
		}
	case <-r.loop.Done():
	case <-ctx.Done():
	}
}

// Start runs the recorder until Stop; see package lifecycle for the
// contract.
func (r *Recorder) Start(ctx context.Context) error {
	return r.loop.Start(func(stop <-chan struct{}) { r.run(context.WithoutCancel(ctx), stop) })
}

// Stop writes what is queued and stops. It may be called before Start, and
// more than once.
func (r *Recorder) Stop() { r.loop.Stop() }

// pruneKeys forgets the idempotency keys older than the window: a key is
// only looked up within it, and distinct keys (one per CI run, say) would
// otherwise pile up for ever.
func (r *Recorder) pruneKeys(ctx context.Context, now time.Time) {
	window := time.Duration(r.keyWindow.Load())
	if window <= 0 {
		return
	}
	if _, err := r.store.DeleteIdempotencyKeysBefore(ctx, store.DeleteIdempotencyKeysBeforeParams{Before: now.Add(-window)}); err != nil {
		r.log.Error("prune idempotency keys", "err", err)
	}
}

func (r *Recorder) run(ctx context.Context, stop <-chan struct{}) {
	ticker := time.NewTicker(r.flushEvery)
	defer ticker.Stop()
	keys := time.NewTicker(r.pruneEvery)
	defer keys.Stop()
	r.pruneKeys(ctx, time.Now())
	var batch []liftoff.HookCall
	lastPrune := map[string]time.Time{}
	write := func() {
		for {
			select {
			case c := <-r.calls:
				batch = append(batch, c)
				continue
			default:
			}
			break
		}
		if len(batch) == 0 {
			return
		}
		if err := r.store.RecordHookCalls(ctx, batch); err != nil {
			r.log.Error("record hook calls", "calls", len(batch), "err", err)
		}
		now := time.Now()
		var prune []string
		for _, c := range batch {
			if now.Sub(lastPrune[c.HookID]) >= r.pruneEvery {
				lastPrune[c.HookID] = now
				prune = append(prune, c.HookID)
			}
		}
		if len(prune) > 0 {
			if err := r.store.PruneHookCalls(ctx, store.PruneHookCallsParams{HookIDs: prune, Keep: r.keep}); err != nil {
				r.log.Error("prune hook calls", "err", err)
			}
		}
		for id, at := range lastPrune {
			if now.Sub(at) > r.pruneEvery {
				delete(lastPrune, id)
			}
		}
		batch = batch[:0]
	}
	for {
		select {
		case <-ticker.C:
			write()
		case now := <-keys.C:
			r.pruneKeys(ctx, now)
		case ack := <-r.flush:
			write()
			close(ack)
		case <-stop:
			write()
			return
		}
	}
}
