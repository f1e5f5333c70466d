package main

import (
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/client"
)

func TestServiceState(t *testing.T) {
	for _, tt := range []struct {
		s    client.Service
		want string
	}{
		{client.Service{}, "-"},
		{client.Service{State: "running"}, "running"},
		{client.Service{State: "running", RestartCount: 1}, "running, 1 restart"},
		{client.Service{State: "crashed", RestartCount: 10}, "crashed, 10 restarts"},
		{client.Service{Previews: []client.ServiceInstanceState{{PRNumber: 3, State: "running"}, {PRNumber: 7, State: "restarting", RestartCount: 2}}},
			"pr-3 running; pr-7 restarting, 2 restarts"},
	} {
		if got := serviceState(tt.s); got != tt.want {
			t.Errorf("serviceState(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestDescribeProtection(t *testing.T) {
	for _, tt := range []struct {
		p       client.Protection
		preview bool
		want    string
	}{
		{client.Protection{Mode: "protected", IsDefault: true}, true,
			"protected (the default of a preview environment); no password: only share links open it (liftoff previews share)"},
		{client.Protection{Mode: "public", IsDefault: true}, false, "public (the default of an environment that is not a preview)"},
		{client.Protection{Mode: "protected", HasPassword: true}, false, "protected; a password is set"},
		{client.Protection{Mode: "public", HasPassword: true}, true, "public; a password is set"},
	} {
		if got := describeProtection(tt.p, tt.preview); got != tt.want {
			t.Errorf("describeProtection(%+v, %v) = %q, want %q", tt.p, tt.preview, got, tt.want)
		}
	}
}

func TestReadPassword(t *testing.T) {
	for in, want := range map[string]string{"hunter22\n": "hunter22", "a b c d e\r\n": "a b c d e", "no newline": "no newline", "two\n\n": "two\n"} {
		if got, err := readPassword(strings.NewReader(in)); err != nil || got != want {
			t.Errorf("readPassword(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := readPassword(strings.NewReader("\n")); err == nil || !strings.Contains(err.Error(), "stdin is empty") {
		t.Errorf("an empty stdin: %v", err)
	}
}

func TestProtectionFlags(t *testing.T) {
	if _, err := run(t, "envs", "protection", "--env", "3", "--password-stdin", "--no-password"); err == nil ||
		!strings.Contains(err.Error(), "none of the others can be") {
		t.Errorf("--password-stdin with --no-password: %v", err)
	}
	for _, path := range [][]string{{"envs", "protection"}, {"previews", "share"}} {
		c := find(t, path...)
		for _, f := range []string{"server", "api-key", "json", "project", "env"} {
			if !hasFlag(c, f) {
				t.Errorf("%v has no --%s", path, f)
			}
		}
	}
}
