package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestPreviewLimit calls a preview hook for more new pull requests than the
// limit, all at once: as many as the limit are queued, the others answer
// 409 with Flightcontrol's error body naming the limit and how to make
// room; calls for a counted pull request still deploy, and a teardown
// makes room.
func TestPreviewLimit(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			const limit, calls = 3, 8
			h := newHarnessLimited(t, dialect, testHooks(func(c *hook.Config) {
				c.PerHookPerMinute, c.FailuresPerMinute = 1000, 1000
			}), deployment.Limits{MaxPreviews: limit})
			secret, _ := h.createHook("preview")
			env := h.env["preview"]
			path := func(pr int, sha string) string {
				return fmt.Sprintf("/api/deploy-hook/%d/%s/%d/%s", env, secret, pr, sha)
			}
			sha := strings.Repeat("a", 40)

			type answer struct {
				status int
				body   string
			}
			answers := make([]answer, calls+1)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for pr := 1; pr <= calls; pr++ {
				wg.Go(func() {
					<-start
					status, _, body := callT(t, h, "GET", path(pr, sha), nil)
					answers[pr] = answer{status, body}
				})
			}
			close(start)
			wg.Wait()
			var queued, refused []int
			for pr := 1; pr <= calls; pr++ {
				switch a := answers[pr]; a.status {
				case 200:
					queued = append(queued, pr)
				case 409:
					refused = append(refused, pr)
					var body map[string]string
					if err := json.Unmarshal([]byte(a.body), &body); err != nil || body["success"] != "false" || len(body) != 2 {
						t.Fatalf("PR %d: 409 body %s", pr, a.body)
					}
					for _, want := range []string{
						fmt.Sprintf("Preview environment %d has 3 live preview instances", env),
						"its limit is 3 (--max-previews-per-environment)",
						fmt.Sprintf("PR #%d gets none", pr),
						fmt.Sprintf("liftoff previews delete --env %d --pr NUMBER", env),
						fmt.Sprintf("DELETE /v1/environments/%d/previews/{prNumber}", env),
					} {
						if !strings.Contains(body["error"], want) {
							t.Errorf("PR %d: error %q misses %q", pr, body["error"], want)
						}
					}
				default:
					t.Fatalf("PR %d: %d %s", pr, a.status, a.body)
				}
			}
			if len(queued) != limit {
				t.Fatalf("queued PRs %v, refused %v: want exactly %d queued", queued, refused, limit)
			}

			// A counted PR deploys a new commit.
			h.trigger(path(queued[0], strings.Repeat("b", 40)), nil)
			// Once deployed, the PRs are live instances (as the engine
			// records them) and still count.
			ctx := context.Background()
			for _, pr := range queued {
				pending, err := h.store.GetPendingDeployment(ctx, store.GetPendingDeploymentParams{EnvironmentID: env, PRNumber: pr})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := h.store.FinishPendingDeployment(ctx, store.FinishDeploymentParams{ID: pending.ID, Status: liftoff.StatusSuccess, At: time.Now()}); err != nil {
					t.Fatal(err)
				}
				if _, err := h.store.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: env, PRNumber: pr, At: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			if status, _, body := h.call("GET", path(refused[0], sha), nil); status != 409 {
				t.Fatalf("PR %d with %d live instances: %d %s", refused[0], limit, status, body)
			}
			h.trigger(path(queued[1], sha), nil)
			// Tearing one down makes room.
			if status, _, body := h.call("DELETE", fmt.Sprintf("/v1/environments/%d/previews/%d", env, queued[2]),
				http.Header{"Authorization": {"Bearer " + h.key}}); status != 200 {
				t.Fatalf("teardown: %d %s", status, body)
			}
			h.trigger(path(refused[0], sha), nil)
			if status, _, _ := h.call("GET", path(refused[1], sha), nil); status != 409 {
				t.Fatalf("PR %d after the room was taken: %d, want 409", refused[1], status)
			}
		})
	}
}
