package api

import (
	"errors"
	"io"
	"sync/atomic"

	"github.com/liftoffhq/liftoff/internal/github"
)

// webhookBodyBudget bounds the bytes that GitHub webhook bodies may hold
// in memory at once, all calls together. A body is read before its
// signature can be checked, so without a bound anyone could make Liftoff
// hold github.MaxBodySize per connection they open. Real deliveries are a
// few KiB; the budget holds two of the largest bodies GitHub may send (a
// 25 MB payload, form-encoded).
const webhookBodyBudget = 2 * github.MaxBodySize

// errOverBudget is readBudgeted's answer when the budget is spent.
var errOverBudget = errors.New("over the budget of bodies held at once")

// byteBudget counts the bytes held by bodies being read. It never waits:
// a reader that would pass the limit gives up, so readers holding part of
// the budget never wait on each other.
type byteBudget struct {
	limit int64
	held  atomic.Int64
}

// take reserves n bytes, or reports that they would pass the limit.
func (b *byteBudget) take(n int64) bool {
	for {
		held := b.held.Load()
		if held+n > b.limit {
			return false
		}
		if b.held.CompareAndSwap(held, held+n) {
			return true
		}
	}
}

func (b *byteBudget) give(n int64) { b.held.Add(-n) }

// readBudgeted reads r to its end, or to limit bytes plus one, reserving
// from b every byte of buffer it allocates before allocating it. The caller
// calls release once it no longer needs body, also when err is not nil.
// (A buffer outgrown is garbage the moment it is copied; it is not counted.)
func readBudgeted(r io.Reader, limit int64, b *byteBudget) (body []byte, release func(), err error) {
	var held int64
	release = func() { b.give(held) }
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, release, nil
			}
			grow := min(int64(max(cap(buf), 4<<10)), limit+1-int64(cap(buf)))
			if !b.take(grow) {
				return nil, release, errOverBudget
			}
			held += grow
			bigger := make([]byte, len(buf), int64(cap(buf))+grow)
			copy(bigger, buf)
			buf = bigger
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, release, nil
		}
		if err != nil {
			return buf, release, err
		}
	}
}
