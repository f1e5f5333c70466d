package logstream

import (
	"fmt"
	"strconv"
	"sync"
)

// minLineCost is the least a stored line counts against the cap: a flood
// of empty lines costs rows in the database, not bytes of text.
const minLineCost = 32

// maxTail bounds the tail kept in memory per deployment.
const maxTail = 1 << 20

func lineCost(text string) int64 { return max(int64(len(text))+1, minLineCost) }

// budget is the cap of one deployment's stored output, shared by its
// writers. Until the head is full, lines are stored as they come. Then the
// deployment is cut: each writer keeps its lines in a ring, all rings of
// the deployment together holding at most tail bytes; when they would hold
// more, the oldest line of the largest ring goes. A writer stores its ring
// when it closes. Stored bytes stay within head + tail (and a cut line per
// writer).
type budget struct {
	limit      int64
	head, tail int64

	writers int // open writers, guarded by Streams.mu

	mu     sync.Mutex
	stored int64 // head lines queued or stored
	cut    bool
	held   int64 // bytes in every ring
	rings  []*ring
}

func newBudget(limit int64) *budget {
	tail := min(limit/4, maxTail)
	return &budget{limit: limit, head: limit - tail, tail: tail}
}

// ring is the kept tail of one writer, and what it dropped.
type ring struct {
	lines    []string // oldest first, from lines[start]
	start    int
	held     int64
	cutLines int64
	cutBytes int64 // text and line breaks, as a reader would have seen them
}

func (r *ring) len() int { return len(r.lines) - r.start }

func (r *ring) push(text string) { r.lines = append(r.lines, text) }

func (r *ring) popOldest() string {
	text := r.lines[r.start]
	r.lines[r.start] = ""
	r.start++
	// Compact once half is dead, so the slice does not grow with the stream.
	if r.start > 64 && r.start*2 > len(r.lines) {
		r.lines = append(r.lines[:0], r.lines[r.start:]...)
		r.start = 0
	}
	return text
}

// admit decides for one line of r's writer: true stores it now; false kept
// it in r (the deployment is cut).
func (b *budget) admit(r *ring, text string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	cost := lineCost(text)
	if !b.cut && b.stored+cost <= b.head {
		b.stored += cost
		return true
	}
	b.cut = true
	if !r.inRings(b) {
		b.rings = append(b.rings, r)
	}
	r.push(text)
	r.held += cost
	b.held += cost
	for b.held > b.tail {
		victim := r
		for _, o := range b.rings {
			if o.held > victim.held {
				victim = o
			}
		}
		if victim.len() == 0 {
			break
		}
		dropped := victim.popOldest()
		c := lineCost(dropped)
		victim.held -= c
		b.held -= c
		victim.cutLines++
		victim.cutBytes += int64(len(dropped)) + 1
	}
	return false
}

func (r *ring) inRings(b *budget) bool {
	for _, o := range b.rings {
		if o == r {
			return true
		}
	}
	return false
}

// finish takes r's kept lines out of the budget, preceded by the line that
// says what was cut when anything was.
func (b *budget) finish(r *ring) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, o := range b.rings {
		if o == r {
			b.rings = append(b.rings[:i], b.rings[i+1:]...)
			break
		}
	}
	var out []string
	if r.cutLines > 0 {
		out = append(out, cutLine(r.cutLines, r.cutBytes, b.limit))
	}
	out = append(out, r.lines[r.start:]...)
	b.held -= r.held
	b.stored += r.held
	*r = ring{}
	return out
}

// cutLine says what a writer's output lost to the cap.
func cutLine(lines, bytes, limit int64) string {
	what := "lines (%s) of output were"
	if lines == 1 {
		what = "line (%s) of output was"
	}
	return fmt.Sprintf("... %s "+what+" cut here: the limit is %s per deployment (--max-deployment-log-bytes) ...",
		thousands(lines), decimalSize(bytes), binarySize(limit))
}

// thousands writes n with comma separators: 27,345.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// decimalSize writes a size in SI units with one decimal: 29.1 MB.
func decimalSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}

// binarySize writes a size as the flag would be given: 10 MiB, 512 KiB, or
// bytes when it is no whole number of either.
func binarySize(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return thousands(n) + " bytes"
}
