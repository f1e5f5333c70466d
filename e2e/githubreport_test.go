package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/github/report/reporttest"
)

// TestGitHubReportEndToEnd: liftoff serve --github-token tells a GitHub
// (the fake of reporttest) how the deployments of a project linked to
// octo-org/shop went: a production deployment's commit status and GitHub
// deployment, and one comment on a pull request, made by its preview's
// first deployment and edited in place by the next.
func TestGitHubReportEndToEnd(t *testing.T) {
	t.Parallel()
	const token = "ghp_e2eR2bX9cZ1eT7qL0mN4vW8yA3sD6fG5hJ2k"
	gh := reporttest.New(t, "")
	gh.SetToken(token)
	f := newFixtureWith(t, "sqlite", "--github-token", token, "--github-api-url", gh.URL())
	const repo = "/repos/octo-org/shop"

	// 1. A production deployment through the hook.
	d := f.deploy("")
	if d.Status != "SUCCESS" {
		t.Fatalf("production deployment ended %s", d.Status)
	}
	sha, page := d.GitCommit, f.srv.url()+"/deployments/"+d.DeploymentID
	apiURL := service(t, d, "api").Service.ServiceDomain
	waitUntil(t, "GitHub has the deployment's success", func() bool {
		return hasState(gh.CallsTo("POST", repo+"/statuses/"+sha), "success") &&
			hasState(gh.CallsTo("POST", repo+`/deployments/\d+/statuses`), "success")
	})

	// The commit status: pending while it runs, then success, each with
	// the link to the deployment's page.
	statuses := gh.CallsTo("POST", repo+"/statuses/"+sha)
	var states []string
	for _, c := range statuses {
		states = append(states, fmt.Sprint(c.Body["state"]))
		if c.Body["context"] != "liftoff/production" || c.Body["target_url"] != page || c.Auth != "Bearer "+token {
			t.Errorf("commit status %v sent with %q: want context liftoff/production, target_url %s, the token", c.Body, c.Auth, page)
		}
	}
	if len(states) < 2 || states[len(states)-1] != "success" || slices.ContainsFunc(states[:len(states)-1], func(s string) bool { return s != "pending" }) {
		t.Errorf("commit statuses %q, want pending then success", states)
	}
	if last := statuses[len(statuses)-1].Body; !strings.HasPrefix(fmt.Sprint(last["description"]), "Deployed in ") {
		t.Errorf("success status description %v", last["description"])
	}

	// One GitHub deployment of the commit, with its statuses.
	made := gh.CallsTo("POST", repo+"/deployments")
	if len(made) != 1 {
		t.Fatalf("%d GitHub deployments made, want 1: %+v", len(made), made)
	}
	b := made[0].Body
	if b["ref"] != sha || b["environment"] != "production" || b["production_environment"] != true || b["transient_environment"] != false ||
		b["auto_merge"] != false || fmt.Sprint(b["required_contexts"]) != "[]" ||
		fmt.Sprint(b["payload"]) != fmt.Sprintf("map[liftoffDeploymentId:%s]", d.DeploymentID) {
		t.Errorf("GitHub deployment made with %v", b)
	}
	ghDep := gh.Deployments()[0]["id"]
	depStatuses := gh.CallsTo("POST", fmt.Sprintf("%s/deployments/%v/statuses", repo, ghDep))
	states = nil
	for _, c := range depStatuses {
		states = append(states, fmt.Sprint(c.Body["state"]))
		if c.Body["log_url"] != page {
			t.Errorf("deployment status %v: log_url, want %s", c.Body, page)
		}
	}
	// queued only when the created event was delivered after the commit
	// was resolved: a hook call without a commit deploys the branch head.
	if s := strings.Join(states, ","); s != "in_progress,success" && s != "queued,in_progress,success" {
		t.Errorf("deployment statuses %q, want in_progress then success", states)
	}
	if last := depStatuses[len(depStatuses)-1].Body; apiURL == nil || last["environment_url"] != *apiURL {
		t.Errorf("the success status's environment_url is %v, want the web service's URL %v", last["environment_url"], deref(apiURL))
	}

	// 2. Two deployments of PR 7's preview through the preview hook.
	first := f.branch("feature-7", map[string]string{"api/version.txt": "pr7"})
	d1 := f.wait(callHook(t, f.previewURL(7, first)))
	f.repo.Git("checkout", "-q", "feature-7")
	second := f.repo.Commit("pr7 again", map[string]string{"site/index.html": "<h1>pr7 site</h1>"})
	f.repo.Git("checkout", "-q", "main")
	d2 := f.wait(callHook(t, f.previewURL(7, second)))
	if d1.Status != "SUCCESS" || d2.Status != "SUCCESS" {
		t.Fatalf("preview deployments ended %s and %s", d1.Status, d2.Status)
	}
	var body string
	waitUntil(t, "PR 7's comment shows the second deployment's success", func() bool {
		cs := gh.Comments(7)
		if len(cs) == 0 {
			return false
		}
		body = fmt.Sprint(cs[len(cs)-1]["body"])
		return strings.Contains(body, d2.DeploymentID) && strings.Contains(body, "**Deployed**")
	})
	created := gh.CallsTo("POST", repo+"/issues/7/comments")
	if len(created) != 1 || !strings.HasPrefix(fmt.Sprint(created[0].Body["body"]), "<!-- liftoff:preview env=") {
		t.Fatalf("comments made on PR 7: %+v, want 1 of Liftoff's", created)
	}
	comments := gh.Comments(7)
	if len(comments) != 1 {
		t.Fatalf("PR 7 has %d comments, want 1", len(comments))
	}
	edits := gh.CallsTo("PATCH", repo+`/issues/comments/\d+`)
	if len(edits) == 0 {
		t.Fatal("the comment was never edited")
	}
	for _, e := range edits {
		if e.Path != fmt.Sprintf("%s/issues/comments/%v", repo, comments[0]["id"]) {
			t.Errorf("edited %s, not the comment %v", e.Path, comments[0]["id"])
		}
	}
	for _, s := range d2.ServiceDeployments {
		domain := "—"
		if s.Service.ServiceDomain != nil {
			domain = "[" + *s.Service.ServiceDomain + "](" + *s.Service.ServiceDomain + ")"
		}
		row := fmt.Sprintf("| %s (`%s`) | %s | %s |", s.Service.ServiceName, s.Service.ServiceGivenID, domain, s.Status)
		if !strings.Contains(body, row) {
			t.Errorf("the comment lacks the row %q:\n%s", row, body)
		}
	}
	for _, want := range []string{"commit `" + second[:7] + "`", "[deployment " + d2.DeploymentID + "](" + f.srv.url() + "/deployments/" + d2.DeploymentID + ")"} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, d1.DeploymentID) {
		t.Errorf("the comment still shows the first deployment:\n%s", body)
	}
	// The previews' GitHub deployments are transient, one per deployment.
	var previews int
	for _, c := range gh.CallsTo("POST", repo+"/deployments") {
		if c.Body["environment"] == "preview (PR #7)" {
			previews++
			if c.Body["transient_environment"] != true || c.Body["production_environment"] != false {
				t.Errorf("preview GitHub deployment made with %v", c.Body)
			}
		}
	}
	if previews != 2 {
		t.Errorf("%d GitHub deployments of PR 7's preview, want 2", previews)
	}
}

// hasState reports whether a call sent state.
func hasState(calls []reporttest.Call, state string) bool {
	return slices.ContainsFunc(calls, func(c reporttest.Call) bool { return c.Body["state"] == state })
}
