package local

import (
	"context"
	"testing"

	"github.com/liftoffhq/liftoff/internal/target"
)

// TestInstanceAt: a host leads to the instance of the release serving it,
// whatever its port and case, for web and static services alike, until
// the instance is stopped; unknown hosts lead nowhere.
func TestInstanceAt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.deploy(serverRelease(t, preview12, "api", "v1"))
	site := staticRelease(t, "site-1", false)
	h.deploy(site)
	for host, want := range map[string]target.Instance{
		"api.pr-12.preview.localhost":       preview12,
		"API.PR-12.Preview.localhost:8000":  preview12,
		"api.pr-12.preview.shop.localhost.": preview12,
		"site.production.localhost:8000":    production,
		"site.production.shop.localhost":    production,
	} {
		if got, ok := h.tg.InstanceAt(host); !ok || got != want {
			t.Errorf("InstanceAt(%q) = %+v, %v; want %+v", host, got, ok, want)
		}
	}
	for _, host := range []string{"", ":8000", "api.production.localhost", "example.com"} {
		if got, ok := h.tg.InstanceAt(host); ok {
			t.Errorf("InstanceAt(%q) = %+v, want none", host, got)
		}
	}
	if err := h.tg.StopInstance(context.Background(), preview12); err != nil {
		t.Fatal(err)
	}
	if got, ok := h.tg.InstanceAt("api.pr-12.preview.localhost"); ok {
		t.Errorf("after StopInstance the host leads to %+v", got)
	}
}
