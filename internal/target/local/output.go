package local

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/redact"
)

// maxLogBytes caps a service's runtime log file. When a write would pass
// it, the file becomes <name>.1 (replacing the previous one) and a new file
// starts, so a service never holds more than twice this on disk.
const maxLogBytes = 10 << 20

// logFile is a service's runtime log under Config.Dir/logs. Every release
// of the service appends to it (two at once during a redeploy), so writes
// are serialized. It never fails a write: a service must not stop because
// its log cannot be written.
type logFile struct {
	mu     sync.Mutex
	path   string
	f      *os.File // nil after Close or a failed rotation
	size   int64
	closed bool
}

func openLogFile(path string) (*logFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &logFile{path: path, f: f, size: fi.Size()}, nil
}

func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	if l.f == nil || (l.size > 0 && l.size+int64(len(p)) > maxLogBytes) {
		l.rotate()
	}
	if l.f != nil {
		n, _ := l.f.Write(p)
		l.size += int64(n)
	}
	return len(p), nil
}

// rotate moves the full file aside and starts an empty one. Errors leave
// l.f nil; the next write tries again.
func (l *logFile) rotate() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
		_ = os.Rename(l.path, l.path+".1")
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return
	}
	l.f, l.size = f, 0
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// output is where a release's stdout and stderr go: always to the
// service's log file, scrubbed of secrets line by line, and to the
// deployment's log (Release.Log, which scrubs its own) until the release
// is healthy or has failed. Write never fails, so the copy from the
// process's pipe never stops early.
type output struct {
	mu   sync.Mutex
	file *redact.Writer // holds at most a line's unfinished part
	live io.Writer      // nil once detached, or after it failed
	// tail keeps the last lines, scrubbed, for the record of a restart.
	tail *tailBuffer
}

// newOutput returns the output of one release, scrubbed of Liftoff's
// secrets and of the values scrub knows (the release's secret variables).
// Each release scrubs its own stream: two releases of a service write to
// one file during a redeploy, and their unfinished lines must not mix.
func newOutput(file io.Writer, live io.Writer, scrub *redact.Scrubber) *output {
	tail := &tailBuffer{}
	stamped := &stamper{w: file, now: time.Now}
	return &output{file: redact.NewWriter(io.MultiWriter(stamped, tail), scrub), live: live, tail: tail}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.file.Write(p)
	if o.live != nil {
		if _, err := o.live.Write(p); err != nil {
			o.live = nil
		}
	}
	return len(p), nil
}

// finish writes the last unfinished line to the file once the process's
// output has ended.
func (o *output) finish() {
	_ = o.file.Close()
}

// detach stops writes to the deployment's log; when it returns, none is in
// progress, so the caller may close that log.
func (o *output) detach() {
	o.mu.Lock()
	o.live = nil
	o.mu.Unlock()
}

// stampLayout is the time each line of a service's log starts with,
// followed by a space: RFC 3339 in UTC, with milliseconds, of one width.
const stampLayout = "2006-01-02T15:04:05.000Z07:00"

// stamper starts every line it writes with the time it began
// (stampLayout), so that readers can pick the lines since a time. It sees
// one release's stream, whose writes may end in the middle of a line.
type stamper struct {
	w   io.Writer
	now func() time.Time
	mid bool // the last write ended inside a line
}

func (s *stamper) Write(p []byte) (int, error) {
	var b []byte
	for rest := p; len(rest) > 0; {
		if !s.mid {
			b = s.now().UTC().AppendFormat(b, stampLayout)
			b = append(b, ' ')
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			b = append(b, rest...)
			s.mid = true
			break
		}
		b = append(b, rest[:i+1]...)
		rest = rest[i+1:]
		s.mid = false
	}
	if _, err := s.w.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

const (
	// tailLines is how many of its last lines a restart's record keeps.
	tailLines = 20
	// tailLineBytes caps each of them.
	tailLineBytes = 1024
)

// tailBuffer keeps the last tailLines lines written to it.
type tailBuffer struct {
	mu   sync.Mutex
	done []string
	cur  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		part := rest
		if i >= 0 {
			part = rest[:i]
		}
		if room := tailLineBytes - len(t.cur); room > 0 {
			t.cur = append(t.cur, part[:min(room, len(part))]...)
		}
		if i < 0 {
			break
		}
		t.done = append(t.done, string(t.cur))
		if len(t.done) > tailLines {
			t.done = t.done[len(t.done)-tailLines:]
		}
		t.cur = t.cur[:0]
		rest = rest[i+1:]
	}
	return len(p), nil
}

// lines returns the last lines, an unfinished one included.
func (t *tailBuffer) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.done...)
	if len(t.cur) > 0 {
		out = append(out, string(t.cur))
	}
	if len(out) > tailLines {
		out = out[len(out)-tailLines:]
	}
	return out
}
