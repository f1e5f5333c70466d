package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// navItem is a section of the navigation bar, shown to the roles that may
// open it.
type navItem struct {
	Name, Path string
	// Current: the page shown is in this section.
	Current bool
	need    apikey.Need
	// oneEnv: the section is a listing a deploy user sees limited to its
	// environments.
	oneEnv bool
}

// nav lists the sections of the dashboard, in the order of the bar. A
// later section (API keys, users) is one more entry.
var nav = []navItem{
	{Name: "Projects", Path: "/projects", need: apikey.NeedRead, oneEnv: true},
	{Name: "Deployments", Path: "/deployments", need: apikey.NeedRead, oneEnv: true},
	{Name: "API keys", Path: "/api-keys", need: apikey.NeedRead},
	{Name: "Users", Path: "/users", need: apikey.NeedAdmin},
}

// layoutData is what the layout shows around every page.
type layoutData struct {
	Title  string
	Viewer *viewer
	// Nav are the sections the viewer may open; Section the one this page
	// is in.
	Nav     []navItem
	Section string
	Flash   string
	// CSRF is the session's token, for every form of the page.
	CSRF string
	Page any
}

// parseTemplates parses each page's template with the layout and the
// shared partials: one template set per page, by its file's name.
func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard templates: %w", err)
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(files, n)
		if err != nil {
			return nil, fmt.Errorf("dashboard template %s: %w", n, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes page name, in the layout, with status. The page is
// rendered whole before anything is written, so a template error is a
// clean 500.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) error {
	t, ok := d.templates[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	ld := layoutData{Title: title, Page: data, Section: section(r.URL.Path)}
	if v := viewerOf(r); v != nil {
		ld.Viewer, ld.CSRF = v, v.CSRF
		for _, n := range nav {
			if v.Scope.Allows(n.need, n.oneEnv) {
				n.Current = strings.TrimPrefix(n.Path, "/") == ld.Section
				ld.Nav = append(ld.Nav, n)
			}
		}
	}
	ld.Flash = takeFlash(w, r, d)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", ld); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	noStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// renderPartial renders one partial template (for an event stream).
func (d *Dashboard) renderPartial(name string, data any) (string, error) {
	var buf bytes.Buffer
	// Any page's set has the partials.
	if err := d.templates["error"].ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return buf.String(), nil
}

// section is the navigation section of a path: its first segment.
func section(p string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	switch first {
	case "environments", "deploy-hooks", "services", "job-executions":
		return "projects"
	}
	return first
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"when":        when,
	"ago":         ago,
	"statusClass": statusClass,
	"short":       shortSHA,
	"final":       func(s liftoff.Status) bool { return s.Final() },
	"add":         func(a, b int) int { return a + b },
}

// when is a time as the dashboard writes it, in UTC; "" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago says how long ago t was, roughly.
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// statusClass is the CSS class of a status badge: what kind of state it is.
func statusClass(s liftoff.Status) string {
	switch s {
	case liftoff.StatusSuccess:
		return "ok"
	case liftoff.StatusNoChange, liftoff.StatusCancelled:
		return "quiet"
	case liftoff.StatusBuildError, liftoff.StatusDeployError, liftoff.StatusError:
		return "bad"
	}
	return "busy"
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
