package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/liftoffhq/liftoff/internal/github/report"
)

// GitHubReporter makes the sink that tells GitHub how deployments went,
// from --github-token, or --github-app-id and --github-app-key-file, and
// --github-api-url; nil (and no error) when neither a token nor an App is
// set. publicURL is the dashboard's base (--public-url, or its default),
// which statuses link to.
//
// It is meant to be one of notify's sinks: its Deliver is a notify Sink's
// (errors wrapping report.ErrPermanent are given up, the others retried,
// no sooner than their RetryAfter).
func (c Config) GitHubReporter(publicURL string, log *slog.Logger) (*report.Reporter, error) {
	if c.GitHubToken == "" && c.GitHubAppID == 0 && c.GitHubAppKeyFile == "" {
		if c.GitHubAPIURL != "" {
			return nil, fmt.Errorf("--github-api-url %q needs --github-token, or --github-app-id and --github-app-key-file", c.GitHubAPIURL)
		}
		return nil, nil
	}
	if c.GitHubToken != "" && (c.GitHubAppID != 0 || c.GitHubAppKeyFile != "") {
		return nil, fmt.Errorf("give --github-token or --github-app-id with --github-app-key-file, not both")
	}
	cfg := report.Config{BaseURL: c.GitHubAPIURL, Token: c.GitHubToken, AppID: c.GitHubAppID, PublicURL: publicURL, Log: log,
		HTTPClient: &http.Client{Timeout: 30 * time.Second}}
	if c.GitHubToken == "" {
		if c.GitHubAppID <= 0 || c.GitHubAppKeyFile == "" {
			return nil, fmt.Errorf("a GitHub App needs both --github-app-id (a positive number) and --github-app-key-file")
		}
		key, err := os.ReadFile(c.GitHubAppKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--github-app-key-file: %w", err)
		}
		cfg.AppPrivateKey = key
	}
	r, err := report.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("github reporting: %w", err)
	}
	return r, nil
}
