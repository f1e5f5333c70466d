package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestDeployHooks: on an environment's settings page a hook is created
// with the Deploy Hooks form; its full URL is shown once, with a copy
// button and a curl example, and works; after that only a masked URL is
// shown, with its calls. Pause refuses its calls until resumed; rotation
// (after a confirmation) shows a new URL once and the old one stops;
// deletion asks first and then the URL answers 404.
func TestDeployHooks(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			ctx := t.Context()
			b := h.signIn("deploy@example.com")
			prod := envPath(h.env["production"])
			status, body, _ := b.get(prod)
			if status != 200 || !strings.Contains(body, `<h2 id="deploy-hooks-title">Deploy Hooks</h2>`) ||
				!strings.Contains(body, `<label for="hook-name">Name</label>`) || !strings.Contains(body, `>Create Deploy Hook</button>`) ||
				!strings.Contains(body, "No deploy hooks yet.") {
				t.Fatalf("settings page: %d\n%s", status, body)
			}

			// A name is required; the refusal is shown next to the field.
			status, body, _ = b.post(prod+"/deploy-hooks", url.Values{"name": {"   "}})
			if status != http.StatusBadRequest || !strings.Contains(body, `<p class="field-error" id="hook-name-error">The name must be 1 to 100 characters</p>`) ||
				!strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, "hook-name-hint hook-name-error") {
				t.Fatalf("an empty name: %d\n%s", status, body)
			}

			status, body, _ = b.post(prod+"/deploy-hooks", url.Values{"name": {"GitHub Actions"}})
			full := shownURL(body)
			if status != 200 || !strings.HasPrefix(full, h.srv.URL+"/api/deploy-hook/") || !strings.Contains(full, "/lfh_") ||
				!strings.Contains(body, "shown only this once") || !strings.Contains(body, `data-copy="hook-url"`) ||
				!strings.Contains(body, `curl -X POST &#34;`+full+`&#34;`) {
				t.Fatalf("created: %d %q\n%s", status, full, body)
			}
			secret := full[strings.LastIndex(full, "/")+1:]
			if code, answer := callHook(t, full+"?force=true"); code != 200 || !strings.Contains(answer, `"success": "true"`) {
				t.Fatalf("calling the URL shown: %d %s", code, answer)
			}
			h.rec.Flush(ctx)
			_, body, _ = b.get(prod)
			if strings.Contains(body, secret) || shownURL(body) != "" {
				t.Fatal("the settings page shows the hook's secret again")
			}
			if !strings.Contains(body, `<code class="masked">`+h.srv.URL+`/api/deploy-hook/`) || !strings.Contains(body, "lfh_••••••••") ||
				!strings.Contains(body, `<td data-label="Calls">1</td>`) || !strings.Contains(body, "Recent calls of GitHub Actions") || !strings.Contains(body, ": 200 queued") {
				t.Fatalf("the hook after a call:\n%s", body)
			}
			hooks, err := h.hooks.List(ctx, h.env["production"])
			if err != nil || len(hooks) != 1 {
				t.Fatal(hooks, err)
			}
			id := hooks[0].ID

			// Pause and resume.
			status, _, hdr := b.post("/deploy-hooks/"+id+"/pause", nil)
			if status != http.StatusSeeOther || hdr.Get("Location") != prod+"#deploy-hooks" {
				t.Fatalf("pause: %d %v", status, hdr)
			}
			_, body, _ = b.get(prod)
			if !strings.Contains(body, `class="flash" role="status">Paused deploy hook GitHub Actions`) || !strings.Contains(body, ">paused<") ||
				!strings.Contains(body, ">Resume</button>") {
				t.Fatalf("after pausing:\n%s", body)
			}
			if code, _ := callHook(t, full); code != http.StatusConflict {
				t.Fatalf("a paused hook's call: %d", code)
			}
			if status, _, _ := b.post("/deploy-hooks/"+id+"/resume", nil); status != http.StatusSeeOther {
				t.Fatalf("resume: %d", status)
			}

			// Rotation asks first, then shows the new URL once.
			status, body, _ = b.post("/deploy-hooks/"+id+"/rotate", nil)
			if status != 200 || !strings.Contains(body, "Rotate deploy hook GitHub Actions?") || !strings.Contains(body, `name="confirm" value="yes"`) ||
				!strings.Contains(body, `<select id="grace" name="grace">`) {
				t.Fatalf("rotate, unconfirmed: %d\n%s", status, body)
			}
			if code, _ := callHook(t, full); code != 200 {
				t.Fatalf("the URL changed before the rotation was confirmed: %d", code)
			}
			status, body, _ = b.post("/deploy-hooks/"+id+"/rotate", url.Values{"confirm": {"yes"}, "grace": {"0"}})
			rotated := shownURL(body)
			if status != 200 || rotated == "" || rotated == full || !strings.Contains(body, "Rotated deploy hook GitHub Actions") ||
				!strings.Contains(body, "The previous URL stopped working.") {
				t.Fatalf("rotated: %d\n%s", status, body)
			}
			if code, _ := callHook(t, full); code != http.StatusNotFound {
				t.Fatalf("the old URL after the rotation: %d", code)
			}
			if code, _ := callHook(t, rotated); code != 200 {
				t.Fatalf("the new URL: %d", code)
			}

			// Deletion asks first.
			status, body, _ = b.post("/deploy-hooks/"+id+"/delete", nil)
			if status != 200 || !strings.Contains(body, "Delete deploy hook GitHub Actions?") || !strings.Contains(body, ">Delete hook</button>") ||
				!strings.Contains(body, `href="`+prod+`#deploy-hooks">Keep it</a>`) {
				t.Fatalf("delete, unconfirmed: %d\n%s", status, body)
			}
			if status, _, _ := b.post("/deploy-hooks/"+id+"/delete", url.Values{"confirm": {"yes"}}); status != http.StatusSeeOther {
				t.Fatalf("delete: %d", status)
			}
			if code, _ := callHook(t, rotated); code != http.StatusNotFound {
				t.Fatalf("a deleted hook's URL: %d", code)
			}
			if status, _, _ := b.post("/deploy-hooks/"+id+"/pause", nil); status != http.StatusNotFound {
				t.Fatalf("a deleted hook's page: %d", status)
			}
		})
	}
}

// TestPreviewDeployHook: the preview environment's settings page has the
// same form, explains the shared URL's {prNumber}/{commitSHA}, and the URL
// it shows deploys a pull request's commit.
func TestPreviewDeployHook(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite")
	b := h.signIn("admin@example.com")
	preview := envPath(h.env["preview"])
	status, body, _ := b.get(preview)
	if status != 200 || !strings.Contains(body, "Create Deploy Hook") || !strings.Contains(body, "<code>{prNumber}</code> and <code>{commitSHA}</code>") ||
		!strings.Contains(body, "No live previews.") {
		t.Fatalf("preview settings: %d\n%s", status, body)
	}
	_, body, _ = b.post(preview+"/deploy-hooks", url.Values{"name": {"PR previews"}})
	full := shownURL(body)
	if !strings.HasSuffix(full, "/{prNumber}/{commitSHA}") || !strings.Contains(body, "${PR_NUMBER}/${COMMIT_SHA}") {
		t.Fatalf("preview hook %q\n%s", full, body)
	}
	u := strings.NewReplacer("{prNumber}", "7", "{commitSHA}", h.repo.Head()).Replace(full)
	if code, answer := callHook(t, u); code != 200 {
		t.Fatalf("the preview hook: %d %s", code, answer)
	}
	_, body, _ = b.get(preview)
	if !strings.Contains(body, "PR #7") {
		t.Fatalf("the preview is not listed:\n%s", body)
	}
}

// TestProjects: an admin creates a project from a repository URL (a
// refusal is shown next to the field it concerns), syncs it, and deletes
// it after a confirmation.
func TestProjects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite")
	b := h.signIn("admin@example.com")
	b.get("/projects")
	status, body, _ := b.post("/projects", url.Values{"name": {"web"}, "repoUrl": {""}})
	if status != http.StatusBadRequest || !strings.Contains(body, `id="project-repo-error">repoUrl is required`) {
		t.Fatalf("no repository: %d\n%s", status, body)
	}
	status, body, _ = b.post("/projects", url.Values{"name": {""}, "repoUrl": {h.repo.Dir}})
	if status != http.StatusBadRequest || !strings.Contains(body, `id="project-name-error">name must be 1 to 100 characters`) {
		t.Fatalf("no name: %d\n%s", status, body)
	}
	status, _, hdr := b.post("/projects", url.Values{"name": {"web"}, "repoUrl": {h.repo.Dir}})
	if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/projects/") {
		t.Fatalf("create: %d %v", status, hdr)
	}
	page := hdr.Get("Location")
	status, body, _ = b.get(page)
	if status != 200 || !strings.Contains(body, "Created project web from liftoff.json") || !strings.Contains(body, "Preview environments") ||
		!strings.Contains(body, ">Production</a>") {
		t.Fatalf("the new project: %d\n%s", status, body)
	}
	if status, _, _ := b.post(page+"/sync", nil); status != http.StatusSeeOther {
		t.Fatalf("sync: %d", status)
	}
	status, body, _ = b.post(page+"/delete", nil)
	if status != 200 || !strings.Contains(body, "Delete project web?") {
		t.Fatalf("delete, unconfirmed: %d\n%s", status, body)
	}
	if status, _, _ := b.get(page); status != 200 {
		t.Fatal("the project went before the deletion was confirmed")
	}
	if status, _, _ := b.post(page+"/delete", url.Values{"confirm": {"yes"}}); status != http.StatusSeeOther {
		t.Fatalf("delete: %d", status)
	}
	if status, _, _ := b.get(page); status != http.StatusNotFound {
		t.Fatalf("a deleted project's page: %d", status)
	}
}
