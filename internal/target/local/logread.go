package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/target"
)

const (
	// logPoll is how often a followed log is checked for new lines.
	logPoll = 250 * time.Millisecond
	// logBatch bounds the lines of one call of a reader's emit.
	logBatch = 500
	// maxLogLine bounds a line a reader returns; longer ones are cut.
	maxLogLine = 64 << 10
)

// LogLine is a line of a service's log.
type LogLine struct {
	// Time is when the line was written; zero for a line written before
	// lines had times.
	Time time.Time
	Text string
}

// ErrNoLog is returned by ReadLog for a service that has no log on this
// node: it never ran here.
var ErrNoLog = errors.New("no log on this node")

// ReadLogParams are the arguments of ReadLog.
type ReadLogParams struct {
	// Since: only lines written at or after it (zero: every line kept).
	Since time.Time
	// Follow: once the lines written so far are read, wait for new ones
	// until ctx ends.
	Follow bool
}

// ReadLog reads a service's log on this node (the rotated part, then the
// current file; see LogPath) and calls emit with batches of lines, oldest
// first. With p.Follow it then waits for more (checking every logPoll,
// across rotations) until ctx ends or emit fails, and returns nil when ctx
// ended. ErrNoLog when the service never wrote a log here.
func (t *Target) ReadLog(ctx context.Context, inst target.Instance, service string, p ReadLogParams, emit func([]LogLine) error) error {
	path := t.LogPath(inst, service)
	_, errOld := os.Stat(path + ".1")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && errOld != nil {
		return ErrNoLog
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read the service's log: %w", err)
	}
	lr := &logReader{since: p.Since, emit: emit}
	if errOld == nil {
		old, err := os.Open(path + ".1")
		if err == nil {
			err = lr.readAll(old, true)
			old.Close()
		}
		if err != nil {
			if f != nil {
				f.Close()
			}
			return err
		}
	}
	if f != nil {
		defer func() { f.Close() }()
		if err := lr.readAll(f, !p.Follow); err != nil {
			return err
		}
	}
	if !p.Follow {
		return nil
	}
	tick := time.NewTicker(logPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if f == nil {
			if f, err = os.Open(path); err != nil {
				continue // not written yet
			}
		} else if rotated(f, path) {
			// The rest of the part rotated away, then the new file.
			if err := lr.readAll(f, true); err != nil {
				return err
			}
			f.Close()
			lr.partial = ""
			if f, err = os.Open(path); err != nil {
				f = nil
				continue
			}
		}
		if err := lr.readAll(f, false); err != nil {
			return err
		}
	}
}

// rotated reports whether path is no longer the file f reads.
func rotated(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return true
	}
	b, err := os.Stat(path)
	return err == nil && !os.SameFile(a, b)
}

// logReader turns what a log file holds into lines, filtered by time.
type logReader struct {
	since   time.Time
	emit    func([]LogLine) error
	partial string // an unfinished last line, kept until it ends
}

// readAll reads f to its end; with final, an unfinished last line counts
// as a line.
func (lr *logReader) readAll(f *os.File, final bool) error {
	br := bufio.NewReaderSize(f, 64<<10)
	var batch []LogLine
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := lr.emit(batch)
		batch = nil
		return err
	}
	for {
		s, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the service's log: %w", err)
		}
		s = lr.partial + s
		lr.partial = ""
		if strings.HasSuffix(s, "\n") || (final && s != "") {
			if l, ok := lr.line(strings.TrimSuffix(s, "\n")); ok {
				batch = append(batch, l)
			}
		} else {
			lr.partial = s[:min(len(s), maxLogLine)]
		}
		if len(batch) >= logBatch {
			if err := flush(); err != nil {
				return err
			}
		}
		if err != nil { // EOF
			return flush()
		}
	}
}

// line splits a line of the file into its time and text, and says whether
// it passes the since filter.
func (lr *logReader) line(s string) (LogLine, bool) {
	s = s[:min(len(s), maxLogLine)]
	var l LogLine
	if stamp, text, ok := strings.Cut(s, " "); ok {
		if at, err := time.Parse(time.RFC3339, stamp); err == nil {
			l.Time, s = at, text
		}
	}
	l.Text = s
	if !lr.since.IsZero() && (l.Time.IsZero() || l.Time.Before(lr.since)) {
		return l, false
	}
	return l, true
}
