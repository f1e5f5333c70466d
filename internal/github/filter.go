package github

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/watch"
)

// MatchPR reports whether pr passes the branch and label parts of a preview
// environment's filter (see the package documentation for the semantics).
// When it does not, why is one sentence naming the first rule that failed,
// for logs and for answers to whoever asked for the deployment. A nil or
// empty filter matches every pull request. The watchPaths part needs the
// pull request's changed files: see NeedsFiles and MatchFiles.
func MatchPR(f *config.Filter, pr PullRequest) (ok bool, why string) {
	if f == nil {
		return true, ""
	}
	if len(f.ToBranches) > 0 && !matchBranch(f.ToBranches, pr.BaseRef) {
		return false, fmt.Sprintf("base branch %s is not in toBranches %s%s", pr.BaseRef, list(f.ToBranches), invalidNote("toBranches", f.ToBranches))
	}
	if len(f.FromBranches) > 0 && !matchBranch(f.FromBranches, pr.HeadRef) {
		return false, fmt.Sprintf("head branch %s is not in fromBranches %s%s", pr.HeadRef, list(f.FromBranches), invalidNote("fromBranches", f.FromBranches))
	}
	if len(f.Labels) > 0 && !hasLabel(f.Labels, pr.Labels) {
		has := "it has no labels"
		if len(pr.Labels) > 0 {
			has = "it has " + list(pr.Labels)
		}
		return false, fmt.Sprintf("the pull request has none of the labels %s (%s)", list(f.Labels), has)
	}
	return true, ""
}

// NeedsFiles reports whether deciding f needs the pull request's changed
// files, which a webhook payload does not carry: f has watchPaths.
func NeedsFiles(f *config.Filter) bool {
	return f != nil && len(f.WatchPaths) > 0
}

// MatchFiles reports whether the changed files of a pull request pass the
// watchPaths of f: at least one of them is watched, with the semantics of a
// service's watchPaths (package watch). files are repository-relative
// paths as git prints them, a renamed file counting with its old and its new
// path. A filter without watchPaths matches any files, none included. When
// the files do not match, why is one sentence saying so; invalid
// watchPaths (which config validation rejects) match nothing.
func MatchFiles(f *config.Filter, files []string) (ok bool, why string) {
	if !NeedsFiles(f) {
		return true, ""
	}
	m, err := watch.Compile(f.WatchPaths)
	if err != nil {
		return false, "the filter is invalid: " + err.Error()
	}
	for _, p := range files {
		if m.Match(p) {
			return true, ""
		}
	}
	switch len(files) {
	case 0:
		return false, fmt.Sprintf("the pull request changes no files, and watchPaths %s needs a matching change", list(f.WatchPaths))
	case 1:
		return false, fmt.Sprintf("the changed file %s does not match watchPaths %s", files[0], list(f.WatchPaths))
	}
	return false, fmt.Sprintf("none of the %d changed files matches watchPaths %s", len(files), list(f.WatchPaths))
}

// LabelStartsMatching reports whether adding the label added to pr (a
// labeled event, whose pr.Labels already include it) is what makes pr pass
// the labels of f: added is one of them, and pr did not already carry
// another. It says nothing about the other parts of the filter; call
// MatchPR too. With no labels in f, adding a label changes nothing and the
// answer is false.
func LabelStartsMatching(f *config.Filter, pr PullRequest, added string) bool {
	if f == nil || added == "" || !hasLabel(f.Labels, []string{added}) {
		return false
	}
	others := make([]string, 0, len(pr.Labels))
	for _, l := range pr.Labels {
		if !strings.EqualFold(l, added) {
			others = append(others, l)
		}
	}
	return !hasLabel(f.Labels, others)
}

// CheckFilter reports the branch patterns of f that are not valid globs,
// and invalid watchPaths, naming each with its field and index. MatchPR and
// MatchFiles treat an invalid pattern as matching nothing.
func CheckFilter(f *config.Filter) error {
	if f == nil {
		return nil
	}
	var errs []error
	for _, field := range []struct {
		name     string
		patterns []string
	}{{"toBranches", f.ToBranches}, {"fromBranches", f.FromBranches}} {
		for i, p := range field.patterns {
			if !validBranchPattern(p) {
				errs = append(errs, fmt.Errorf("filter.%s[%d] %q is not a valid glob pattern", field.name, i, p))
			}
		}
	}
	if len(f.WatchPaths) > 0 {
		if _, err := watch.Compile(f.WatchPaths); err != nil {
			errs = append(errs, fmt.Errorf("filter.%w", err))
		}
	}
	return errors.Join(errs...)
}

// matchBranch reports whether branch matches one of patterns.
func matchBranch(patterns []string, branch string) bool {
	if branch == "" {
		return false
	}
	for _, p := range patterns {
		p = strings.TrimPrefix(p, "refs/heads/")
		if p == branch {
			return true
		}
		// An invalid pattern is an error here, and matches nothing.
		if ok, err := doublestar.Match(p, branch); ok && err == nil {
			return true
		}
	}
	return false
}

func validBranchPattern(p string) bool {
	p = strings.TrimPrefix(p, "refs/heads/")
	return p != "" && doublestar.ValidatePattern(p)
}

// invalidNote is appended to a reason when patterns has invalid ones, which
// would otherwise silently match nothing.
func invalidNote(field string, patterns []string) string {
	for i, p := range patterns {
		if !validBranchPattern(p) {
			return fmt.Sprintf(" (%s[%d] %q is not a valid glob pattern)", field, i, p)
		}
	}
	return ""
}

// hasLabel reports whether one of labels is one of want, ignoring case.
func hasLabel(want, labels []string) bool {
	for _, w := range want {
		for _, l := range labels {
			if strings.EqualFold(w, l) {
				return true
			}
		}
	}
	return false
}

// list formats names for a reason: [main, release/*].
func list(names []string) string {
	return "[" + strings.Join(names, ", ") + "]"
}
