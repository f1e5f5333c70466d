package steps

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// outputWriter passes writes to w until one fails, then drops everything:
// a broken log must not fail a build, and the step's pipe must keep being
// read or the step would block on a full pipe.
type outputWriter struct {
	w   io.Writer
	err error // the first write error; after it, output is dropped
}

func (o *outputWriter) Write(p []byte) (int, error) {
	if o.err != nil {
		return len(p), nil
	}
	n, err := o.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		o.err = err
	}
	return len(p), nil
}

// drainPoll is how long copyOutput, once told to finish, waits for more
// data in the pipe before it stops.
const drainPoll = 50 * time.Millisecond

// copyOutput copies src to dst until EOF, through a fixed buffer, so a
// step's output is never held whole in memory. A read deadline (set by
// waitOutput) tells it to finish: from then on it reads only what is already
// in the pipe, so output written before the step's processes died is not
// lost even when dst is slow.
func copyOutput(dst io.Writer, src *os.File) {
	buf := make([]byte, 32<<10)
	finishing := false
	for {
		if finishing {
			_ = src.SetReadDeadline(time.Now().Add(drainPoll))
		}
		n, err := src.Read(buf)
		if n > 0 {
			_, _ = dst.Write(buf[:n])
		}
		switch {
		case err == nil:
		case !finishing && errors.Is(err, os.ErrDeadlineExceeded):
			finishing = true
		default:
			return // EOF, or nothing more arrived while finishing
		}
	}
}

// headerCommand is a command as shown in its step's header line: as
// written, or quoted if it spans lines or holds control characters, so the
// header stays one line.
func headerCommand(cmd string) string {
	if strings.ContainsFunc(cmd, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
		return strconv.Quote(cmd)
	}
	return cmd
}
