package logstream

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/redact"
)

// Writer is the output of one deployment, or of one of its services. It
// never blocks on the store: lines are queued in memory (within the
// deployment's cap) and stored by the Streams' flusher.
type Writer struct {
	s            *Streams
	b            *budget
	deploymentID string
	serviceDepID string
	scrub        *redact.Scrubber // nil: Liftoff's own secrets

	mu     sync.Mutex
	buf    []byte
	tail   ring
	closed bool
}

// Write implements io.Writer: complete lines are scrubbed and queued; a
// line longer than MaxLine is split where no secret spans the split.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	w.drain(false)
	return len(p), nil
}

// Scrub makes the writer hide the values sc knows, as well as Liftoff's
// own secrets, in the lines written from now on (the values of a
// service's secret variables, once they are resolved).
func (w *Writer) Scrub(sc *redact.Scrubber) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.scrub = sc
}

// Printf writes one formatted line.
func (w *Writer) Printf(format string, args ...any) {
	_, _ = w.Write([]byte(fmt.Sprintf(format, args...) + "\n"))
}

// Close queues a last unterminated line and, when the deployment's output
// was cut, the line saying what was cut and the tail this writer kept.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	w.drain(true)
	w.buf = nil
	if kept := w.b.finish(&w.tail); len(kept) > 0 {
		lines := make([]liftoff.LogLine, len(kept))
		for i, text := range kept {
			lines[i] = w.line(text)
		}
		w.s.queue(lines...)
	}
	w.s.release(w.deploymentID, w.b)
	return nil
}

// drain emits the complete lines in buf, and parts of a line longer than
// MaxLine that can no longer change: cut at MaxLine, or before a secret that
// would span that, once MaxLen-1 bytes past the cut have arrived (a secret
// never spans a line break, so a complete line needs no look ahead). With
// final, it emits everything.
func (w *Writer) drain(final bool) {
	rest := w.buf
	lookahead := w.scrub.MaxLen() - 1
	for len(rest) > 0 {
		end := bytes.IndexByte(rest, '\n')
		complete := end >= 0
		if !complete {
			end = len(rest)
		}
		if end <= MaxLine && (complete || final) {
			w.emit(rest[:end])
			rest = rest[min(end+1, len(rest)):]
			continue
		}
		if end <= MaxLine || (!complete && !final && len(rest) < MaxLine+lookahead) {
			break // wait for the line's end, or for enough to cut it safely
		}
		cut := w.scrub.Cut(rest[:end], MaxLine)
		if cut == MaxLine {
			cut = runeStart(rest, cut)
		}
		w.emit(rest[:cut])
		rest = rest[cut:]
	}
	w.buf = append(w.buf[:0], rest...)
	if cap(w.buf) > 4*(MaxLine+lookahead) {
		// A large write left a large array behind: let it go.
		w.buf = append([]byte(nil), w.buf...)
	}
}

// emit scrubs one line and stores it, or keeps it in the tail once the
// deployment's output is cut.
func (w *Writer) emit(raw []byte) {
	// A carriage return redraws the line (progress bars): keep what a
	// terminal would show, the last part.
	raw = bytes.TrimRight(raw, "\r")
	if i := bytes.LastIndexByte(raw, '\r'); i >= 0 {
		raw = raw[i+1:]
	}
	// PostgreSQL text holds neither NUL nor invalid UTF-8: one such byte
	// would lose the whole batch.
	text := strings.ToValidUTF8(strings.ReplaceAll(w.scrub.String(string(raw)), "\x00", "\uFFFD"), "\uFFFD")
	// Scrubbing exact values can lengthen a line a little; keep the bound.
	for len(text) > MaxLine {
		cut := runeStart([]byte(text[:MaxLine+1]), MaxLine)
		w.keep(text[:cut])
		text = text[cut:]
	}
	w.keep(text)
}

// runeStart moves a cut back to the start of the UTF-8 character it would
// split, if any (a few bytes at most).
func runeStart(b []byte, cut int) int {
	for i := cut; i > 0 && i > cut-utf8.UTFMax && i < len(b); i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return cut
}

func (w *Writer) keep(text string) {
	if w.b.admit(&w.tail, text) {
		w.s.queue(w.line(text))
	}
}

func (w *Writer) line(text string) liftoff.LogLine {
	return liftoff.LogLine{DeploymentID: w.deploymentID, ServiceDeploymentID: w.serviceDepID, At: time.Now(), Text: text}
}
