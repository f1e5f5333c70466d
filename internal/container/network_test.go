package container

import (
	"strings"
	"testing"
)

func TestParseGateway(t *testing.T) {
	for _, tc := range []struct{ name, out, want, err string }{
		{"podman", `[{"name":"podman","subnets":[{"subnet":"fd00::/64","gateway":"fd00::1"},{"subnet":"10.88.0.0/16","gateway":"10.88.0.1"}]}]`, "10.88.0.1", ""},
		{"bridge", `[{"Name":"bridge","IPAM":{"Config":[{"Subnet":"172.17.0.0/16","Gateway":"172.17.0.1"}]}}]`, "172.17.0.1", ""},
		{"podman", `[{"name":"podman","subnets":[]}]`, "", "no IPv4 gateway"},
		{"podman", `not json`, "", "network inspect podman"},
	} {
		got, err := parseGateway(tc.name, []byte(tc.out))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one containing %q", tc.out, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("%s: got %v, %v; want %s", tc.out, got, err, tc.want)
		}
	}
}
