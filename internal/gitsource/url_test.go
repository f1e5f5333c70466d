package gitsource

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormalizeRepoURL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, in, want string // want "" means rejected
	}{
		{"absolute path", dir, dir},
		{"relative path", rel, dir},
		{"file URL", "file://" + dir, "file://" + dir},
		{"file URL with localhost", "file://localhost" + dir, "file://" + dir},
		{"file URL not clean", "file://" + dir + "/./", "file://" + dir},
		{"https", "https://github.com/owner/repo.git", "https://github.com/owner/repo.git"},
		{"https with token", "https://x-access-token:ghp_abc@github.com/o/r", "https://x-access-token:ghp_abc@github.com/o/r"},
		{"http with port", "http://git.local:8080/o/r.git", "http://git.local:8080/o/r.git"},
		{"ssh", "ssh://git@github.com/owner/repo.git", "ssh://git@github.com/owner/repo.git"},
		{"ssh with port", "ssh://git@host:2222/repo.git", "ssh://git@host:2222/repo.git"},
		{"upper-case scheme", "HTTPS://github.com/o/r", "https://github.com/o/r"},
		{"scp-like", "git@github.com:owner/repo.git", "git@github.com:owner/repo.git"},
		{"scp-like without user", "github.com:owner/repo.git", "github.com:owner/repo.git"},

		{"empty", "", ""},
		{"option", "--upload-pack=evil", ""},
		{"short option", "-u", ""},
		{"white space", " https://github.com/o/r", ""},
		{"newline", "https://github.com/o/r\n--upload-pack=x", ""},
		{"git protocol", "git://github.com/o/r.git", ""},
		{"ftp", "ftp://host/r.git", ""},
		{"ext transport", "ext::sh -c touch% /tmp/pwned", ""},
		{"fd transport", "fd::17", ""},
		{"https without host", "https:///o/r", ""},
		{"https without path", "https://github.com", ""},
		{"ssh host option", "ssh://-oProxyCommand=evil/r", ""},
		{"ssh user option", "ssh://-oProxyCommand=evil@host/r", ""},
		{"scp host option", "-oProxyCommand=evil:r", ""},
		{"scp user option", "-x@host:r", ""},
		{"scp host with bad characters", "ho$t:r", ""},
		{"scp without path", "git@host:", ""},
		{"missing local path", filepath.Join(dir, "nope"), ""},
		{"missing file URL path", "file://" + filepath.Join(dir, "nope"), ""},
		{"file URL with host", "file://server/share/r", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeRepoURL(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("NormalizeRepoURL(%q) = %q, want an error", tc.in, got)
				}
				if !errors.Is(err, ErrInvalidRepoURL) {
					t.Errorf("error %v does not wrap ErrInvalidRepoURL", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeRepoURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestNormalizeRepoURLRedactsErrors(t *testing.T) {
	t.Parallel()
	_, err := NormalizeRepoURL("ftp://user:hunter2@host/r")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error = %v", err)
	}
	_, err = NormalizeRepoURL("https://user:hunter2@host:badport/r")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error = %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"https://user:token@github.com/o/r.git", "https://***@github.com/o/r.git"},
		{"https://token@github.com/o/r.git", "https://***@github.com/o/r.git"},
		{"https://github.com/o/r.git", "https://github.com/o/r.git"},
		{"ssh://git@host:22/r", "ssh://***@host:22/r"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
		{"/srv/repos/r.git", "/srv/repos/r.git"},
		{"https://u:p@h", "https://***@h"},
		{"https://u:p@ss@h/x", "https://***@h/x"},
		{"https://u:p@[::1]:8443/x", "https://***@[::1]:8443/x"},
		{"fatal: unable to access 'https://u:tok@h/r/': denied", "fatal: unable to access 'https://***@h/r/': denied"},
		{"from https://a:1@h1/x to http://b:2@h2/y", "from https://***@h1/x to http://***@h2/y"},
		{"path https://h/a@b stays", "path https://h/a@b stays"},
		{"no url at all: a@b", "no url at all: a@b"},
		{"://", "://"},
		{"https://u:tok@", "https://***@"},
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzNormalizeRepoURL(f *testing.F) {
	for _, s := range []string{
		"https://github.com/o/r", "git@host:o/r", "ssh://-o/x", "ext::x", "-x", "file:///", "a:b", "https://u:p@h/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeRepoURL(in)
		if err != nil {
			return
		}
		if strings.HasPrefix(got, "-") || hasControl(got) || strings.Contains(got, "::") && !strings.Contains(got, "://") {
			t.Errorf("NormalizeRepoURL(%q) accepted %q", in, got)
		}
	})
}

func FuzzRedactURL(f *testing.F) {
	f.Add("user", "token", "github.com/o/r")
	f.Fuzz(func(t *testing.T, user, secret, rest string) {
		if secret == "" || strings.ContainsAny(user+secret, "/?#@ \t\r\n'\"`<>") {
			return // not something a URL's user information can hold unescaped
		}
		out := RedactURL("fatal: 'https://" + user + ":" + secret + "@" + rest + "'")
		if strings.Contains(out, ":"+secret+"@") {
			t.Errorf("secret survived: %q", out)
		}
	})
}

func TestParseRemote(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, url string // url "" means rejected
		cred          Credential
	}{
		{"relative path made absolute", rel, dir, Credential{}},
		{"file URL", "file://localhost" + dir + "/", "file://" + dir, Credential{}},
		{"file URL with user information", "file://u:p@localhost" + dir, "file://" + dir, Credential{}},
		{"https", "https://GitHub.com/o/R.git", "https://github.com/o/R.git", Credential{}},
		{"token as user", "https://ghp_abc@github.com/o/r", "https://github.com/o/r", Credential{Username: "ghp_abc"}},
		{"user and token", "https://x-access-token:ghp_abc@github.com/o/r", "https://github.com/o/r",
			Credential{Username: "x-access-token", Password: "ghp_abc"}},
		{"escaped password", "http://me:p%40ss%3Aw0rd@git.local:8080/o/r.git", "http://git.local:8080/o/r.git",
			Credential{Username: "me", Password: "p@ss:w0rd"}},
		{"ssh login stays", "ssh://git@GitHub.com:22/o/r.git", "ssh://git@github.com:22/o/r.git", Credential{}},
		{"ssh with a password", "ssh://git:hunter2@github.com/o/r.git", "", Credential{}},
		{"scp-like", "git@GitHub.com:o/r.git", "git@github.com:o/r.git", Credential{}},
		{"scp-like without user", "GitHub.com:o/r.git", "github.com:o/r.git", Credential{}},
		{"ftp", "ftp://u:hunter2@host/r", "", Credential{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRemote(tc.in)
			if tc.url == "" {
				if err == nil || !errors.Is(err, ErrInvalidRepoURL) || strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("ParseRemote(%q) = %+v, %v; want an error wrapping ErrInvalidRepoURL without the secret", tc.in, got, err)
				}
				return
			}
			if err != nil || got.URL != tc.url || got.Credential != tc.cred {
				t.Fatalf("ParseRemote(%q) = %q %#v, %v; want %q", tc.in, got.URL, got.Credential, err, tc.url)
			}
			if back, err := ParseUserinfo(got.Credential.Userinfo()); err != nil || back != got.Credential {
				t.Errorf("credential does not survive Userinfo/ParseUserinfo: %v", err)
			}
		})
	}
}

func TestCredentialNeverPrinted(t *testing.T) {
	t.Parallel()
	c := Credential{Username: "x-access-token", Password: "hunter2"}
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("x", "cred", c, "remote", Remote{URL: "https://h/r", Credential: c})
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprintf("%+v %#v", Remote{Credential: c}, Remote{Credential: c}), log.String()} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "x-access-token") {
			t.Errorf("printed %q", s)
		}
	}
}

func TestEndpointOf(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		in   string
		want Endpoint
	}{
		{dir, Endpoint{Local: true, Path: dir}},
		{"file://" + dir, Endpoint{Local: true, Path: dir}},
		{"https://GitHub.com/o/r", Endpoint{Scheme: "https", Host: "github.com"}},
		{"http://10.0.0.1:8080/o/r", Endpoint{Scheme: "http", Host: "10.0.0.1", Port: "8080"}},
		{"https://[::1]:8443/o/r", Endpoint{Scheme: "https", Host: "::1", Port: "8443"}},
		{"ssh://git@Host:2222/r", Endpoint{Scheme: "ssh", Host: "host", Port: "2222"}},
		{"git@GitHub.com:o/r.git", Endpoint{Scheme: "ssh", Host: "github.com"}},
		{"169.254.169.254:o/r", Endpoint{Scheme: "ssh", Host: "169.254.169.254"}},
	} {
		if got, err := EndpointOf(tc.in); err != nil || got != tc.want {
			t.Errorf("EndpointOf(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
