package github_test

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/github"
)

// FuzzParse feeds Parse arbitrary event names and bodies. It must never
// panic; an error must wrap ErrInvalidPayload and come with the zero Event;
// an event must be consistent with its kind and carry what Parse promises
// is required.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		event, _, _ := strings.Cut(filepath.Base(file), ".")
		f.Add(event, body)
		f.Add(event, []byte(url.Values{"payload": {string(body)}}.Encode()))
	}
	for _, s := range []struct{ event, body string }{
		{"push", `{"ref":"refs/heads/x","before":"` + zeroSHA + `","after":"` + zeroSHA + `","repository":{"full_name":"o/r"}}`},
		{"pull_request", `{"action":"opened","number":-1,"pull_request":{"head":{"ref":"x","sha":"` + headSHA + `"},"base":{"ref":"y"}},"repository":{"full_name":"o/r"}}`},
		{"pull_request", `{"pull_request":null}`},
		{"ping", `{"hook_id":1e40}`},
		{"ping", `payload=%7B%22hook_id%22%3A1%7D`},
		{"push", "payload=%zz"},
		{"push", "null"},
		{"issues", ""},
		{"", "{}"},
	} {
		f.Add(s.event, []byte(s.body))
	}

	f.Fuzz(func(t *testing.T, event string, body []byte) {
		ev, err := github.Parse(event, body)
		if err != nil {
			if !errors.Is(err, github.ErrInvalidPayload) {
				t.Fatalf("error %v does not wrap ErrInvalidPayload", err)
			}
			if ev.Kind != "" || ev.PR != nil || ev.Push != nil || ev.Ping != nil {
				t.Fatalf("Parse() returned an event with its error: %s", dump(ev))
			}
			return
		}
		set := 0
		for _, p := range []bool{ev.PR != nil, ev.Push != nil, ev.Ping != nil} {
			if p {
				set++
			}
		}
		switch ev.Kind {
		case github.KindIgnored:
			if set != 0 || ev.Name == "" {
				t.Fatalf("ignored event with details: %s", dump(ev))
			}
		case github.KindPullRequest:
			pr := ev.PR
			if set != 1 || pr == nil {
				t.Fatalf("pull_request event without PR: %s", dump(ev))
			}
			if ev.Action == "" || pr.Number <= 0 || pr.HeadRef == "" || pr.BaseRef == "" || ev.Repository.FullName == "" {
				t.Fatalf("pull_request event without a required field: %s", dump(ev))
			}
			if len(pr.HeadSHA) != 40 && len(pr.HeadSHA) != 64 || strings.ToLower(pr.HeadSHA) != pr.HeadSHA {
				t.Fatalf("HeadSHA %q is not a lower-case commit id", pr.HeadSHA)
			}
		case github.KindPush:
			p := ev.Push
			if set != 1 || p == nil {
				t.Fatalf("push event without Push: %s", dump(ev))
			}
			if p.Ref == "" || ev.Repository.FullName == "" || len(p.Before) < 40 || len(p.After) < 40 {
				t.Fatalf("push event without a required field: %s", dump(ev))
			}
			if p.Deleted != (p.HeadCommit == "") {
				t.Fatalf("Deleted = %v but HeadCommit = %q", p.Deleted, p.HeadCommit)
			}
			if p.Branch != "" && p.Tag != "" {
				t.Fatalf("both Branch %q and Tag %q", p.Branch, p.Tag)
			}
		case github.KindPing:
			if set != 1 || ev.Ping == nil || ev.Ping.HookID == 0 {
				t.Fatalf("ping event without Ping: %s", dump(ev))
			}
		default:
			t.Fatalf("unknown Kind %q", ev.Kind)
		}
	})
}
