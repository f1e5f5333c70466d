// Command webserver is the web service the end-to-end tests deploy. It
// answers / with the text of version.txt (read at start) and /health with
// 200, or 503 when health.txt says "fail"; /slow?ms=N answers after N ms. On
// SIGTERM it finishes the requests in flight and exits. /env/NAME answers
// the value of the environment variable NAME; /fetch/NAME answers what GET /
// of the URL in the variable NAME answers (another service); /header/NAME
// the request's header NAME. /started answers the time
// the process started, in nanoseconds: it tells processes apart, even in
// a sandbox's PID namespace. /print/NAME prints "NAME=<its value>" on
// stdout and /say?text=T prints T. /crash?code=N answers, then exits with
// status N. When crash.txt holds a status, it exits with it after
// answering its first healthy /health: a release that always crashes once
// up. It listens on 127.0.0.1:$PORT, or on $WEBSERVER_HOST:$PORT when
// that is set (0.0.0.0 in a container, whose published port reaches its
// network interface, not its loopback). /data/put and /data/get store and
// read a value in $DATABASE_URL's PostgreSQL and $REDIS_URL's Redis
// (data.go).
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	version, _ := os.ReadFile("version.txt")
	health, _ := os.ReadFile("health.txt")
	crash, err := os.ReadFile("crash.txt")
	crashCode := -1
	if err == nil {
		crashCode, _ = strconv.Atoi(strings.TrimSpace(string(crash)))
	}
	var crashOnce sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		if strings.TrimSpace(string(health)) == "fail" {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
		if crashCode >= 0 {
			crashOnce.Do(func() { exitAfterAnswer(w, crashCode) })
		}
	})
	started := strconv.FormatInt(time.Now().UnixNano(), 10)
	mux.HandleFunc("/started", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(started))
	})
	mux.HandleFunc("/print/", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/print/")
		fmt.Printf("%s=%s\n", name, os.Getenv(name))
		_, _ = w.Write([]byte("printed"))
	})
	mux.HandleFunc("/say", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.URL.Query().Get("text"))
		_, _ = w.Write([]byte("said"))
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil {
			http.Error(w, "give ?code=N", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte("crashing with status " + strconv.Itoa(code)))
		exitAfterAnswer(w, code)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		_, _ = w.Write(version)
	})
	mux.HandleFunc("/env/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(os.Getenv(strings.TrimPrefix(r.URL.Path, "/env/"))))
	})
	mux.HandleFunc("/header/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Header.Get(strings.TrimPrefix(r.URL.Path, "/header/"))))
	})
	mux.HandleFunc("/fetch/", func(w http.ResponseWriter, r *http.Request) {
		// GET / of the URL in the named variable: another service's.
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get(os.Getenv(strings.TrimPrefix(r.URL.Path, "/fetch/")) + "/")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	})
	dataHandlers(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(version)
	})
	host := os.Getenv("WEBSERVER_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	srv := &http.Server{Addr: host + ":" + os.Getenv("PORT"), Handler: mux}
	go func() {
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			os.Exit(1)
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// exitAfterAnswer sends what the handler wrote, then exits with code once
// the answer had time to leave.
func exitAfterAnswer(w http.ResponseWriter, code int) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		os.Exit(code)
	}()
}
