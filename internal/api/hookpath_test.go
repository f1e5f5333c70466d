package api

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/token"
)

func TestParseHookCall(t *testing.T) {
	t.Parallel()
	sha := strings.Repeat("ab", 20)
	cases := []struct {
		name, path, query string
		want              hook.Request
		err               string // "" for success; "404" for not found
	}{
		{"normal", "/api/deploy-hook/12/lfh_s", "", hook.Request{EnvironmentID: 12, Secret: "lfh_s"}, ""},
		{"trailing slash", "/api/deploy-hook/12/lfh_s/", "", hook.Request{EnvironmentID: 12, Secret: "lfh_s"}, ""},
		{"force TRUE", "/api/deploy-hook/12/s", "force=TRUE", hook.Request{EnvironmentID: 12, Secret: "s", Force: true}, ""},
		{"force 1", "/api/deploy-hook/12/s", "force=1", hook.Request{EnvironmentID: 12, Secret: "s", Force: true}, ""},
		{"force False", "/api/deploy-hook/12/s", "force=False", hook.Request{EnvironmentID: 12, Secret: "s"}, ""},
		{"force 0", "/api/deploy-hook/12/s", "force=0&other=x&other=y", hook.Request{EnvironmentID: 12, Secret: "s"}, ""},
		{"force and clearCache", "/api/deploy-hook/12/s", "force=true&clearCache=1", hook.Request{EnvironmentID: 12, Secret: "s", Force: true, ClearCache: true}, ""},
		{"clearCache false", "/api/deploy-hook/12/s", "clearCache=FALSE", hook.Request{EnvironmentID: 12, Secret: "s"}, ""},
		{"clearCache on a preview", "/api/deploy-hook/3/s/42/" + sha, "clearCache=true&force=1", hook.Request{EnvironmentID: 3, Secret: "s", Preview: true, PRNumber: 42, CommitSHA: sha, Force: true, ClearCache: true}, ""},
		{"clearCache without force", "/api/deploy-hook/12/s", "clearCache=true", hook.Request{}, "needs force=true: add force=true"},
		{"clearCache maybe", "/api/deploy-hook/12/s", "force=1&clearCache=yes", hook.Request{}, `clearCache must be true, false, 1 or 0, got "yes"`},
		{"repeated clearCache", "/api/deploy-hook/12/s", "force=1&clearCache=1&clearCache=0", hook.Request{}, "clearCache was given 2 times"},
		{"commit and branch", "/api/deploy-hook/12/s", "commit=ABCDEF1&branch=release/v2", hook.Request{EnvironmentID: 12, Secret: "s", Commit: "abcdef1", Branch: "release/v2"}, ""},
		{"preview", "/api/deploy-hook/3/s/42/" + strings.ToUpper(sha), "", hook.Request{EnvironmentID: 3, Secret: "s", Preview: true, PRNumber: 42, CommitSHA: sha}, ""},
		{"preview SHA-256", "/api/deploy-hook/3/s/42/" + strings.Repeat("a", 64), "", hook.Request{EnvironmentID: 3, Secret: "s", Preview: true, PRNumber: 42, CommitSHA: strings.Repeat("a", 64)}, ""},
		{"escaped secret", "/api/deploy-hook/3/a%41b", "", hook.Request{EnvironmentID: 3, Secret: "aAb"}, ""},
		{"plus in id", "/api/deploy-hook/+3/s", "", hook.Request{}, "envId must be a positive integer"},
		{"42-character SHA", "/api/deploy-hook/3/s/1/" + strings.Repeat("a", 42), "", hook.Request{}, "got 42 characters"},
		{"63-character SHA", "/api/deploy-hook/3/s/1/" + strings.Repeat("a", 63), "", hook.Request{}, "got 63 characters"},
		{"PR too large", "/api/deploy-hook/3/s/9999999999/" + sha, "", hook.Request{}, "prNumber must be a positive integer"},
		{"bad percent-encoding", "/api/deploy-hook/3/s%zz", "", hook.Request{}, "malformed percent-encoding in part 2"},
		{"lower-case encoded slash", "/api/deploy-hook/3/s%2fx", "", hook.Request{}, "percent-encoded slash"},
		{"dot segment", "/api/deploy-hook/3/./s", "", hook.Request{}, "does not clean paths"},
		{"dot-dot segment", "/api/deploy-hook/../deploy-hook/3/s", "", hook.Request{}, "does not clean paths"},
		{"empty segment after the secret", "/api/deploy-hook/3/s//", "", hook.Request{}, "does not clean paths"},
		{"repeated commit", "/api/deploy-hook/3/s", "commit=abcdef1&commit=abcdef2", hook.Request{}, "commit was given 2 times"},
		{"branch with space", "/api/deploy-hook/3/s", "branch=a%20b", hook.Request{}, "not a valid branch name"},
		{"branch starting with dash", "/api/deploy-hook/3/s", "branch=-x", hook.Request{}, "not a valid branch name"},
		{"branch ending .lock", "/api/deploy-hook/3/s", "branch=x.lock", hook.Request{}, "not a valid branch name"},
		{"branch on preview", "/api/deploy-hook/3/s/1/" + sha, "branch=main", hook.Request{}, "branch is not accepted"},
		{"only prefix", "/api/deploy-hook/", "", hook.Request{}, "404"},
		{"one part", "/api/deploy-hook/3", "", hook.Request{}, "404"},
		{"five parts", "/api/deploy-hook/3/s/1/" + sha + "/x", "", hook.Request{}, "404"},
		{"other prefix", "/api/other/3/s", "", hook.Request{}, "404"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseHookCall(c.path, c.query)
			switch {
			case c.err == "404":
				if !errors.Is(err, hook.ErrNotFound) {
					t.Fatalf("err = %v, want not found", err)
				}
			case c.err != "":
				if fail.KindOf(err) != fail.Invalid || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want a 400 containing %q", err, c.err)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			case got != c.want:
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// FuzzParseHookCall: any path and query either parses into a request whose
// parts obey the rules, or fails with a 400 or a 404, and never panics. A
// secret never appears in an error message.
func FuzzParseHookCall(f *testing.F) {
	for _, s := range []struct{ path, query string }{
		{"/api/deploy-hook/12/lfh_secret", "force=true"},
		{"/api/deploy-hook/3/lfh_secret/42/" + strings.Repeat("a", 40), ""},
		{"/api/deploy-hook/3/lfh_secret/42/abc", "force=maybe&force=1"},
		{"/api/deploy-hook/3/lfh%2Fsecret", "commit=abc&branch=main"},
		{"/api/deploy-hook//", ";"},
	} {
		f.Add(s.path, s.query)
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		req, err := ParseHookCall(path, query)
		if err != nil {
			if fail.KindOf(err) != fail.Invalid && !errors.Is(err, hook.ErrNotFound) {
				t.Fatalf("unexpected error kind %T: %v", err, err)
			}
			// Only a secret found nowhere else in the input, as it is or
			// quoted, can leak: a short one may also be part of, say, the
			// commit SHA the message quotes.
			rest := strings.Replace(path, req.Secret, "", 1) + "?" + query
			elsewhere := strings.Contains(rest, req.Secret) || strings.Contains(strconv.Quote(rest), req.Secret)
			if len(req.Secret) > 3 && !elsewhere && strings.Contains(err.Error(), req.Secret) {
				t.Fatalf("error repeats the secret: %v", err)
			}
			return
		}
		if req.EnvironmentID <= 0 || req.Secret == "" {
			t.Fatalf("accepted %+v", req)
		}
		if req.Preview {
			if req.PRNumber <= 0 || checkSHA("", req.CommitSHA) != nil || req.Commit != "" || req.Branch != "" {
				t.Fatalf("accepted preview %+v", req)
			}
		}
		if req.Commit != "" && checkSHA("", req.Commit) != nil {
			t.Fatalf("accepted commit %q", req.Commit)
		}
		if len(path) > MaxHookPathLength {
			t.Fatalf("accepted a path of %d bytes", len(path))
		}
	})
}

func TestRedactPath(t *testing.T) {
	t.Parallel()
	sha := strings.Repeat("a", 40)
	secret := token.New(token.HookPrefix)
	for _, c := range []struct{ in, want string }{
		{"/api/deploy-hook/12/lfh_secret", "/api/deploy-hook/12/[REDACTED]"},
		{"/api/deploy-hook/12/lfh_secret/5/" + sha, "/api/deploy-hook/12/[REDACTED]/5/" + sha},
		{"/api/deploy-hook/lfh_secret", "/api/deploy-hook/[REDACTED]"},
		{"/api/deploy-hook/12/lfh_a%2Fb/c", "/api/deploy-hook/12/[REDACTED]/[REDACTED]"},
		{"/api/deploy-hook/12/1234567", "/api/deploy-hook/12/[REDACTED]"},
		{"/api/deploy-hook/12/s/lfh_x/y/z", "/api/deploy-hook/12/[REDACTED]/[REDACTED]/[REDACTED]/[REDACTED]"},
		{"/v1/deployments/abc", "/v1/deployments/abc"},
		// Not under the exact prefix: by what a secret looks like, and
		// every part after a deploy-hook part that is not a number or SHA.
		{"//api/deploy-hook/12/" + secret, "//api/deploy-hook/12/[REDACTED]"},
		{"/./api/deploy-hook/12/" + secret, "/./api/deploy-hook/12/[REDACTED]"},
		{"/API/DEPLOY-HOOK/12/" + strings.ToUpper(secret), "/API/DEPLOY-HOOK/12/[REDACTED]"},
		{"/api/Deploy-Hook/12/s3cr3t/5/" + sha, "/api/Deploy-Hook/12/[REDACTED]/5/" + sha},
		{"/api/deploy%2Dhook/12/not-a-token", "/api/deploy%2Dhook/12/[REDACTED]"},
		{"/api%2Fdeploy-hook%2F12%2F" + secret, "/[REDACTED]"},
		{"/api/deploy-hook%2f12%2fx", "/api/[REDACTED]"},
		{"/v1/deployments/" + secret, "/v1/deployments/[REDACTED]"},
		{"/v1/deployments/" + secret + "/logs", "/v1/deployments/[REDACTED]/logs"},
		{"/v1/deployments/%6Cfh%5F" + secret[4:], "/v1/deployments/[REDACTED]"},
		{"/v1/deployments/%256Cfh%255F" + secret[4:], "/v1/deployments/[REDACTED]"},
		{"/v1/deployments/x" + secret + "y", "/v1/deployments/[REDACTED]"},
		{"/v1/deployments/" + secret[:20], "/v1/deployments/[REDACTED]"},
		{"/v1/api-keys/" + token.New(token.APIKeyPrefix), "/v1/api-keys/[REDACTED]"},
		{"/" + secret + "%zz", "/[REDACTED]"},
	} {
		if got := RedactPath(c.in); got != c.want {
			t.Errorf("RedactPath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
