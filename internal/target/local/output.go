package local

import (
	"io"
	"os"
	"path/filepath"
	"sync"

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
}

// newOutput returns the output of one release, scrubbed of Liftoff's
// secrets and of the values scrub knows (the release's secret variables).
// Each release scrubs its own stream: two releases of a service write to
// one file during a redeploy, and their unfinished lines must not mix.
func newOutput(file io.Writer, live io.Writer, scrub *redact.Scrubber) *output {
	return &output{file: redact.NewWriter(file, scrub), live: live}
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
