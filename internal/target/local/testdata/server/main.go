// Command server is the service the local target's tests deploy. It
// listens on 127.0.0.1:$PORT and is configured by its environment:
//
//	HOST           the address to listen on (default 127.0.0.1; 0.0.0.0 in
//	               a container)
//	BODY           what / answers (default "ok")
//	HEALTH_STATUS  the status /health answers (default 200)
//	HEALTH_FILE    if set, /health answers the status this file holds
//	PGID_FILE      if set, its process group id is written there at start
//	ON_TERM        "exit": exit at once on SIGTERM, dropping requests in
//	               flight; otherwise stop accepting and finish them
//
// Endpoints: / (BODY), /health, /count (requests to / so far), /slow?ms=N,
// /hold?file=F (answers "started", then "done" once F exists), /headers
// (the request's Host, X-Forwarded-* headers and any header with an
// underscore in its name), /env?name=N, and /ws (an
// upgrade that echoes what it gets), /crash?code=N (prints "crashing with
// N" and exits with status N at once).
package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run() error {
	body := os.Getenv("BODY")
	if body == "" {
		body = "ok"
	}
	if f := os.Getenv("PGID_FILE"); f != "" {
		if err := os.WriteFile(f, []byte(strconv.Itoa(syscall.Getpgrp())), 0o644); err != nil {
			return err
		}
	}
	var count atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		count.Add(1)
		fmt.Fprint(w, body)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		status := 200
		if s := os.Getenv("HEALTH_STATUS"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		if f := os.Getenv("HEALTH_FILE"); f != "" {
			b, _ := os.ReadFile(f)
			status, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		w.WriteHeader(status)
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, count.Load())
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprint(w, body)
	})
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "started")
		w.(http.Flusher).Flush()
		for {
			if _, err := os.Stat(r.URL.Query().Get("file")); err == nil {
				break
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		fmt.Fprintln(w, "done", body)
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Host=%s\n", r.Host)
		for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "Forwarded"} {
			fmt.Fprintf(w, "%s=%s\n", h, r.Header.Get(h))
		}
		for _, h := range slices.Sorted(maps.Keys(r.Header)) {
			if strings.Contains(h, "_") {
				fmt.Fprintf(w, "%s=%s\n", h, r.Header.Get(h))
			}
		}
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		fmt.Println("crashing with", code)
		os.Exit(code)
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.URL.Query().Get("name")))
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		echo(rw)
	})

	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, os.Getenv("PORT")))
	if err != nil {
		return err
	}
	fmt.Println("listening on", ln.Addr())
	srv := &http.Server{Handler: mux}
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	shutDown := make(chan struct{})
	go func() {
		defer close(shutDown)
		<-terms
		if os.Getenv("ON_TERM") == "exit" {
			os.Exit(0)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	// Serve returns when Shutdown starts; wait for it to finish the
	// requests in flight.
	<-shutDown
	return nil
}

// echo copies lines back until the connection closes.
func echo(rw *bufio.ReadWriter) {
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		rw.WriteString(line)
		rw.Flush()
	}
}
