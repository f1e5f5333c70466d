package prfilter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/watch"
)

// Filter is a preview environment's filter. The zero Filter selects every
// pull request. It is immutable and safe for concurrent use.
type Filter struct {
	toBranches   []string
	fromBranches []string
	labels       []string
	watchPaths   []string
}

// New returns the filter f describes; nil selects every pull request.
func New(f *config.Filter) Filter {
	if f == nil {
		return Filter{}
	}
	return Filter{toBranches: f.ToBranches, fromBranches: f.FromBranches, labels: f.Labels, watchPaths: f.WatchPaths}
}

// OfWatchPaths returns a filter with only watchPaths: what a deployment
// carries from the event that queued it to the engine.
func OfWatchPaths(watchPaths []string) Filter {
	return Filter{watchPaths: watchPaths}
}

// PullRequest is what the branch and label parts of a filter look at.
type PullRequest struct {
	Base   string   // the branch it merges into
	Head   string   // its branch
	Labels []string // as the event lists them
}

// MatchPR reports whether pr passes the branch and label parts of f. When
// it does not, why is one sentence naming the first rule that failed, for
// logs and for answers to whoever asked for the deployment. The watchPaths
// part needs the pull request's changed files: see NeedsFiles and
// MatchFiles.
func (f Filter) MatchPR(pr PullRequest) (ok bool, why string) {
	if len(f.toBranches) > 0 && !matchBranch(f.toBranches, pr.Base) {
		return false, fmt.Sprintf("base branch %s is not in toBranches %s%s", pr.Base, list(f.toBranches), invalidNote("toBranches", f.toBranches))
	}
	if len(f.fromBranches) > 0 && !matchBranch(f.fromBranches, pr.Head) {
		return false, fmt.Sprintf("head branch %s is not in fromBranches %s%s", pr.Head, list(f.fromBranches), invalidNote("fromBranches", f.fromBranches))
	}
	if len(f.labels) > 0 && !hasLabel(f.labels, pr.Labels) {
		has := "it has no labels"
		if len(pr.Labels) > 0 {
			has = "it has " + list(pr.Labels)
		}
		return false, fmt.Sprintf("the pull request has none of the labels %s (%s)", list(f.labels), has)
	}
	return true, ""
}

// LabelStartsMatching reports whether adding the label added to a pull
// request (whose labels, from a labeled event, already include it) is what
// makes it pass the labels of f: added is one of them, and the pull request
// did not already carry another. It says nothing about the other parts of
// the filter; call MatchPR too. With no labels in f, adding a label changes
// nothing and the answer is false.
func (f Filter) LabelStartsMatching(labels []string, added string) bool {
	if added == "" || !hasLabel(f.labels, []string{added}) {
		return false
	}
	others := make([]string, 0, len(labels))
	for _, l := range labels {
		if !strings.EqualFold(l, added) {
			others = append(others, l)
		}
	}
	return !hasLabel(f.labels, others)
}

// NeedsFiles reports whether deciding f needs the pull request's changed
// files, which a webhook payload does not carry: f has watchPaths.
func (f Filter) NeedsFiles() bool {
	return len(f.watchPaths) > 0
}

// WatchPaths returns the watchPaths of f, as written.
func (f Filter) WatchPaths() []string {
	return f.watchPaths
}

// MatchFiles reports whether the files a pull request changes pass the
// watchPaths of f: at least one of them is watched. files are
// repository-relative paths as git prints them with --no-renames, a renamed
// file counting with its old and its new path; since names where they are
// counted from (the short merge base), for why. A filter without watchPaths
// matches any files, none included. Invalid watchPaths (which config
// validation rejects) are an error, a *watch.PatternError.
func (f Filter) MatchFiles(files []string, since string) (ok bool, why string, err error) {
	if !f.NeedsFiles() {
		return true, "", nil
	}
	m, err := watch.Compile(f.watchPaths)
	if err != nil {
		return false, "", err
	}
	if res := m.Filter(watch.NewChangeSet(files)); len(res.Paths) == 0 {
		return false, fmt.Sprintf("no file the pull request changes (%d since %s) matches the preview filter's watchPaths", len(files), since), nil
	}
	return true, "", nil
}

// Check reports the branch patterns of f that are not valid globs, and
// invalid watchPaths, naming each with its field and index. MatchPR treats
// an invalid branch pattern as matching nothing.
func (f Filter) Check() error {
	var errs []error
	for _, field := range []struct {
		name     string
		patterns []string
	}{{"toBranches", f.toBranches}, {"fromBranches", f.fromBranches}} {
		for i, p := range field.patterns {
			if !config.ValidBranchPattern(p) {
				errs = append(errs, fmt.Errorf("filter.%s[%d] %q is not a valid glob pattern", field.name, i, p))
			}
		}
	}
	if f.NeedsFiles() {
		if _, err := watch.Compile(f.watchPaths); err != nil {
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

// invalidNote is appended to a reason when patterns has invalid ones, which
// would otherwise silently match nothing.
func invalidNote(field string, patterns []string) string {
	for i, p := range patterns {
		if !config.ValidBranchPattern(p) {
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
