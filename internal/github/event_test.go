package github_test

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/github"
)

// The placeholder values of testdata/README.md.
const (
	headSHA      = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
	prevHeadSHA  = "29beedb41c561d810b3a73038314807461fe7145"
	baseSHA      = "205ae328d69b5b97e19a6b262ee0add144ee4130"
	mergeSHA     = "ad2d5075e2c1c95e8c82c8360b2c9f2c5100d127"
	testMergeSHA = "de0ee9ae21355e8fe56182fb94a7155b6588c447"
	zeroSHA      = "0000000000000000000000000000000000000000"
)

var shopRepo = github.Repo{
	FullName:      "octo-org/shop",
	HTMLURL:       "https://github.com/octo-org/shop",
	CloneURL:      "https://github.com/octo-org/shop.git",
	SSHURL:        "git@github.com:octo-org/shop.git",
	DefaultBranch: "main",
	Private:       true,
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pr42 is pull request #42 as the fixtures show it, changed by edit.
func pr42(edit func(*github.PullRequest)) *github.PullRequest {
	pr := &github.PullRequest{
		Number:   42,
		Title:    "Checkout: one-page flow with saved addresses",
		HTMLURL:  "https://github.com/octo-org/shop/pull/42",
		State:    "open",
		HeadRef:  "feature/checkout",
		HeadSHA:  headSHA,
		HeadRepo: "octo-org/shop",
		BaseRef:  "main",
		BaseSHA:  baseSHA,
		Labels:   []string{"enhancement"},
	}
	if edit != nil {
		edit(pr)
	}
	return pr
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		event string
		want  github.Event
	}{
		{"ping.json", "ping", github.Event{
			Kind: github.KindPing, Name: "ping", Repository: shopRepo, Sender: "kenji-sato",
			Ping: &github.Ping{HookID: 471902213, Zen: "Keep it logically awesome.", Events: []string{"pull_request", "push"}, ContentType: "json"},
		}},
		{"pull_request.opened.json", "pull_request", github.Event{
			Kind: github.KindPullRequest, Name: "pull_request", Action: github.ActionOpened,
			Repository: shopRepo, Sender: "ana-lima", PR: pr42(nil),
		}},
		{"pull_request.synchronize.json", "pull_request", github.Event{
			Kind: github.KindPullRequest, Name: "pull_request", Action: github.ActionSynchronize,
			Repository: shopRepo, Sender: "ana-lima", PR: pr42(nil),
		}},
		{"pull_request.labeled.json", "pull_request", github.Event{
			Kind: github.KindPullRequest, Name: "pull_request", Action: github.ActionLabeled,
			Repository: shopRepo, Sender: "kenji-sato", PR: pr42(func(pr *github.PullRequest) {
				pr.Labels = []string{"enhancement", "preview"}
				pr.Label = "preview"
				pr.MergeCommitSHA = testMergeSHA
			}),
		}},
		{"pull_request.closed.unmerged.json", "pull_request", github.Event{
			Kind: github.KindPullRequest, Name: "pull_request", Action: github.ActionClosed,
			Repository: shopRepo, Sender: "ana-lima", PR: pr42(func(pr *github.PullRequest) {
				pr.State = "closed"
				pr.Labels = []string{"enhancement", "preview"}
				pr.MergeCommitSHA = testMergeSHA
			}),
		}},
		{"pull_request.reopened.json", "pull_request", github.Event{
			Kind: github.KindPullRequest, Name: "pull_request", Action: github.ActionReopened,
			Repository: shopRepo, Sender: "ana-lima", PR: pr42(func(pr *github.PullRequest) {
				pr.Labels = []string{"enhancement", "preview"}
				pr.MergeCommitSHA = testMergeSHA
			}),
		}},
		{"pull_request.closed.merged.json", "pull_request", github.Event{
			Kind: github.KindPullRequest, Name: "pull_request", Action: github.ActionClosed,
			Repository: shopRepo, Sender: "kenji-sato", PR: pr42(func(pr *github.PullRequest) {
				pr.State = "closed"
				pr.Merged = true
				pr.Labels = []string{"enhancement", "preview"}
				pr.MergeCommitSHA = mergeSHA
			}),
		}},
		{"push.main.json", "push", github.Event{
			Kind: github.KindPush, Name: "push", Repository: shopRepo, Sender: "kenji-sato",
			Push: &github.Push{Ref: "refs/heads/main", Branch: "main", Before: baseSHA, After: mergeSHA, HeadCommit: mergeSHA},
		}},
		{"push.tag.json", "push", github.Event{
			Kind: github.KindPush, Name: "push", Repository: shopRepo, Sender: "kenji-sato",
			Push: &github.Push{Ref: "refs/tags/v1.4.0", Tag: "v1.4.0", Before: zeroSHA, After: mergeSHA, Created: true, HeadCommit: mergeSHA},
		}},
		{"push.deleted.json", "push", github.Event{
			Kind: github.KindPush, Name: "push", Repository: shopRepo, Sender: "kenji-sato",
			Push: &github.Push{Ref: "refs/heads/feature/checkout", Branch: "feature/checkout", Before: headSHA, After: zeroSHA, Deleted: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body := fixture(t, tt.file)
			got, err := github.Parse(tt.event, body)
			if err != nil {
				t.Fatalf("Parse() error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() =\n%s\nwant\n%s", dump(got), dump(tt.want))
			}

			// GitHub's other content type: the same JSON in a "payload" form
			// field.
			form := []byte(url.Values{"payload": {string(body)}}.Encode())
			got, err = github.Parse(tt.event, form)
			if err != nil {
				t.Fatalf("Parse(form-encoded) error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(form-encoded) =\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

// TestFixturesRewrite checks what testdata/README.md promises end-to-end
// tests: rewriting the head SHA of a fixture rewrites the event.
func TestFixturesRewrite(t *testing.T) {
	t.Parallel()
	const newSHA = "1111111111111111111111111111111111111111"
	body := strings.ReplaceAll(string(fixture(t, "pull_request.synchronize.json")), headSHA, newSHA)
	body = strings.ReplaceAll(body, `"number": 42`, `"number": 7`)
	ev, err := github.Parse("pull_request", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev.PR.HeadSHA != newSHA || ev.PR.Number != 7 {
		t.Errorf("after rewriting: head %s, number %d; want %s, 7", ev.PR.HeadSHA, ev.PR.Number, newSHA)
	}
}

func TestParseIgnored(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		body   string
		want   string
	}{
		{"issues", "issues", `{"action":"opened"}`, "issues"},
		{"not even JSON", "check_run", "<<not json>>", "check_run"},
		{"empty body", "workflow_run", "", "workflow_run"},
		{"pull_request_target is not pull_request", "pull_request_target", "{}", "pull_request_target"},
		{"header case and space", " Star ", "{}", "star"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := github.Parse(tt.header, []byte(tt.body))
			if err != nil {
				t.Fatalf("Parse() error: %v", err)
			}
			want := github.Event{Kind: github.KindIgnored, Name: tt.want}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse() = %s; want %s", dump(got), dump(want))
			}
		})
	}
}

func TestParseHeaderCase(t *testing.T) {
	t.Parallel()
	ev, err := github.Parse(" Pull_Request\t", fixture(t, "pull_request.opened.json"))
	if err != nil || ev.Kind != github.KindPullRequest {
		t.Fatalf("Parse() = %v, %v; want a pull_request event", ev.Kind, err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	opened := string(fixture(t, "pull_request.opened.json"))
	pushMain := string(fixture(t, "push.main.json"))
	tests := []struct {
		name   string
		header string
		body   string
		want   string // the error after "invalid webhook payload: "
	}{
		{"no event header", "", opened, "missing X-GitHub-Event header"},
		{"empty body", "push", "", "push event: empty body"},
		{"white space body", "push", " \n", "push event: empty body"},
		{"truncated JSON", "pull_request", opened[:100], "pull_request event: not valid JSON: unexpected end of JSON input"},
		{"JSON array", "push", `[{"ref":"refs/heads/main"}]`, "push event: body is neither a JSON object nor a form with a payload field"},
		{"form without payload", "push", "ref=refs%2Fheads%2Fmain", "push event: body is neither a JSON object nor a form with a payload field"},
		{"form payload not JSON", "push", "payload=oops", "push event: not valid JSON: invalid character 'o' looking for beginning of value"},
		{"form payload an array", "push", "payload=%5B%5D", "push event: the payload is a JSON array, want an object"},
		{"empty object pull_request", "pull_request", `{}`, "pull_request event: missing action; missing repository.full_name; missing pull_request"},
		{"pull_request without head and base", "pull_request",
			`{"action":"opened","number":42,"pull_request":{"number":42},"repository":{"full_name":"o/r"}}`,
			"pull_request event: missing pull_request.head.ref; missing pull_request.head.sha; missing pull_request.base.ref"},
		{"pull_request without number", "pull_request",
			`{"action":"opened","pull_request":{"head":{"ref":"f","sha":"` + headSHA + `"},"base":{"ref":"main"}},"repository":{"full_name":"o/r"}}`,
			"pull_request event: missing number"},
		{"pull_request with an abbreviated head sha", "pull_request",
			strings.Replace(opened, `"sha": "`+headSHA, `"sha": "0d1a26e`, 1),
			"pull_request event: pull_request.head.sha is not a 40 or 64 hex digit commit id"},
		{"number of the wrong type", "pull_request", strings.Replace(opened, `"number": 42`, `"number": "42"`, 1),
			"pull_request event: number is a JSON string, want an integer"},
		{"labels of the wrong type", "pull_request", `{"action":"opened","pull_request":{"labels":"preview"}}`,
			"pull_request event: pull_request.labels is a JSON string, want an array"},
		{"push without refs", "push", `{"repository":{"full_name":"o/r"}}`, "push event: missing ref; missing before; missing after"},
		{"push with a bad after", "push", strings.Replace(pushMain, `"after": "`+mergeSHA, `"after": "HEAD`, 1),
			"push event: after is not a 40 or 64 hex digit commit id"},
		{"push without repository", "push", `{"ref":"refs/heads/main","before":"` + baseSHA + `","after":"` + mergeSHA + `"}`,
			"push event: missing repository.full_name"},
		{"number too big", "pull_request", strings.Replace(opened, `"number": 42`, `"number": 1e40`, 1),
			"pull_request event: number is a JSON number 1e40, want an integer"},
		{"object of the wrong type", "push", `{"repository":"octo-org/shop"}`, "push event: repository is a JSON string, want an object"},
		{"NUL in the head branch", "pull_request", strings.Replace(opened, `"ref": "feature/checkout"`, `"ref": "feature/check\u0000out"`, 1),
			"pull_request event: pull_request.head.ref holds a control character"},
		{"NUL in the pushed ref", "push", strings.Replace(pushMain, `"ref": "refs/heads/main"`, `"ref": "refs/heads/ma\u0000in"`, 1),
			"push event: ref holds a control character"},
		{"ping without hook_id", "ping", `{"zen":"Design for failure."}`, "ping event: missing hook_id"},
		{"too big", "push", `{"ref":"` + strings.Repeat("x", github.MaxPayloadSize) + `"}`, "push event: payload is larger than 26214400 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := github.Parse(tt.header, []byte(tt.body))
			if err == nil {
				t.Fatalf("Parse() = %s; want error %q", dump(ev), tt.want)
			}
			if !errors.Is(err, github.ErrInvalidPayload) {
				t.Errorf("error %v does not wrap ErrInvalidPayload", err)
			}
			if got := strings.TrimPrefix(err.Error(), "invalid webhook payload: "); got != tt.want {
				t.Errorf("Parse() error\n got: %s\nwant: %s", got, tt.want)
			}
			if !reflect.DeepEqual(ev, github.Event{}) {
				t.Errorf("Parse() returned %s with its error; want the zero Event", dump(ev))
			}
		})
	}
}

func TestParseDetails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		event string
		body  string
		check func(t *testing.T, ev github.Event)
	}{
		{"head repository of a fork", "pull_request",
			`{"action":"opened","number":9,"pull_request":{"head":{"ref":"main","sha":"` + headSHA + `","repo":{"full_name":"ana-lima/shop"}},"base":{"ref":"main"}},"repository":{"full_name":"octo-org/shop"}}`,
			func(t *testing.T, ev github.Event) {
				if !ev.PR.Fork || ev.PR.HeadRepo != "ana-lima/shop" {
					t.Errorf("Fork, HeadRepo = %v, %q; want true, ana-lima/shop", ev.PR.Fork, ev.PR.HeadRepo)
				}
			}},
		{"deleted fork", "pull_request",
			`{"action":"closed","number":9,"pull_request":{"head":{"ref":"main","sha":"` + headSHA + `","repo":null},"base":{"ref":"main"}},"repository":{"full_name":"octo-org/shop"}}`,
			func(t *testing.T, ev github.Event) {
				if !ev.PR.Fork || ev.PR.HeadRepo != "" {
					t.Errorf("Fork, HeadRepo = %v, %q; want true, empty", ev.PR.Fork, ev.PR.HeadRepo)
				}
			}},
		{"same repository in another case", "pull_request",
			`{"action":"opened","number":9,"pull_request":{"head":{"ref":"x","sha":"` + headSHA + `","repo":{"full_name":"Octo-Org/Shop"}},"base":{"ref":"main"}},"repository":{"full_name":"octo-org/shop"}}`,
			func(t *testing.T, ev github.Event) {
				if ev.PR.Fork {
					t.Errorf("Fork = true for the same repository")
				}
			}},
		{"number only inside pull_request", "pull_request",
			`{"action":"opened","pull_request":{"number":9,"head":{"ref":"x","sha":"` + headSHA + `"},"base":{"ref":"main"}},"repository":{"full_name":"o/r"}}`,
			func(t *testing.T, ev github.Event) {
				if ev.PR.Number != 9 {
					t.Errorf("Number = %d; want 9", ev.PR.Number)
				}
			}},
		{"edited base branch", "pull_request",
			`{"action":"edited","number":9,"changes":{"base":{"ref":{"from":"develop"},"sha":{"from":"` + baseSHA + `"}}},"pull_request":{"head":{"ref":"x","sha":"` + headSHA + `"},"base":{"ref":"main"}},"repository":{"full_name":"o/r"}}`,
			func(t *testing.T, ev github.Event) {
				if ev.PR.PreviousBaseRef != "develop" || ev.PR.BaseRef != "main" {
					t.Errorf("PreviousBaseRef, BaseRef = %q, %q; want develop, main", ev.PR.PreviousBaseRef, ev.PR.BaseRef)
				}
			}},
		{"edited title", "pull_request",
			`{"action":"edited","number":9,"changes":{"title":{"from":"WIP"}},"pull_request":{"head":{"ref":"x","sha":"` + headSHA + `"},"base":{"ref":"main"}},"repository":{"full_name":"o/r"}}`,
			func(t *testing.T, ev github.Event) {
				if ev.PR.PreviousBaseRef != "" {
					t.Errorf("PreviousBaseRef = %q; want empty", ev.PR.PreviousBaseRef)
				}
			}},
		{"upper-case and SHA-256 ids", "pull_request",
			`{"action":"opened","number":9,"pull_request":{"head":{"ref":"x","sha":"` + strings.ToUpper(headSHA+headSHA[:24]) + `"},"base":{"ref":"main"}},"repository":{"full_name":"o/r"}}`,
			func(t *testing.T, ev github.Event) {
				if want := headSHA + headSHA[:24]; ev.PR.HeadSHA != want {
					t.Errorf("HeadSHA = %s; want %s", ev.PR.HeadSHA, want)
				}
			}},
		{"null labels and unnamed label", "pull_request",
			`{"action":"opened","number":9,"pull_request":{"labels":[null,{"name":""},{"name":"Preview"}],"head":{"ref":"x","sha":"` + headSHA + `"},"base":{"ref":"main"}},"repository":{"full_name":"o/r"}}`,
			func(t *testing.T, ev github.Event) {
				if !reflect.DeepEqual(ev.PR.Labels, []string{"Preview"}) {
					t.Errorf("Labels = %q; want [Preview]", ev.PR.Labels)
				}
			}},
		{"annotated tag", "push",
			`{"ref":"refs/tags/v2","before":"` + zeroSHA + `","after":"` + prevHeadSHA + `","created":true,"head_commit":{"id":"` + mergeSHA + `"},"repository":{"full_name":"o/r"}}`,
			func(t *testing.T, ev github.Event) {
				if ev.Push.After != prevHeadSHA || ev.Push.HeadCommit != mergeSHA || ev.Push.Tag != "v2" {
					t.Errorf("Push = %+v; want After the tag object, HeadCommit the commit", *ev.Push)
				}
			}},
		{"push without head_commit", "push",
			`{"ref":"refs/heads/main","before":"` + baseSHA + `","after":"` + mergeSHA + `","head_commit":null,"repository":{"full_name":"o/r"}}`,
			func(t *testing.T, ev github.Event) {
				if ev.Push.HeadCommit != mergeSHA {
					t.Errorf("HeadCommit = %q; want After", ev.Push.HeadCommit)
				}
			}},
		{"push of another ref", "push",
			`{"ref":"refs/notes/commits","before":"` + baseSHA + `","after":"` + mergeSHA + `","repository":{"full_name":"o/r"}}`,
			func(t *testing.T, ev github.Event) {
				if ev.Push.Branch != "" || ev.Push.Tag != "" {
					t.Errorf("Branch, Tag = %q, %q; want both empty", ev.Push.Branch, ev.Push.Tag)
				}
			}},
		{"deleted inferred from a zero after", "push",
			`{"ref":"refs/heads/x","before":"` + baseSHA + `","after":"` + zeroSHA + `","repository":{"full_name":"o/r"}}`,
			func(t *testing.T, ev github.Event) {
				if !ev.Push.Deleted || ev.Push.HeadCommit != "" {
					t.Errorf("Deleted, HeadCommit = %v, %q; want true, empty", ev.Push.Deleted, ev.Push.HeadCommit)
				}
			}},
		{"ping of an organization hook", "ping",
			`{"zen":"Approachable is better than simple.","hook_id":5,"hook":{"type":"Organization","events":["*"],"config":{"content_type":"form"}},"organization":{"login":"octo-org"},"sender":{"login":"kenji-sato"}}`,
			func(t *testing.T, ev github.Event) {
				if ev.Repository != (github.Repo{}) {
					t.Errorf("Repository = %+v; want zero", ev.Repository)
				}
				if !ev.Ping.Subscribed("pull_request") || ev.Ping.ContentType != "form" {
					t.Errorf("Ping = %+v; want subscribed to everything, form", *ev.Ping)
				}
			}},
		{"leading white space", "push", "\n " + `{"ref":"refs/heads/x","before":"` + baseSHA + `","after":"` + mergeSHA + `","repository":{"full_name":"o/r"}}`,
			func(t *testing.T, ev github.Event) {
				if ev.Push.Branch != "x" {
					t.Errorf("Branch = %q; want x", ev.Push.Branch)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := github.Parse(tt.event, []byte(tt.body))
			if err != nil {
				t.Fatalf("Parse() error: %v", err)
			}
			tt.check(t, ev)
		})
	}
}

func TestPingSubscribed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []string
		event  string
		want   bool
	}{
		{"listed", []string{"push", "pull_request"}, "pull_request", true},
		{"not listed", []string{"push"}, "pull_request", false},
		{"wildcard", []string{"*"}, "push", true},
		{"none", nil, "push", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &github.Ping{Events: tt.events}
			if got := p.Subscribed(tt.event); got != tt.want {
				t.Errorf("Subscribed(%q) = %v; want %v", tt.event, got, tt.want)
			}
		})
	}
}

// dump formats an event with the structs its pointers point at.
func dump(ev github.Event) string {
	s := fmt.Sprintf("Kind=%s Name=%s Action=%s Sender=%s\n  Repository=%+v", ev.Kind, ev.Name, ev.Action, ev.Sender, ev.Repository)
	if ev.PR != nil {
		s += fmt.Sprintf("\n  PR=%+v", *ev.PR)
	}
	if ev.Push != nil {
		s += fmt.Sprintf("\n  Push=%+v", *ev.Push)
	}
	if ev.Ping != nil {
		s += fmt.Sprintf("\n  Ping=%+v", *ev.Ping)
	}
	return s
}

// The cap is on the payload, not on the body: a form-encoded payload under
// it may make a body over it.
func TestPayloadCapIsOnThePayload(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/push.main.json")
	if err != nil {
		t.Fatal(err)
	}
	// padded is the payload with a field of n c's, form-encoded.
	padded := func(c string, n int) []byte {
		js := strings.Replace(string(body), `"ref":`, `"padding": "`+strings.Repeat(c, n)+`", "ref":`, 1)
		return []byte("payload=" + url.QueryEscape(js))
	}
	under := padded("{", github.MaxPayloadSize-len(body)-100)
	if len(under) <= github.MaxPayloadSize || len(under) > github.MaxBodySize {
		t.Fatalf("the form body is %d bytes: want over the payload cap, under MaxBodySize", len(under))
	}
	if n := github.PayloadSize(under); n > github.MaxPayloadSize || n < github.MaxPayloadSize-200 {
		t.Errorf("PayloadSize = %d, want the JSON's size, just under %d", n, github.MaxPayloadSize)
	}
	if ev, err := github.Parse("push", under); err != nil || ev.Push == nil || ev.Push.Branch != "main" {
		t.Errorf("a form-encoded payload under the cap: %+v, %v", ev, err)
	}
	over := padded("a", github.MaxPayloadSize) // under MaxBodySize: "a" is not escaped
	if n := github.PayloadSize(over); n <= github.MaxPayloadSize {
		t.Errorf("PayloadSize = %d, want over %d", n, github.MaxPayloadSize)
	}
	if _, err := github.Parse("push", over); err == nil || !strings.Contains(err.Error(), "payload is larger than") {
		t.Errorf("a form-encoded payload over the cap: %v", err)
	}
	for in, want := range map[string]int{`{"a":1}`: 7, "  \n{}": 2, "payload=%7B%7D": 2, "x=1&payload=%7B+%7D": 3, "not a payload": 13} {
		if got := github.PayloadSize([]byte(in)); got != want {
			t.Errorf("PayloadSize(%q) = %d, want %d", in, got, want)
		}
	}
}
