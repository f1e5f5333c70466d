package clientaddr

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	t.Parallel()
	got, err := ParseList(" 10.0.0.0/8, 192.168.1.7 ,,::1, 2001:db8::/32, ::ffff:172.16.0.1, 10.1.2.3/16")
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range got {
		s = append(s, p.String())
	}
	want := "10.0.0.0/8 192.168.1.7/32 ::1/128 2001:db8::/32 172.16.0.1/32 10.1.0.0/16"
	if strings.Join(s, " ") != want {
		t.Errorf("ParseList = %v, want %s", s, want)
	}
	if got, err := ParseList(""); err != nil || len(got) != 0 {
		t.Errorf("ParseList(\"\") = %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.0/8,nope", "1.2.3"} {
		if _, err := ParseList(bad); err == nil || !strings.Contains(err.Error(), "CIDR") {
			t.Errorf("ParseList(%q) = %v, want an error naming the form", bad, err)
		}
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	trusted, err := ParseList("10.0.0.0/8,127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	r := New(trusted)
	cases := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no header", "203.0.113.9:4000", nil, "203.0.113.9"},
		{"untrusted peer, forged header", "203.0.113.9:4000", []string{"1.1.1.1"}, "203.0.113.9"},
		{"trusted peer, one hop", "10.0.0.2:80", []string{"198.51.100.4"}, "198.51.100.4"},
		{"trusted peer, no header", "10.0.0.2:80", nil, "10.0.0.2"},
		{"rightmost untrusted hop wins over a forged left one", "10.0.0.2:80", []string{"6.6.6.6, 198.51.100.4"}, "198.51.100.4"},
		{"trusted hops are skipped", "127.0.0.1:80", []string{"198.51.100.4, 10.9.9.9", "10.0.0.3"}, "198.51.100.4"},
		{"all hops trusted: the leftmost", "127.0.0.1:80", []string{"10.0.0.4, 10.0.0.3"}, "10.0.0.4"},
		{"garbage stops the walk at the trusted hop", "10.0.0.2:80", []string{"198.51.100.4, garbage"}, "10.0.0.2"},
		{"hop with a port", "10.0.0.2:80", []string{"198.51.100.4:5555"}, "198.51.100.4"},
		{"IPv6 hop with a port", "10.0.0.2:80", []string{"[2001:db8::7]:443"}, "2001:db8::7"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.2]:80", []string{"198.51.100.4"}, "198.51.100.4"},
		{"IPv6 peer", "[2001:db8::1]:80", []string{"198.51.100.4"}, "2001:db8::1"},
		{"peer without a port", "203.0.113.9", nil, "203.0.113.9"},
		{"unparseable peer is kept as it is", "@", nil, "@"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
			for _, v := range c.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := r.Client(req); got != c.want {
				t.Errorf("Client = %q, want %q", got, c.want)
			}
		})
	}
	var none *Resolver
	req := &http.Request{RemoteAddr: "127.0.0.1:1", Header: http.Header{"X-Forwarded-For": {"1.1.1.1"}}}
	if got := none.Client(req); got != "127.0.0.1" {
		t.Errorf("a nil resolver trusts X-Forwarded-For: %q", got)
	}
}

func TestForward(t *testing.T) {
	t.Parallel()
	trusted, _ := ParseList("10.0.0.0/8")
	r := New(trusted)
	forged := http.Header{
		"X-Forwarded-For":   {"6.6.6.6"},
		"X-Forwarded-Host":  {"evil.example"},
		"X-Forwarded-Proto": {"https"},
		"X-Real-Ip":         {"6.6.6.6"},
		"Forwarded":         {"for=6.6.6.6"},
	}
	cases := []struct {
		name, remote string
		tls          bool
		want         map[string]string
	}{
		{"untrusted peer", "203.0.113.9:4000", false, map[string]string{
			"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "api.production.localhost:8000",
			"X-Forwarded-Proto": "http", "X-Real-Ip": "203.0.113.9", "Forwarded": ""}},
		{"untrusted peer over TLS", "203.0.113.9:4000", true, map[string]string{
			"X-Forwarded-Proto": "https", "X-Real-Ip": "203.0.113.9"}},
		{"trusted peer", "10.0.0.2:80", false, map[string]string{
			"X-Forwarded-For": "6.6.6.6, 10.0.0.2", "X-Forwarded-Host": "evil.example",
			"X-Forwarded-Proto": "https", "X-Real-Ip": "6.6.6.6", "Forwarded": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := &http.Request{RemoteAddr: c.remote, Host: "api.production.localhost:8000", Header: forged.Clone()}
			if c.tls {
				in.TLS = &tls.ConnectionState{}
			}
			out := forged.Clone()
			r.Forward(in, out)
			for k, v := range c.want {
				if got := out.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
