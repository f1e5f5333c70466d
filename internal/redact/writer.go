package redact

import (
	"bytes"
	"io"
	"sync"
)

// MaxPending bounds the part of a line Writer holds while waiting for its
// end: past it, the line is written in parts, each cut where no secret
// spans the cut.
const MaxPending = 16 << 10

// Writer scrubs a stream on its way to another writer. Lines are written
// whole once their end arrives; a longer run without a line break is written
// in parts of about MaxPending bytes, so that the memory a Writer holds is
// bounded whatever the stream is. Close writes what is left. It is safe for
// concurrent use; the writes to the underlying writer keep the stream's
// order.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	s      *Scrubber
	buf    []byte
	closed bool
}

// NewWriter returns a Writer of s's scrubbing to w (s nil: Liftoff's own
// secrets).
func NewWriter(w io.Writer, s *Scrubber) *Writer {
	return &Writer{w: w, s: s}
}

// Write implements io.Writer. It returns len(p) and the error of the
// underlying writer, if any, without holding p back: what is held is at
// most a line's unfinished part.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, io.ErrClosedPipe
	}
	w.buf = append(w.buf, p...)
	err := w.drain(false)
	return len(p), err
}

// Close writes what is held, scrubbed, and makes later writes fail. It does
// not close the underlying writer.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.drain(true)
}

// drain writes every complete line and, of an unfinished one, the parts
// that cannot hold the beginning of a secret cut by the end of what
// arrived; with final, everything.
func (w *Writer) drain(final bool) error {
	var out []byte
	rest := w.buf
	lookahead := w.s.MaxLen() - 1
	for len(rest) > 0 {
		if i := bytes.LastIndexByte(rest, '\n'); i >= 0 {
			// Complete lines: a secret never spans a line break, so they
			// are scrubbed as one text.
			out = append(out, w.s.String(string(rest[:i+1]))...)
			rest = rest[i+1:]
			continue
		}
		if final {
			out = append(out, w.s.String(string(rest))...)
			rest = nil
			break
		}
		if len(rest) < MaxPending+lookahead {
			break
		}
		cut := w.s.Cut(rest, MaxPending)
		out = append(out, w.s.String(string(rest[:cut]))...)
		rest = rest[cut:]
	}
	// Keep the unfinished part at the start of buf, so that buf does not
	// grow with the stream.
	w.buf = append(w.buf[:0], rest...)
	if len(out) == 0 {
		return nil
	}
	_, err := w.w.Write(out)
	return err
}
