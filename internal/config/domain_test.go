package config

import (
	"strings"
	"testing"
)

func domainFile(prodDomains, previewDomain string) string {
	return `{"environments": [
  {"id": "production", "source": {"branch": "main"}, "services": [` + prodDomains + `]},
  {"id": "preview", "source": {"pr": true}, ` + previewDomain + `"services": [
    {"id": "web", "type": "web", "startCommand": "x", "domain": "app.example.com"}]}
]}`
}

func TestDomains(t *testing.T) {
	f, problems, err := Parse([]byte(domainFile(`
    {"id": "web", "type": "web", "startCommand": "x", "domain": "App.Example.com."},
    {"id": "docs", "type": "static", "domain": "*.docs.example.com"},
    {"id": "jobs", "type": "worker", "startCommand": "x", "domain": "jobs.example.com"}`,
		`"previewDomain": "{service}-pr-{pr}.preview.Example.com", `)))
	if err != nil {
		t.Fatal(err)
	}
	prod, preview := f.Environments[0], f.Environments[1]
	if got := prod.Services[0].Domain; got != "app.example.com" {
		t.Errorf("web's domain = %q, want it lowercased without the final dot", got)
	}
	if got := prod.Services[1].Domain; got != "*.docs.example.com" {
		t.Errorf("docs' domain = %q", got)
	}
	if got := prod.Services[2].Domain; got != "" {
		t.Errorf("a worker's domain is kept: %q", got)
	}
	if got := preview.Services[0].Domain; got != "" {
		t.Errorf("a preview's service kept production's domain %q", got)
	}
	if got := preview.PreviewHost("web", 12); got != "web-pr-12.preview.example.com" {
		t.Errorf("PreviewHost = %q", got)
	}
	want := map[string]string{
		"/environments/0/services/2/domain": "only applies to web and static services",
		"/environments/1/services/0/domain": `previews never use a service's domain`,
	}
	for _, p := range problems {
		if w, ok := want[p.Path]; ok && p.Severity == SeverityWarning && strings.Contains(p.Message, w) {
			delete(want, p.Path)
		}
	}
	for path, w := range want {
		t.Errorf("no warning at %s containing %q; got %v", path, w, problems)
	}
}

func TestDomainErrors(t *testing.T) {
	for _, c := range []struct{ services, preview, path, want string }{
		{`{"id": "web", "type": "web", "startCommand": "x", "domain": "https://app.example.com"}`, ``, "/environments/0/services/0/domain", "is a URL"},
		{`{"id": "web", "type": "web", "startCommand": "x", "domain": "app.example.com:8443"}`, ``, "/environments/0/services/0/domain", "without a port"},
		{`{"id": "web", "type": "web", "startCommand": "x", "domain": "localhost"}`, ``, "/environments/0/services/0/domain", "single label"},
		{`{"id": "web", "type": "web", "startCommand": "x", "domain": "10.0.0.1"}`, ``, "/environments/0/services/0/domain", "IP address"},
		{`{"id": "web", "type": "web", "startCommand": "x", "domain": "a_b.example.com"}`, ``, "/environments/0/services/0/domain", `character '_'`},
		{`{"id": "web", "type": "web", "startCommand": "x", "domain": "web.localhost"}`, ``, "/environments/0/services/0/domain", ".localhost"},
		{`{"id": "web", "type": "web", "startCommand": "x", "domain": "a.example.com"}, {"id": "api", "type": "web", "startCommand": "x", "domain": "A.example.com"}`, ``,
			"/environments/0/services/1/domain", `services web and api both have the domain "a.example.com"`},
		{`{"id": "web", "type": "web", "startCommand": "x"}`, `"previewDomain": "pr-{pr}.example.com", `, "/environments/1/previewDomain", "must hold {service} and {pr}"},
		{`{"id": "web", "type": "web", "startCommand": "x"}`, `"previewDomain": "{service}.{pr}..example.com", `, "/environments/1/previewDomain", "empty label"},
	} {
		_, problems, err := Parse([]byte(domainFile(c.services, c.preview)))
		found := false
		for _, p := range problems {
			if p.Path == c.path && p.Severity == SeverityError && strings.Contains(p.Message, c.want) {
				found = true
			}
		}
		if !found || err == nil {
			t.Errorf("%s %s: no error at %s containing %q: err %v, problems %v", c.services, c.preview, c.path, c.want, err, problems)
		}
	}
}
