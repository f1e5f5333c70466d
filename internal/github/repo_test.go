package github_test

import (
	"testing"

	"github.com/liftoffhq/liftoff/internal/github"
)

func TestRepoMatches(t *testing.T) {
	t.Parallel()
	ghe := github.Repo{
		FullName: "platform/shop",
		HTMLURL:  "https://ghe.corp.example/platform/shop",
		CloneURL: "https://ghe.corp.example/platform/shop.git",
		SSHURL:   "git@ghe.corp.example:platform/shop.git",
	}
	tests := []struct {
		name string
		repo github.Repo
		url  string
		want bool
	}{
		{"https", shopRepo, "https://github.com/octo-org/shop", true},
		{"https with .git", shopRepo, "https://github.com/octo-org/shop.git", true},
		{"https with trailing slash", shopRepo, "https://github.com/octo-org/shop/", true},
		{"https with .git and trailing slash", shopRepo, "https://github.com/octo-org/shop.git/", true},
		{"https with a token", shopRepo, "https://x-access-token:ghp_abc@github.com/octo-org/shop.git", true},
		{"https with a user", shopRepo, "https://kenji-sato@github.com/octo-org/shop", true},
		{"https with a port", shopRepo, "https://github.com:443/octo-org/shop.git", true},
		{"http", shopRepo, "http://github.com/octo-org/shop", true},
		{"scheme and host in upper case", shopRepo, "HTTPS://GitHub.COM/octo-org/shop", true},
		{"owner and name in another case", shopRepo, "https://github.com/Octo-Org/Shop.GIT", true},
		{"www", shopRepo, "https://www.github.com/octo-org/shop", true},
		{"percent-encoded", shopRepo, "https://github.com/octo%2Dorg/shop", true},
		{"ssh URL", shopRepo, "ssh://git@github.com/octo-org/shop.git", true},
		{"ssh URL with port", shopRepo, "ssh://git@github.com:22/octo-org/shop.git", true},
		{"ssh over 443", shopRepo, "ssh://git@ssh.github.com:443/octo-org/shop.git", true},
		{"git+ssh", shopRepo, "git+ssh://git@github.com/octo-org/shop.git", true},
		{"git protocol", shopRepo, "git://github.com/octo-org/shop.git", true},
		{"scp-like", shopRepo, "git@github.com:octo-org/shop.git", true},
		{"scp-like without .git", shopRepo, "git@github.com:octo-org/shop", true},
		{"scp-like without user", shopRepo, "github.com:octo-org/shop.git", true},
		{"scp-like with leading slash", shopRepo, "git@github.com:/octo-org/shop.git", true},
		{"host and path without scheme", shopRepo, "github.com/octo-org/shop", true},
		{"owner/name", shopRepo, "octo-org/shop", true},
		{"owner/name in another case", shopRepo, "OCTO-ORG/shop", true},
		{"owner/name.git", shopRepo, "octo-org/shop.git", true},
		{"surrounding space", shopRepo, "  https://github.com/octo-org/shop\n", true},

		{"other repository", shopRepo, "https://github.com/octo-org/shop-admin", false},
		{"other owner", shopRepo, "git@github.com:ana-lima/shop.git", false},
		{"name prefix", shopRepo, "octo-org/sho", false},
		{"other host", shopRepo, "https://gitlab.com/octo-org/shop.git", false},
		{"other host scp-like", shopRepo, "git@gitlab.com:octo-org/shop.git", false},
		{"ssh host alias", shopRepo, "git@github-work:octo-org/shop.git", false},
		{"a page of the repository", shopRepo, "https://github.com/octo-org/shop/tree/main", false},
		{"owner only", shopRepo, "https://github.com/octo-org", false},
		{"host only", shopRepo, "https://github.com", false},
		{"local absolute path", shopRepo, "/srv/git/octo-org/shop", false},
		{"local relative path", shopRepo, "./octo-org/shop", false},
		{"file URL", shopRepo, "file:///octo-org/shop", false},
		{"unsupported scheme", shopRepo, "ftp://github.com/octo-org/shop", false},
		{"three parts without a host", shopRepo, "x/octo-org/shop", false},
		{"empty", shopRepo, "", false},
		{"event without repository", github.Repo{}, "octo-org/shop", false},
		{"full name without slash", github.Repo{FullName: "shop"}, "shop", false},

		{"repository without URLs is on github.com", github.Repo{FullName: "octo-org/shop"}, "git@github.com:octo-org/shop.git", true},
		{"repository without URLs is not elsewhere", github.Repo{FullName: "octo-org/shop"}, "https://ghe.corp.example/octo-org/shop", false},
		{"enterprise https", ghe, "https://ghe.corp.example/platform/shop.git", true},
		{"enterprise scp-like", ghe, "git@ghe.corp.example:platform/shop.git", true},
		{"enterprise owner/name", ghe, "platform/shop", true},
		{"enterprise repository is not on github.com", ghe, "https://github.com/platform/shop", false},
		{"enterprise has no ssh.github.com", ghe, "ssh://git@ssh.github.com:443/platform/shop.git", false},
		{"github.com repository is not on an enterprise host", shopRepo, "https://ghe.corp.example/octo-org/shop", false},
		{"enterprise ssh on another host", github.Repo{
			FullName: "platform/shop",
			HTMLURL:  "https://ghe.corp.example/platform/shop",
			SSHURL:   "ssh://git@ssh.ghe.corp.example:2222/platform/shop.git",
		}, "ssh://git@ssh.ghe.corp.example:2222/platform/shop.git", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.repo.Matches(tt.url); got != tt.want {
				t.Errorf("%+v.Matches(%q) = %v; want %v", tt.repo, tt.url, got, tt.want)
			}
		})
	}
}

func TestFullName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		repo  string
		hosts []string
		want  string
	}{
		{"https://github.com/octo-org/shop.git", []string{"github.com"}, "octo-org/shop"},
		{"git@github.com:octo-org/shop.git", []string{"github.com"}, "octo-org/shop"},
		{"ssh://git@ssh.github.com:443/octo-org/shop.git", []string{"github.com"}, "octo-org/shop"},
		{"octo-org/shop", []string{"github.com"}, "octo-org/shop"},
		{"https://ghe.corp.example/platform/shop", []string{"ghe.corp.example"}, "platform/shop"},
		{"https://ghe.corp.example/platform/shop", []string{"github.com"}, ""},
		{"https://gitlab.com/octo-org/shop.git", []string{"github.com"}, ""},
		{"https://github.com/octo-org/shop/tree/main", []string{"github.com"}, ""},
		{"/srv/git/shop", []string{"github.com"}, ""},
		{"", []string{"github.com"}, ""},
	}
	for _, tt := range tests {
		got, ok := github.FullName(tt.repo, tt.hosts...)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("FullName(%q, %q) = %q, %v; want %q", tt.repo, tt.hosts, got, ok, tt.want)
		}
	}
}
