package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestDeploymentEvents: a deployment's page follows it live: its status
// part rendered again as it changes, each line of output as it is stored,
// and an end event with the final status. The list's live stream shows a
// deployment as it appears.
func TestDeploymentEvents(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			ctx := t.Context()
			b := h.signIn("deploy@example.com")
			rows, stopRows := b.events(ctx, "/deployments/events")
			defer stopRows()
			first := next(t, rows, "the list's first rows", func(e event) bool { return e.name == "rows" })
			if !strings.Contains(first.data, "No deployments yet.") {
				t.Fatalf("the first rows: %s", first.data)
			}

			c, err := h.hooks.Create(ctx, h.env["production"], "CI")
			if err != nil {
				t.Fatal(err)
			}
			_, answer := callHook(t, c.URL)
			id := deploymentID(t, answer)
			next(t, rows, "the new deployment in the list", func(e event) bool {
				return e.name == "rows" && strings.Contains(e.data, `data-deployment-id="`+id+`"`)
			})

			status, page, _ := b.get("/deployments/" + id)
			if status != 200 || !strings.Contains(page, `data-deployment="`+id+`" data-after="0"`) || !strings.Contains(page, `data-status="PENDING"`) {
				t.Fatalf("the deployment's page: %d\n%s", status, page)
			}
			events, stop := b.events(ctx, "/deployments/"+id+"/events?after=0")
			defer stop()
			e := next(t, events, "the first status", func(e event) bool { return e.name == "status" })
			if !strings.Contains(e.data, `data-status="PENDING"`) || !strings.Contains(e.data, "Cancel deployment") ||
				!strings.Contains(e.data, `name="csrf" value="`+b.csrf+`"`) {
				t.Fatalf("the first status: %s", e.data)
			}

			// Output stored now arrives as it is stored, with its id.
			if err := h.store.AppendLogs(ctx, []liftoff.LogLine{{DeploymentID: id, At: time.Now(), Text: "==> hello from the engine"}}); err != nil {
				t.Fatal(err)
			}
			line := next(t, events, "a line of output", func(e event) bool { return e.name == "" })
			if line.data != "[deploy] ==> hello from the engine" || line.id == "" {
				t.Fatalf("line %+v", line)
			}
			// It ends: the status part changes, then the stream ends.
			if _, err := h.deployments.Cancel(ctx, id); err != nil {
				t.Fatal(err)
			}
			e = next(t, events, "the final status", func(e event) bool { return e.name == "status" })
			if !strings.Contains(e.data, `data-status="CANCELLED"`) || !strings.Contains(e.data, ">Redeploy</button>") {
				t.Fatalf("the final status: %s", e.data)
			}
			if end := next(t, events, "the end", func(e event) bool { return e.name == "end" }); end.data != "CANCELLED" {
				t.Fatalf("end %+v", end)
			}
			next(t, rows, "the list showing the cancellation", func(e event) bool {
				return e.name == "rows" && strings.Contains(e.data, `data-status="CANCELLED"`)
			})

			// The page of an ended deployment shows its output, and the
			// stream from after it has only the end.
			_, page, _ = b.get("/deployments/" + id)
			if !strings.Contains(page, "[deploy] ==&gt; hello from the engine") || !strings.Contains(page, `data-ended="CANCELLED"`) {
				t.Fatalf("the ended deployment's page:\n%s", page)
			}
			after := line.id
			again, stopAgain := b.events(ctx, "/deployments/"+id+"/events?after="+after)
			defer stopAgain()
			if e := next(t, again, "an event", func(e event) bool { return e.name != "status" }); e.name != "end" {
				t.Fatalf("after the last line, %+v", e)
			}

			// It ended before it read a commit: a redeploy says why not, on
			// its page.
			status, _, hdr := b.post("/deployments/"+id+"/redeploy", url.Values{})
			if status != http.StatusSeeOther || hdr.Get("Location") != "/deployments/"+id {
				t.Fatalf("redeploy: %d %v", status, hdr)
			}
			if _, page, _ := b.get("/deployments/" + id); !strings.Contains(page, "there is nothing to redeploy") {
				t.Fatalf("the refused redeploy is not explained:\n%s", page)
			}
		})
	}
}

// TestDeploymentsList: the list filters by environment and status, and
// pages.
func TestDeploymentsList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite")
	ctx := t.Context()
	c, err := h.hooks.Create(ctx, h.env["production"], "CI")
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.hooks.Create(ctx, h.env["staging"], "CI")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	// Each call supersedes the PENDING one; cancelled, each stays.
	for range 22 {
		_, answer := callHook(t, c.URL)
		id := deploymentID(t, answer)
		if _, err := h.deployments.Cancel(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	_, answer := callHook(t, s.URL)
	staging := deploymentID(t, answer)

	b := h.signIn("read@example.com")
	_, body, _ := b.get("/deployments")
	if !strings.Contains(body, staging) || !strings.Contains(body, ids[21]) || strings.Contains(body, ids[0]) || !strings.Contains(body, ">Older</a>") {
		t.Fatalf("the first page:\n%s", body)
	}
	older := body[strings.Index(body, `<nav class="pages"`):]
	older = older[strings.Index(older, `href="`)+6:]
	older = strings.ReplaceAll(older[:strings.Index(older, `"`)], "&amp;", "&")
	_, body, _ = b.get(older)
	if !strings.Contains(body, ids[0]) || strings.Contains(body, staging) || !strings.Contains(body, ">Newest</a>") || strings.Contains(body, "data-live-rows") {
		t.Fatalf("the older page (%s):\n%s", older, body)
	}
	_, body, _ = b.get("/deployments?status=PENDING")
	if !strings.Contains(body, staging) || strings.Contains(body, ids[21]) {
		t.Fatalf("PENDING only:\n%s", body)
	}
	_, body, _ = b.get("/deployments?environmentId=" + strings.TrimPrefix(envPath(h.env["staging"]), "/environments/"))
	if !strings.Contains(body, staging) || strings.Contains(body, ids[21]) || !strings.Contains(body, "selected>shop / Staging (staging)") {
		t.Fatalf("staging only:\n%s", body)
	}
	if status, _, _ := b.get("/deployments?status=NOPE"); status != http.StatusBadRequest {
		t.Fatalf("an unknown status: %d", status)
	}
}
