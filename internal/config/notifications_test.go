package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestNotifications: an environment's webhooks are read with their events
// and format; a URL twice, an unknown event, an unknown format, a URL that
// is not http(s) and an unknown field are refused, each at its place.
func TestNotifications(t *testing.T) {
	t.Parallel()
	p := newTestParser(t)
	file := func(notifications string) []byte {
		return []byte(`{"environments": [{"id": "production", "source": {"branch": "main"},
			"services": [{"id": "web", "type": "web", "buildType": "nixpacks", "startCommand": "x"}],
			"notifications": ` + notifications + `}]}`)
	}
	f, problems, err := p.Parse(file(`[{"url": "https://hooks.example.com/a", "events": ["deployment.failed"], "format": "slack"},
		{"url": "http://ci.example.com/b"}]`))
	if err != nil {
		t.Fatalf("Parse: %v %v", err, problems)
	}
	got := f.Environments[0].Notifications
	if len(got) != 2 || got[0].URL != "https://hooks.example.com/a" || !slices.Equal(got[0].Events, []string{"deployment.failed"}) ||
		got[0].Format != "slack" || got[1].Format != "" || got[1].Events != nil {
		t.Fatalf("notifications = %+v", got)
	}
	for _, tt := range []struct{ name, in, path, message string }{
		{"twice", `[{"url": "https://a.example.com"}, {"url": "https://a.example.com"}]`, "/environments/0/notifications/1/url", "notification 0's URL too"},
		{"event", `[{"url": "https://a.example.com", "events": ["deployment.exploded"]}]`, "/environments/0/notifications/0/events/0", ""},
		{"format", `[{"url": "https://a.example.com", "format": "xml"}]`, "/environments/0/notifications/0/format", ""},
		{"scheme", `[{"url": "ftp://a.example.com"}]`, "/environments/0/notifications/0/url", ""},
		{"field", `[{"url": "https://a.example.com", "secret": "s"}]`, "/environments/0/notifications/0", ""},
	} {
		_, problems, err := p.Parse(file(tt.in))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", tt.name, err)
			continue
		}
		found := false
		for _, pr := range problems {
			found = found || strings.HasPrefix(pr.Path, tt.path) && strings.Contains(pr.Message, tt.message)
		}
		if !found {
			t.Errorf("%s: no problem at %s with %q in %s", tt.name, tt.path, tt.message, joinProblems(problems))
		}
	}
}
