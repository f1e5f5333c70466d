package prfilter_test

import (
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/prfilter"
	"github.com/liftoffhq/liftoff/internal/watch"
)

// FuzzFilter feeds a filter of one pattern per list arbitrary patterns, a
// pull request and a changed file. It must never panic; a refusal always
// says why and a match never does; a filter Check accepts never fails to
// match files; the files part agrees with package watch; a branch always
// matches itself and a label added to a filter's labels starts matching.
func FuzzFilter(f *testing.F) {
	for _, s := range []struct{ to, from, label, watchPath, base, head, prLabel, file string }{
		{"main", "feature/**", "preview", "apps/**", "main", "feature/a", "preview", "apps/api/main.go"},
		{"release/*", "", "", "!docs/**", "release/1.4/x", "x", "", "docs/a.md"},
		{"refs/heads/main", "{a,b}", "Preview", "./apps/", "main", "b", "PREVIEW", "apps"},
		{"release/[", "[", "", "apps/[api", "", "", "", ""},
		{"**", "*", "needs preview", "**/*.proto", "a/b", "c", "Needs Preview", "a/b/c.proto"},
		{"", "refs/heads/", "", "!", "main", "main", "", "/"},
		{"", "", "", "", "refs/heads/x", "", "", ""},
	} {
		f.Add(s.to, s.from, s.label, s.watchPath, s.base, s.head, s.prLabel, s.file)
	}
	f.Fuzz(func(t *testing.T, to, from, label, watchPath, base, head, prLabel, file string) {
		var cf config.Filter
		if to != "" {
			cf.ToBranches = []string{to}
		}
		if from != "" {
			cf.FromBranches = []string{from}
		}
		if label != "" {
			cf.Labels = []string{label}
		}
		if watchPath != "" {
			cf.WatchPaths = []string{watchPath}
		}
		filter := prfilter.New(&cf)
		var labels []string
		if prLabel != "" {
			labels = []string{prLabel}
		}
		pr := prfilter.PullRequest{Base: base, Head: head, Labels: labels}

		ok, why := filter.MatchPR(pr)
		if ok != (why == "") {
			t.Fatalf("MatchPR() = %v, %q: a refusal must say why, a match must not", ok, why)
		}
		if ok, why := (prfilter.Filter{}).MatchPR(pr); !ok || why != "" {
			t.Fatalf("the empty filter refused %+v: %s", pr, why)
		}
		// A pattern written as a full ref means the branch, so a branch
		// itself named refs/heads/... cannot be listed as is.
		if base != "" && !strings.HasPrefix(base, "refs/heads/") {
			if ok, why := prfilter.New(&config.Filter{ToBranches: []string{base}}).MatchPR(pr); !ok {
				t.Fatalf("toBranches [%q] refused its own base branch: %s", base, why)
			}
		}
		if prLabel != "" {
			withLabel := prfilter.New(&config.Filter{Labels: []string{prLabel}})
			if !withLabel.LabelStartsMatching(labels, prLabel) {
				t.Fatalf("adding %q did not start matching labels [%q]", prLabel, prLabel)
			}
			if ok, why := withLabel.MatchPR(pr); !ok {
				t.Fatalf("labels [%q] refused a pull request carrying it: %s", prLabel, why)
			}
		}

		files := []string{file}
		ok, why, err := filter.MatchFiles(files, "abc1234")
		checkErr := filter.Check()
		if err != nil {
			if checkErr == nil {
				t.Fatalf("MatchFiles() error %v, but Check() accepts the filter", err)
			}
			return
		}
		if ok != (why == "") {
			t.Fatalf("MatchFiles() = %v, %q: a refusal must say why, a match must not", ok, why)
		}
		if filter.NeedsFiles() {
			m, err := watch.Compile(filter.WatchPaths())
			if err != nil {
				t.Fatalf("MatchFiles() compiled %q but watch.Compile refuses it: %v", watchPath, err)
			}
			if want := m.Match(file); want != ok {
				t.Fatalf("MatchFiles(%q) = %v; watch.Matcher says %v", file, ok, want)
			}
		} else if !ok {
			t.Fatal("a filter without watchPaths refused files")
		}
	})
}
