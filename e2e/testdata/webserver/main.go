// Command webserver is the web service the end-to-end tests deploy. It
// answers / with the text of version.txt (read at start) and /health with
// 200, or 503 when health.txt says "fail"; /slow?ms=N answers after N ms. On
// SIGTERM it finishes the requests in flight and exits. /env/NAME answers
// the value of the environment variable NAME.
package main

import (
	"context"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	version, _ := os.ReadFile("version.txt")
	health, _ := os.ReadFile("health.txt")
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		if strings.TrimSpace(string(health)) == "fail" {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		_, _ = w.Write(version)
	})
	mux.HandleFunc("/env/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(os.Getenv(strings.TrimPrefix(r.URL.Path, "/env/"))))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(version)
	})
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: mux}
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
