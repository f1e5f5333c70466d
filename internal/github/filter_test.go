package github_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/github"
	"github.com/liftoffhq/liftoff/internal/watch"
)

func TestMatchPR(t *testing.T) {
	t.Parallel()
	pr := func(base, head string, labels ...string) github.PullRequest {
		return github.PullRequest{Number: 42, BaseRef: base, HeadRef: head, HeadSHA: headSHA, Labels: labels}
	}
	tests := []struct {
		name    string
		filter  *config.Filter
		pr      github.PullRequest
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
			ok, why := github.MatchPR(tt.filter, tt.pr)
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
			if ok, why := github.MatchPR(filter, *ev.PR); ok != tt.want {
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
			if got := github.NeedsFiles(tt.filter); got != tt.want {
				t.Errorf("NeedsFiles() = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestMatchFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		watchPaths []string
		files      []string
		wantWhy    string // empty: matches
	}{
		{"no watchPaths", nil, []string{"docs/a.md"}, ""},
		{"no watchPaths, no files", nil, nil, ""},
		{"one matches", []string{"apps/api/**"}, []string{"docs/a.md", "apps/api/main.go"}, ""},
		{"none matches", []string{"apps/api/**"}, []string{"docs/a.md", "README.md"},
			"none of the 2 changed files matches watchPaths [apps/api/**]"},
		{"single file misses", []string{"apps/api/**"}, []string{"docs/a.md"},
			"the changed file docs/a.md does not match watchPaths [apps/api/**]"},
		{"no files", []string{"apps/**"}, nil,
			"the pull request changes no files, and watchPaths [apps/**] needs a matching change"},
		{"leading exclusion has an implicit **", []string{"!docs/**"}, []string{"src/a.go"}, ""},
		{"leading exclusion excludes", []string{"!docs/**"}, []string{"docs/a.md", "docs/b/c.md"},
			"none of the 2 changed files matches watchPaths [!docs/**]"},
		{"last match wins: excluded", []string{"apps/**", "!apps/**/*.md"}, []string{"apps/api/README.md"},
			"the changed file apps/api/README.md does not match watchPaths [apps/**, !apps/**/*.md]"},
		{"last match wins: included again", []string{"apps/**", "!apps/**/*.md", "apps/api/README.md"}, []string{"apps/api/README.md"}, ""},
		{"order matters", []string{"!apps/**/*.md", "apps/**"}, []string{"apps/api/README.md"}, ""},
		{"suffix glob", []string{"**/*.proto"}, []string{"a/b/c.proto"}, ""},
		{"dot directory", []string{"**/*.yml"}, []string{".github/workflows/ci.yml"}, ""},
		{"case-sensitive paths", []string{"Apps/**"}, []string{"apps/x"},
			"the changed file apps/x does not match watchPaths [Apps/**]"},
		{"leading ./ ignored", []string{"./apps/"}, []string{"apps/x"}, ""},
		{"renamed file counts with its old path", []string{"legacy/**"}, []string{"legacy/a.go", "src/a.go"}, ""},
		{"invalid pattern", []string{"apps/[api"}, []string{"apps/api"},
			`the filter is invalid: watchPaths[0] "apps/[api": unterminated character class`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &config.Filter{WatchPaths: tt.watchPaths, ToBranches: []string{"ignored-here"}}
			ok, why := github.MatchFiles(f, tt.files)
			if ok != (tt.wantWhy == "") || why != tt.wantWhy {
				t.Errorf("MatchFiles() = %v, %q; want %v, %q", ok, why, tt.wantWhy == "", tt.wantWhy)
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
	if ok, _ := github.MatchFiles(nil, nil); !ok {
		t.Error("MatchFiles(nil filter) = false; want true")
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
			pr := github.PullRequest{Number: 42, BaseRef: "main", HeadRef: "x", Labels: tt.labels}
			if got := github.LabelStartsMatching(tt.filter, pr, tt.added); got != tt.want {
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
		if !github.LabelStartsMatching(&config.Filter{Labels: []string{"preview"}}, *ev.PR, ev.PR.Label) {
			t.Error("adding preview to a PR labeled enhancement should start matching [preview]")
		}
		if github.LabelStartsMatching(&config.Filter{Labels: []string{"preview", "enhancement"}}, *ev.PR, ev.PR.Label) {
			t.Error("the PR already matched [preview, enhancement] through enhancement")
		}
	})
}

func TestCheckFilter(t *testing.T) {
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
			err := github.CheckFilter(tt.filter)
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
