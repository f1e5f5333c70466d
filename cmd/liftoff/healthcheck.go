package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newHealthcheck() *cobra.Command {
	var addr string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck [--addr HOST:PORT]",
		Short: "Exit 0 when the server at --addr answers /healthz with 200, 1 otherwise",
		Long: `GET /healthz of the server listening at --addr (the same flag and LIFTOFF_ADDR
as liftoff serve, so a container's HEALTHCHECK needs no argument) and exit 0
when it answers 200: the process serves and its database answers. Otherwise
print why on stderr and exit 1. An address that listens on every interface
(:8080, 0.0.0.0:8080, [::]:8080) is asked on loopback.`,
		Example: `  liftoff healthcheck
  HEALTHCHECK CMD ["liftoff", "healthcheck"]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, err := healthURL(addr)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("healthcheck: %w", err)
			}
			defer func() { _ = resp.Body.Close() }()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("healthcheck: %s answered %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s", body)
			return err
		},
	}
	cmd.Flags().StringVar(&addr, "addr", defaultAddr, "address liftoff serve's --addr listens on, or the base URL of the server")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}

// defaultAddr is liftoff serve's --addr default.
const defaultAddr = "127.0.0.1:8080"

// healthURL is /healthz of a server listening at addr, or under a base
// URL.
func healthURL(addr string) (string, error) {
	if strings.Contains(addr, "://") {
		return strings.TrimSuffix(addr, "/") + "/healthz", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q must be host:port, e.g. 127.0.0.1:8080, or a URL", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
