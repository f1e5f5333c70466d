package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/liftoffhq/liftoff/internal/gittest"
)

// dashboardConfig deploys a static site quickly, in production and in
// pull request previews.
const dashboardConfig = `{"environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
    {"id": "site", "name": "Site", "type": "static", "basePath": "site", "watchPaths": ["site/**"],
     "buildCommand": "mkdir -p public && cp index.html public/", "outputDirectory": "public"}
  ]},
  {"id": "preview", "name": "Previews", "source": {"pr": true}, "services": [
    {"id": "site", "name": "Site", "type": "static", "basePath": "site", "watchPaths": ["site/**"],
     "buildCommand": "mkdir -p public && cp index.html public/", "outputDirectory": "public"}
  ]}
]}`

// chromium is the browser the dashboard's tests drive: Debian's chromium.
// Without it they skip, saying how to run them.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed, so the dashboard's browser tests skip: apt-get install -y chromium to run them (CI does)")
	return ""
}

// newBrowser starts a headless chromium of the test's own, with a fresh
// profile, at a phone's width.
func newBrowser(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	alloc, cancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844),
	)
	t.Cleanup(cancel)
	tab, closeTab := chromedp.NewContext(alloc)
	t.Cleanup(closeTab)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tab
}

// createUser makes a dashboard user on the store, the password on stdin.
func createUser(t testing.TB, flags []string, email, password string, more ...string) {
	t.Helper()
	cmd := exec.Command(binary, append(append([]string{"users", "create", "--email", email}, more...), flags...)...)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("users create: %v\n%s", err, out)
	}
}

// TestDashboard drives the dashboard in a real browser against the real
// server, as a Flightcontrol user follows its documentation: sign in (a
// wrong password is refused first), create a project from a repository,
// open the environment's settings, create a deploy hook and copy its URL,
// call it as CI does, and watch the deployment appear in the list and reach
// SUCCESS on its page without reloading; then the same for the preview
// environment, rotate and delete the hook; a form posted without the
// session's CSRF token is refused.
func TestDashboard(t *testing.T) {
	t.Parallel()
	chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	flags := storeFlags(t, "sqlite", t.TempDir())
	const email, password = "ada@example.com", "correct horse battery"
	createUser(t, flags, email, password)
	srv := start(t, flags, &logLines{})
	base := srv.url()
	repo := gittest.New(t)
	repo.Commit("site", map[string]string{"liftoff.json": dashboardConfig, "site/index.html": "<h1>hi</h1>"})

	tab := newBrowser(t, ctx)
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			loc, _ := chromedp.Run(tab, chromedp.Location())
			body, _ := chromedp.Run(tab, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	js := func(expr string) bool {
		t.Helper()
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return ok
	}
	// until waits for the page's DOM to make expr true, as the page
	// changes (no reload: a navigation ends the wait with an error).
	until := func(what, expr string, within time.Duration) {
		t.Helper()
		do(what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(within)))
	}
	fitsPhone := func(page string) {
		t.Helper()
		if !js(`document.documentElement.scrollWidth <= window.innerWidth`) {
			t.Errorf("%s is wider than a phone's screen", page)
		}
	}

	// Sign in with the keyboard: a wrong password first.
	do("open the dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("email")))
	until("the email field has the focus", `document.activeElement && document.activeElement.id === "email"`, 10*time.Second)
	do("a wrong password", chromedp.KeyEvent(email), chromedp.KeyEvent("\t"), chromedp.KeyEvent("wrong password!"), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.ID("login-error")))
	if got := text("#login-error"); got != "Wrong email or password" {
		t.Fatalf("a wrong password says %q", got)
	}
	until("the password field has the focus", `document.activeElement && document.activeElement.id === "password"`, 10*time.Second)
	do("sign in", chromedp.KeyEvent(password), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.ID("create-project")))
	fitsPhone("the projects page")

	// A project from a repository.
	do("create a project", chromedp.SendKeys(chromedp.ID("project-name"), "shop"), chromedp.SendKeys(chromedp.ID("project-repo"), repo.Dir),
		chromedp.Click(chromedp.CSS(`form[action="/projects"] button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := text(".flash"); !strings.Contains(got, "Created project shop") {
		t.Fatalf("after creating the project: %q", got)
	}
	projectPage, _ := chromedp.Run(tab, chromedp.Location())

	// The environment's settings: Deploy Hooks, a name, Create Deploy Hook.
	do("open the environment's settings", chromedp.Click(`//a[text()="Production"]`), chromedp.WaitVisible(chromedp.ID("deploy-hooks-title")))
	settings, _ := chromedp.Run(tab, chromedp.Location())
	prod := settings[strings.LastIndex(settings, "/")+1:]
	if got := text("#deploy-hooks-title"); got != "Deploy Hooks" {
		t.Fatalf("the section is %q", got)
	}
	do("create a deploy hook", chromedp.SendKeys(chromedp.ID("hook-name"), "CI"), chromedp.Click(`//button[text()="Create Deploy Hook"]`),
		chromedp.WaitVisible(chromedp.ID("hook-url")))
	hookURL, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("hook-url")))
	if err != nil || !strings.HasPrefix(hookURL, base+"/api/deploy-hook/"+prod+"/lfh_") {
		t.Fatalf("the hook URL shown: %q %v", hookURL, err)
	}
	do("copy it", chromedp.Click(chromedp.CSS(`button[data-copy="hook-url"]`)))
	until("the copy button answers", `["Copied", "Press Ctrl+C"].includes(document.querySelector('button[data-copy="hook-url"]').textContent)`, 10*time.Second)
	fitsPhone("the environment's settings")

	// The deployments of the environment, live: the hook's call appears
	// without a reload.
	do("open the deployments", chromedp.Navigate(base+"/deployments?environmentId="+prod), chromedp.WaitVisible(chromedp.CSS("#rows[data-live-rows]")),
		chromedp.Evaluate[chromedp.Void](`window.liftoffNoReload = true`))
	id := callHook(t, hookURL+"?force=true")
	until("the deployment appears in the list", `document.querySelector('#rows tr[data-deployment-id="`+id+`"]') !== null`, time.Minute)
	if !js(`window.liftoffNoReload === true`) {
		t.Fatal("the list reloaded")
	}

	// Its page follows it to the end, without a reload.
	do("open the deployment", chromedp.Click(chromedp.CSS(`#rows a[href="/deployments/`+id+`"]`)), chromedp.WaitVisible(chromedp.ID("logs")),
		chromedp.Evaluate[chromedp.Void](`window.liftoffNoReload = true`))
	until("the deployment ends", `document.getElementById("status").hasAttribute("data-ended")`, 5*time.Minute)
	if ended := text("#status .facts .badge"); ended != "SUCCESS" {
		t.Fatalf("the deployment ended %s:\n%s", ended, text("#logs"))
	}
	if !js(`window.liftoffNoReload === true`) {
		t.Fatal("the deployment's page reloaded")
	}
	if logs := text("#logs"); !strings.Contains(logs, "[site]") || !strings.Contains(logs, "[deploy]") {
		t.Fatalf("the page's output:\n%s", logs)
	}
	if row := text(`#status tr[data-service="site"]`); !strings.Contains(row, "SUCCESS") || !strings.Contains(row, "force") {
		t.Fatalf("the site's row: %q", row)
	}
	fitsPhone("the deployment's page")

	// The preview environment's settings: the same form, the shared URL's
	// {prNumber}/{commitSHA} explained.
	do("open the preview settings", chromedp.Navigate(projectPage), chromedp.Click(`//a[text()="Previews"]`), chromedp.WaitVisible(chromedp.ID("deploy-hooks-title")),
		chromedp.SendKeys(chromedp.ID("hook-name"), "PR previews"), chromedp.Click(`//button[text()="Create Deploy Hook"]`),
		chromedp.WaitVisible(chromedp.ID("hook-url")))
	previewURL, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("hook-url")))
	if err != nil || !strings.HasSuffix(previewURL, "/{prNumber}/{commitSHA}") {
		t.Fatalf("the preview hook URL: %q %v", previewURL, err)
	}
	if section := text("#deploy-hooks"); !strings.Contains(section, "{prNumber} and {commitSHA}") {
		t.Fatalf("the preview section does not explain the URL:\n%s", section)
	}
	callHook(t, strings.NewReplacer("{prNumber}", "3", "{commitSHA}", repo.Head()).Replace(previewURL))

	// Rotate, after a confirmation: a new URL, once; the old one stops.
	do("rotate the hook", chromedp.Navigate(settings), chromedp.Click(chromedp.CSS(`button[aria-label="Rotate CI"]`)),
		chromedp.WaitVisible(chromedp.ID("grace")), chromedp.Click(`//button[text()="Rotate hook"]`), chromedp.WaitVisible(chromedp.ID("hook-url")))
	rotated, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("hook-url")))
	if err != nil || rotated == hookURL || !strings.Contains(rotated, "/lfh_") {
		t.Fatalf("the rotated URL: %q %v", rotated, err)
	}
	if status := hookStatus(t, hookURL); status != http.StatusNotFound {
		t.Fatalf("the URL before the rotation: %d", status)
	}
	// Delete, after a confirmation: its URL stops.
	do("delete the hook", chromedp.Navigate(settings), chromedp.Click(chromedp.CSS(`button[aria-label="Delete CI"]`)),
		chromedp.WaitVisible(`//button[text()="Delete hook"]`), chromedp.Click(`//button[text()="Delete hook"]`), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := text(".flash"); !strings.Contains(got, "Deleted deploy hook CI") {
		t.Fatalf("after deleting: %q", got)
	}
	if status := hookStatus(t, rotated); status != http.StatusNotFound {
		t.Fatalf("a deleted hook's URL: %d", status)
	}

	// The browser's session cookie, posted without the form's CSRF token,
	// is refused.
	cookies, err := chromedp.Call(tab, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "liftoff_session" {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteLax {
		t.Fatalf("the session cookie: %+v", session)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/environments/"+prod+"/deploy-hooks", strings.NewReader(url.Values{"name": {"sneaky"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a POST without the CSRF token: %d", resp.StatusCode)
	}
	do("reload the settings", chromedp.Navigate(settings), chromedp.WaitVisible(chromedp.ID("deploy-hooks-title")))
	if strings.Contains(text("#deploy-hooks"), "sneaky") {
		t.Fatal("the refused form made a hook")
	}
}

// hookStatus calls a hook URL and returns the status of the answer.
func hookStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Post(u, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// signIn signs in to the dashboard at base with a plain HTTP client, as
// the sign-in form does.
func signIn(base, email, password string) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		return fmt.Errorf("the sign-in page has no form token:\n%s", page)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"email": {email}, "password": {password}, "csrf": {string(m[1])}, "next": {"/"}})
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		return fmt.Errorf("signing in answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.Get(base + "/projects")
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the projects page after signing in: %d", resp.StatusCode)
	}
	return nil
}
