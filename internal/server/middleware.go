package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/clientaddr"
	"github.com/liftoffhq/liftoff/internal/redact"
)

// statusWriter remembers the status and size of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Flush lets streaming answers (log follow) through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog logs one line per request. The path is logged escaped with
// anything shaped like a secret replaced (api.RedactPath), and neither the
// query string nor any header is logged, so no secret reaches a log line.
// remote is the client address as the API sees it (behind trusted proxies,
// the client they name), the one hook call records and limits use.
func accessLog(log *slog.Logger, clients *clientaddr.Resolver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		log.LogAttrs(r.Context(), slog.LevelInfo, "http",
			slog.String("method", redact.Lookalikes(r.Method)),
			slog.String("path", logPath(r)),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", clients.Client(r)),
		)
	})
}

// maxLoggedPath bounds the path in a log line: nobody reads more, and a
// caller should not decide how large Liftoff's log lines are.
const maxLoggedPath = 512

// logPath is the request's path as a log line shows it: escaped, with
// anything shaped like a secret redacted, then cut to maxLoggedPath bytes
// with its length said.
func logPath(r *http.Request) string {
	p := api.RedactPath(r.URL.EscapedPath())
	if len(p) > maxLoggedPath {
		p = fmt.Sprintf("%s…(%d bytes)", p[:maxLoggedPath], len(p))
	}
	return p
}

// recoverPanics turns a panic in a handler into a logged 500.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				id := cuid.New()
				log.Error("panic", "error_id", id, "method", redact.Lookalikes(r.Method), "path", logPath(r),
					"panic", redact.Lookalikes(fmt.Sprint(p)))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"error":"There was an unexpected error; it was logged with id ` + id + `","errorCode":"INTERNAL","errorId":"` + id + `"}` + "\n"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
