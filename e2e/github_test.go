package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/github"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

const webhookSecret = "e2e-webhook-secret"

// Placeholders of internal/github/testdata (see its README).
const (
	fixtureHeadSHA  = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
	fixtureMergeSHA = "ad2d5075e2c1c95e8c82c8360b2c9f2c5100d127"
)

// webhookResult is the answer of the webhook endpoint.
type webhookResult struct {
	Queued []struct {
		DeploymentID string `json:"deploymentId"`
		PRNumber     *int   `json:"prNumber"`
	} `json:"queued"`
	TornDown []struct{ PRNumber int } `json:"tornDown"`
	Ignored  []string                 `json:"ignored"`
}

// sendWebhook posts a recorded payload, its SHAs rewritten, signed with
// secret (unsigned when empty), and returns the status and answer.
func (f *fixture) sendWebhook(event, fixture, secret string, rewrite map[string]string) (int, webhookResult, string) {
	f.t.Helper()
	raw, err := os.ReadFile("../internal/github/testdata/" + fixture)
	if err != nil {
		f.t.Fatal(err)
	}
	body := string(raw)
	for old, repl := range rewrite {
		body = strings.ReplaceAll(body, old, repl)
	}
	req, _ := http.NewRequest("POST", f.srv.url()+"/api/github/webhook", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	f.deliveries++
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", f.deliveries))
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", github.Sign([]byte(secret), []byte(body)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	answer, _ := io.ReadAll(resp.Body)
	var res webhookResult
	_ = json.Unmarshal(answer, &res)
	return resp.StatusCode, res, string(answer)
}

// TestGitHubWebhookLifecycle: a signed pull_request opened deploys the PR's
// preview; a bad or missing signature is refused with 401 and queues
// nothing; a PR whose changes miss the filter's watchPaths is skipped;
// closed (merged) tears the preview down; a push to main deploys production.
func TestGitHubWebhookLifecycle(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dialect)
			ctx := context.Background()
			head := f.branch("feature/checkout", map[string]string{"api/version.txt": "checkout"})
			pr := map[string]string{fixtureHeadSHA: head}

			// Refused calls queue nothing.
			before := len(f.deployments())
			for name, secret := range map[string]string{"wrong secret": "not-the-secret", "unsigned": ""} {
				status, _, body := f.sendWebhook("pull_request", "pull_request.opened.json", secret, pr)
				if status != 401 || !strings.Contains(body, "UNAUTHORIZED") {
					t.Fatalf("%s: %d %s", name, status, body)
				}
			}
			if n := len(f.deployments()); n != before {
				t.Fatalf("refused webhooks queued %d deployments", n-before)
			}
			all := strings.Join(f.logs.all(), "\n")
			if !strings.Contains(all, "github webhook refused") || strings.Contains(all, "Checkout: one-page flow") {
				t.Fatal("a refused webhook was not logged, or its body was")
			}
			if status, _, body := f.sendWebhook("ping", "ping.json", webhookSecret, nil); status != 200 || !strings.Contains(body, "pong") {
				t.Fatalf("ping: %d %s", status, body)
			}

			// opened → the preview of PR 42 deploys.
			status, res, body := f.sendWebhook("pull_request", "pull_request.opened.json", webhookSecret, pr)
			if status != 202 || len(res.Queued) != 1 || res.Queued[0].PRNumber == nil || *res.Queued[0].PRNumber != 42 {
				t.Fatalf("opened: %d %s", status, body)
			}
			d := f.wait(res.Queued[0].DeploymentID)
			if d.Status != "SUCCESS" || d.Trigger.Type != "github" || d.Trigger.Action == nil || *d.Trigger.Action != "opened" ||
				d.GitCommit != head {
				t.Fatalf("deployment of the opened PR = %s %+v %+v", d.Status, d.Trigger, d.Error)
			}
			if status, body := f.previewGet("api", 42); status != 200 || body != "checkout" {
				t.Fatalf("PR 42 answers %d %q", status, body)
			}

			// A PR changing nothing the filter watches is skipped, and makes no instance.
			docs := f.branch("docs-only", map[string]string{"docs/guide.md": "words"})
			status, res, body = f.sendWebhook("pull_request", "pull_request.opened.json", webhookSecret,
				map[string]string{fixtureHeadSHA: docs, `"number": 42`: `"number": 43`, "/pull/42": "/pull/43"})
			if status != 202 || len(res.Queued) != 1 {
				t.Fatalf("docs-only PR: %d %s", status, body)
			}
			if d := f.wait(res.Queued[0].DeploymentID); d.Status != "NO_CHANGE" || len(d.ServiceDeployments) != 0 {
				t.Fatalf("docs-only PR ended %s with %d services", d.Status, len(d.ServiceDeployments))
			}
			if list, _ := f.c.Previews(ctx, f.project.Environments[1].EnvironmentID); len(list) != 1 {
				t.Fatalf("previews after a filtered PR = %+v", list)
			}

			// closed (merged) → torn down.
			status, res, body = f.sendWebhook("pull_request", "pull_request.closed.merged.json", webhookSecret, pr)
			if status != 202 || len(res.TornDown) != 1 || res.TornDown[0].PRNumber != 42 {
				t.Fatalf("closed merged: %d %s", status, body)
			}
			waitUntil(t, "PR 42's preview stops answering", func() bool {
				s, _ := f.previewGet("api", 42)
				return s == 404
			})

			// The merge pushed to main → production deploys that commit.
			f.repo.Git("merge", "-q", "--no-ff", "-m", "Merge pull request #42", "feature/checkout")
			merge := f.repo.Head()
			status, res, body = f.sendWebhook("push", "push.main.json", webhookSecret, map[string]string{fixtureMergeSHA: merge})
			if status != 202 || len(res.Queued) != 1 || res.Queued[0].PRNumber != nil {
				t.Fatalf("push to main: %d %s", status, body)
			}
			if d := f.wait(res.Queued[0].DeploymentID); d.Status != "SUCCESS" || d.GitCommit != merge {
				t.Fatalf("production deployment of the push = %s", d.Status)
			}
			f.expectAnswer("api", "checkout")
			// A tag push deploys nothing.
			if status, res, _ := f.sendWebhook("push", "push.tag.json", webhookSecret, map[string]string{fixtureMergeSHA: merge}); status != 202 || len(res.Queued) != 0 {
				t.Fatalf("tag push: %d %+v", status, res)
			}
		})
	}
}

func (f *fixture) deployments() []string {
	f.t.Helper()
	page, err := f.c.Deployments(context.Background(), clientFilter())
	if err != nil {
		f.t.Fatal(err)
	}
	var ids []string
	for _, d := range page.Deployments {
		ids = append(ids, d.DeploymentID)
	}
	return ids
}
