package prfilter_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/github"
	"github.com/liftoffhq/liftoff/internal/prfilter"
	"github.com/liftoffhq/liftoff/internal/watch"
)

// fixture reads one of the GitHub payloads recorded for package github.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "github", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pullRequest is what dispatch gives the filter from an event.
func pullRequest(pr github.PullRequest) prfilter.PullRequest {
	return prfilter.PullRequest{Base: pr.BaseRef, Head: pr.HeadRef, Labels: pr.Labels}
}

func TestMatchPR(t *testing.T) {
	t.Parallel()
	pr := func(base, head string, labels ...string) prfilter.PullRequest {
		return prfilter.PullRequest{Base: base, Head: head, Labels: labels}
	}
	tests := []struct {
		name    string
		filter  *config.Filter
		pr      prfilter.PullRequest
		wantWhy string // empty: matches
	}{
		{"nil filter", nil, pr("develop", "x"), ""},
		{"empty filter", &config.Filter{}, pr("develop", "x"), ""},
		{"empty lists", &config.Filter{ToBranches: []string{}, Labels: []string{}}, pr("develop", "x"), ""},
		{"watchPaths alone are not decided here", &config.Filter{WatchPaths: []string{"apps/**"}}, pr("main", "x"), ""},

		{"toBranches exact", &config.Filter{ToBranches: []string{"main"}}, pr("main", "x"), ""},
		{"toBranches second entry", &config.Filter{ToBranches: []string{"main", "develop"}}, pr("develop", "x"), ""},
		{"toBranches miss", &config.Filter{ToBranches: []string{"main"}}, pr("develop", "x"),
			"base branch develop is not in toBranches [main]"},
		{"toBranches miss lists every pattern", &config.Filter{ToBranches: []string{"main", "release/*"}}, pr("develop", "x"),
			"base branch develop is not in toBranches [main, release/*]"},
		{"toBranches star", &config.Filter{ToBranches: []string{"release/*"}}, pr("release/1.4", "x"), ""},
		{"toBranches star does not cross slash", &config.Filter{ToBranches: []string{"release/*"}}, pr("release/1.4/hotfix", "x"),
			"base branch release/1.4/hotfix is not in toBranches [release/*]"},
		{"toBranches star needs the directory", &config.Filter{ToBranches: []string{"release/*"}}, pr("release", "x"),
			"base branch release is not in toBranches [release/*]"},
		{"toBranches case-sensitive", &config.Filter{ToBranches: []string{"main"}}, pr("Main", "x"),
			"base branch Main is not in toBranches [main]"},
		{"toBranches full ref", &config.Filter{ToBranches: []string{"refs/heads/main"}}, pr("main", "x"), ""},
		{"toBranches alternatives", &config.Filter{ToBranches: []string{"{main,develop}"}}, pr("develop", "x"), ""},
		{"toBranches class", &config.Filter{ToBranches: []string{"v[0-9].x"}}, pr("v2.x", "x"), ""},
		{"toBranches match everything", &config.Filter{ToBranches: []string{"**"}}, pr("a/b/c", "x"), ""},
		{"toBranches is not about the head", &config.Filter{ToBranches: []string{"feature/**"}}, pr("main", "feature/a"),
			"base branch main is not in toBranches [feature/**]"},
		{"toBranches invalid pattern", &config.Filter{ToBranches: []string{"release/["}}, pr("develop", "x"),
			`base branch develop is not in toBranches [release/[] (toBranches[0] "release/[" is not a valid glob pattern)`},
		{"toBranches invalid pattern beside a match", &config.Filter{ToBranches: []string{"release/[", "main"}}, pr("main", "x"), ""},
		{"toBranches literal branch with braces", &config.Filter{ToBranches: []string{"a{b"}}, pr("a{b", "x"), ""},

		{"fromBranches exact", &config.Filter{FromBranches: []string{"feature/checkout"}}, pr("main", "feature/checkout"), ""},
		{"fromBranches double star", &config.Filter{FromBranches: []string{"feature/**"}}, pr("main", "feature/checkout/v2"), ""},
		{"fromBranches double star one level", &config.Filter{FromBranches: []string{"feature/**"}}, pr("main", "feature/checkout"), ""},
		{"fromBranches star", &config.Filter{FromBranches: []string{"feature/*"}}, pr("main", "feature/checkout/v2"),
			"head branch feature/checkout/v2 is not in fromBranches [feature/*]"},
		{"fromBranches miss", &config.Filter{FromBranches: []string{"feature/**"}}, pr("main", "hotfix/login"),
			"head branch hotfix/login is not in fromBranches [feature/**]"},
		{"fromBranches prefix glob", &config.Filter{FromBranches: []string{"dependabot/**", "renovate-*"}}, pr("main", "renovate-react"), ""},

		{"labels one of", &config.Filter{Labels: []string{"preview", "deploy"}}, pr("main", "x", "bug", "deploy"), ""},
		{"labels case-insensitive", &config.Filter{Labels: []string{"Preview"}}, pr("main", "x", "PREVIEW"), ""},
		{"labels with spaces", &config.Filter{Labels: []string{"needs preview"}}, pr("main", "x", "Needs Preview"), ""},
		{"labels miss", &config.Filter{Labels: []string{"preview"}}, pr("main", "x", "enhancement", "bug"),
			"the pull request has none of the labels [preview] (it has [enhancement, bug])"},
		{"labels none on the PR", &config.Filter{Labels: []string{"preview", "deploy"}}, pr("main", "x"),
			"the pull request has none of the labels [preview, deploy] (it has no labels)"},
		{"labels are not globs", &config.Filter{Labels: []string{"preview*"}}, pr("main", "x", "preview-me"),
			"the pull request has none of the labels [preview*] (it has [preview-me])"},

		{"all kinds match", &config.Filter{ToBranches: []string{"main"}, FromBranches: []string{"feature/**"}, Labels: []string{"preview"}},
			pr("main", "feature/checkout", "preview"), ""},
		{"all kinds, base fails first", &config.Filter{ToBranches: []string{"main"}, FromBranches: []string{"feature/**"}, Labels: []string{"preview"}},
			pr("develop", "hotfix", "bug"), "base branch develop is not in toBranches [main]"},
		{"all kinds, head fails", &config.Filter{ToBranches: []string{"main"}, FromBranches: []string{"feature/**"}, Labels: []string{"preview"}},
			pr("main", "hotfix", "preview"), "head branch hotfix is not in fromBranches [feature/**]"},
		{"all kinds, labels fail", &config.Filter{ToBranches: []string{"main"}, FromBranches: []string{"feature/**"}, Labels: []string{"preview"}},
			pr("main", "feature/a"), "the pull request has none of the labels [preview] (it has no labels)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, why := prfilter.New(tt.filter).MatchPR(tt.pr)
			if ok != (tt.wantWhy == "") || why != tt.wantWhy {
				t.Errorf("MatchPR() = %v, %q; want %v, %q", ok, why, tt.wantWhy == "", tt.wantWhy)
			}
		})
	}
}

func TestMatchPRFixtures(t *testing.T) {
	t.Parallel()
	filter := &config.Filter{ToBranches: []string{"main"}, FromBranches: []string{"feature/**"}, Labels: []string{"preview"}}
	tests := []struct {
		file string
		want bool
	}{
		{"pull_request.opened.json", false}, // only "enhancement"
		{"pull_request.labeled.json", true},
		{"pull_request.reopened.json", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			ev, err := github.Parse("pull_request", fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if ok, why := prfilter.New(filter).MatchPR(pullRequest(*ev.PR)); ok != tt.want {
				t.Errorf("MatchPR() = %v, %q; want %v", ok, why, tt.want)
			}
		})
	}
}

func TestNeedsFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		filter *config.Filter
		want   bool
	}{
		{"nil", nil, false},
		{"empty", &config.Filter{}, false},
		{"branches and labels only", &config.Filter{ToBranches: []string{"main"}, Labels: []string{"preview"}}, false},
		{"watchPaths", &config.Filter{WatchPaths: []string{"apps/**"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := prfilter.New(tt.filter).NeedsFiles(); got != tt.want {
				t.Errorf("NeedsFiles() = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestMatchFiles(t *testing.T) {
	t.Parallel()
	const nothing = "no file the pull request changes (%d since abc1234) matches the preview filter's watchPaths"
	tests := []struct {
		name       string
		watchPaths []string
		files      []string
		wantWhy    string // empty: matches
		wantErr    string
	}{
		{name: "no watchPaths", files: []string{"docs/a.md"}},
		{name: "no watchPaths, no files"},
		{name: "one matches", watchPaths: []string{"apps/api/**"}, files: []string{"docs/a.md", "apps/api/main.go"}},
		{name: "none matches", watchPaths: []string{"apps/api/**"}, files: []string{"docs/a.md", "README.md"},
			wantWhy: strings.ReplaceAll(nothing, "%d", "2")},
		{name: "single file misses", watchPaths: []string{"apps/api/**"}, files: []string{"docs/a.md"},
			wantWhy: strings.ReplaceAll(nothing, "%d", "1")},
		{name: "no files", watchPaths: []string{"apps/**"}, wantWhy: strings.ReplaceAll(nothing, "%d", "0")},
		{name: "leading exclusion has an implicit **", watchPaths: []string{"!docs/**"}, files: []string{"src/a.go"}},
		{name: "leading exclusion excludes", watchPaths: []string{"!docs/**"}, files: []string{"docs/a.md", "docs/b/c.md"},
			wantWhy: strings.ReplaceAll(nothing, "%d", "2")},
		{name: "last match wins: excluded", watchPaths: []string{"apps/**", "!apps/**/*.md"}, files: []string{"apps/api/README.md"},
			wantWhy: strings.ReplaceAll(nothing, "%d", "1")},
		{name: "last match wins: included again", watchPaths: []string{"apps/**", "!apps/**/*.md", "apps/api/README.md"},
			files: []string{"apps/api/README.md"}},
		{name: "order matters", watchPaths: []string{"!apps/**/*.md", "apps/**"}, files: []string{"apps/api/README.md"}},
		{name: "suffix glob", watchPaths: []string{"**/*.proto"}, files: []string{"a/b/c.proto"}},
		{name: "dot directory", watchPaths: []string{"**/*.yml"}, files: []string{".github/workflows/ci.yml"}},
		{name: "case-sensitive paths", watchPaths: []string{"Apps/**"}, files: []string{"apps/x"},
			wantWhy: strings.ReplaceAll(nothing, "%d", "1")},
		{name: "leading ./ ignored", watchPaths: []string{"./apps/"}, files: []string{"apps/x"}},
		{name: "renamed file counts with its old path", watchPaths: []string{"legacy/**"}, files: []string{"legacy/a.go", "src/a.go"}},
		{name: "renamed file counts with its new path", watchPaths: []string{"src/**"}, files: []string{"legacy/a.go", "src/a.go"}},
		{name: "invalid pattern", watchPaths: []string{"apps/[api"}, files: []string{"apps/api"},
			wantErr: `watchPaths[0] "apps/[api": unterminated character class`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := prfilter.New(&config.Filter{WatchPaths: tt.watchPaths, ToBranches: []string{"ignored-here"}})
			ok, why, err := f.MatchFiles(tt.files, "abc1234")
			if tt.wantErr != "" {
				var pe *watch.PatternError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &pe) || ok {
					t.Fatalf("MatchFiles() = %v, %v; want the error %s", ok, err, tt.wantErr)
				}
				return
			}
			if err != nil || ok != (tt.wantWhy == "") || why != tt.wantWhy {
				t.Errorf("MatchFiles() = %v, %q, %v; want %v, %q", ok, why, err, tt.wantWhy == "", tt.wantWhy)
			}
			// The semantics are package watch's: agree with a Matcher on
			// whether any file is watched.
			if m, err := watch.Compile(tt.watchPaths); err == nil && len(tt.watchPaths) > 0 {
				watched := false
				for _, p := range tt.files {
					watched = watched || m.Match(p)
				}
				if watched != ok {
					t.Errorf("MatchFiles() = %v; watch.Matcher says %v", ok, watched)
				}
			}
		})
	}
	if ok, _, err := prfilter.New(nil).MatchFiles(nil, ""); !ok || err != nil {
		t.Errorf("MatchFiles(nil filter) = %v, %v; want true", ok, err)
	}
}

func TestLabelStartsMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		filter *config.Filter
		labels []string // after the label was added
		added  string
		want   bool
	}{
		{"first matching label", &config.Filter{Labels: []string{"preview"}}, []string{"enhancement", "preview"}, "preview", true},
		{"only label", &config.Filter{Labels: []string{"preview"}}, []string{"preview"}, "preview", true},
		{"case-insensitive", &config.Filter{Labels: []string{"Preview"}}, []string{"PREVIEW"}, "preview", true},
		{"second matching label", &config.Filter{Labels: []string{"preview", "deploy"}}, []string{"preview", "deploy"}, "deploy", false},
		{"second matching label in another case", &config.Filter{Labels: []string{"preview", "deploy"}}, []string{"Preview", "deploy"}, "deploy", false},
		{"unrelated label", &config.Filter{Labels: []string{"preview"}}, []string{"preview", "bug"}, "bug", false},
		{"unrelated label on a PR without the filter label", &config.Filter{Labels: []string{"preview"}}, []string{"bug"}, "bug", false},
		{"no label filter", &config.Filter{ToBranches: []string{"main"}}, []string{"preview"}, "preview", false},
		{"nil filter", nil, []string{"preview"}, "preview", false},
		{"labels not yet in the payload", &config.Filter{Labels: []string{"preview"}}, nil, "preview", true},
		{"empty label", &config.Filter{Labels: []string{""}}, []string{""}, "", false},
		{"branches are not considered", &config.Filter{ToBranches: []string{"release/*"}, Labels: []string{"preview"}}, []string{"preview"}, "preview", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := prfilter.New(tt.filter).LabelStartsMatching(tt.labels, tt.added); got != tt.want {
				t.Errorf("LabelStartsMatching(%q) = %v; want %v", tt.added, got, tt.want)
			}
		})
	}

	t.Run("labeled fixture", func(t *testing.T) {
		t.Parallel()
		ev, err := github.Parse("pull_request", fixture(t, "pull_request.labeled.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !prfilter.New(&config.Filter{Labels: []string{"preview"}}).LabelStartsMatching(ev.PR.Labels, ev.PR.Label) {
			t.Error("adding preview to a PR labeled enhancement should start matching [preview]")
		}
		if prfilter.New(&config.Filter{Labels: []string{"preview", "enhancement"}}).LabelStartsMatching(ev.PR.Labels, ev.PR.Label) {
			t.Error("the PR already matched [preview, enhancement] through enhancement")
		}
	})
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		filter *config.Filter
		want   string // empty: valid
	}{
		{"nil", nil, ""},
		{"valid", &config.Filter{ToBranches: []string{"main", "release/*", "refs/heads/x"}, FromBranches: []string{"feature/**", "{a,b}"}, WatchPaths: []string{"!docs/**"}}, ""},
		{"invalid toBranches", &config.Filter{ToBranches: []string{"main", "release/["}}, `filter.toBranches[1] "release/[" is not a valid glob pattern`},
		{"empty fromBranches entry", &config.Filter{FromBranches: []string{""}}, `filter.fromBranches[0] "" is not a valid glob pattern`},
		{"bare refs/heads/", &config.Filter{FromBranches: []string{"refs/heads/"}}, `filter.fromBranches[0] "refs/heads/" is not a valid glob pattern`},
		{"invalid watchPaths", &config.Filter{WatchPaths: []string{"a", "{b"}}, `filter.watchPaths[1] "{b": "{" without a matching "}"`},
		{"every problem", &config.Filter{ToBranches: []string{"["}, FromBranches: []string{"{"}, WatchPaths: []string{"["}},
			`filter.toBranches[0] "[" is not a valid glob pattern` + "\n" +
				`filter.fromBranches[0] "{" is not a valid glob pattern` + "\n" +
				`filter.watchPaths[0] "[": unterminated character class`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := prfilter.New(tt.filter).Check()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("CheckFilter() error\n got: %s\nwant: %s", got, tt.want)
			}
			if strings.Contains(tt.want, "watchPaths") {
				var pe *watch.PatternError
				if !errors.As(err, &pe) {
					t.Errorf("error does not wrap a *watch.PatternError")
				}
			}
		})
	}
}
