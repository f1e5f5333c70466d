package steps

import (
	"maps"
	"slices"
	"testing"
)

// TestContainerEnv: the host's process basics stay out of what runs in
// an image; the service's variables go in, one that sets a basic to its
// own value too, and one set to the host's very value is dropped (the
// image's applies).
func TestContainerEnv(t *testing.T) {
	t.Parallel()
	base := []string{"PATH=/usr/local/go/bin:/usr/bin", "HOME=/root", "TZ=UTC", "LANG=C.UTF-8"}
	got := containerEnv(append(slices.Clone(base), "TZ=Europe/Paris", "BODY=v1", "EMPTY=", "LANG=C.UTF-8", "CI=true"), base)
	want := map[string]string{"TZ": "Europe/Paris", "BODY": "v1", "EMPTY": "", "CI": "true"}
	if !maps.Equal(got, want) {
		t.Errorf("containerEnv = %v, want %v", got, want)
	}
	// On this host's own basics: PATH set by the service stays, HOME
	// from the host does not.
	env := ContainerEnv(append(BaseEnv(), "PATH=/app/bin", "PORT=3000"))
	if env["PATH"] != "/app/bin" || env["PORT"] != "3000" {
		t.Errorf("ContainerEnv lost the service's variables: %v", env)
	}
	if _, ok := env["HOME"]; ok && slices.Contains(BaseEnv(), "HOME="+env["HOME"]) {
		t.Errorf("ContainerEnv kept the host's HOME: %v", env)
	}
}
