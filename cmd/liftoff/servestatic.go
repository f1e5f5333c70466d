package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/liftoffhq/liftoff/internal/staticsite"
)

func newServeStatic() *cobra.Command {
	var dir, addr string
	var spa bool
	cmd := &cobra.Command{
		Use:   "serve-static --dir DIR [--addr :8080] [--spa]",
		Short: "Serve a static site's directory over HTTP, as the local target's proxy serves it",
		Long: `Serve the files of --dir over plain HTTP at --addr, the way Liftoff's proxy
serves a static service: a directory's index.html, a redirect to a
directory's trailing slash, a root 404.html as the not-found page, and with
--spa index.html for paths without a file or an extension. Nothing outside
--dir is served, through ".." or a symbolic link.

It is what the container image of a static site runs on a Kubernetes target
(the site at /site, this binary at /liftoff). SIGTERM or SIGINT stops it
after the requests in flight, within 10 seconds.`,
		Example: `  liftoff serve-static --dir ./dist --addr 127.0.0.1:8081 --spa`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveStatic(cmd.Context(), dir, addr, spa, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory of the site (required)")
	cmd.Flags().StringVar(&addr, "addr", ":8080", "address to listen on")
	cmd.Flags().BoolVar(&spa, "spa", false, "answer paths without a file and without an extension with /index.html (a single-page app)")
	return cmd
}

// staticShutdown bounds how long serve-static waits for requests in
// flight once told to stop: Kubernetes' default grace period is 30s.
const staticShutdown = 10 * time.Second

// serveStatic serves dir at addr until ctx ends, saying on log where it
// listens.
func serveStatic(ctx context.Context, dir, addr string, spa bool, log io.Writer) error {
	if dir == "" {
		return errors.New("--dir is required: the directory of the site to serve")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("--dir %s is not a directory: name the directory the site's files are in", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("--dir %s: %w", dir, err)
	}
	defer func() { _ = root.Close() }()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", addr, err)
	}
	srv := &http.Server{Handler: staticsite.New(root, spa), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(log, "serving %s at %s\n", dir, l.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), staticShutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stop serving: %w", err)
	}
	return nil
}
