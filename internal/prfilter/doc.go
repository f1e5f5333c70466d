// Package prfilter decides which pull requests get a preview instance: it
// owns the semantics of a preview environment's source.filter
// ([config.Filter]), for the GitHub webhook dispatch, which knows a pull
// request's branches and labels, and for the engine, which knows the files
// it changes.
//
// # Semantics
//
// A nil or empty filter selects every pull request. Otherwise every
// non-empty list must match (AND between kinds, OR within a list):
//
//   - toBranches: the base branch (the branch the pull request merges into)
//     matches one of the patterns.
//   - fromBranches: the head branch matches one of the patterns. For a pull
//     request from a fork this is the branch name in the fork.
//   - labels: the pull request carries at least one of the labels. Label
//     names compare case-insensitively, as GitHub treats them (a repository
//     cannot have both "Preview" and "preview").
//   - watchPaths: at least one file the pull request changes is watched,
//     with exactly the semantics of a service's watchPaths (package watch):
//     ordered, the last matching pattern decides, "!" excludes, and a list
//     starting with an exclusion starts with an implicit "**". A renamed
//     file counts with its old and its new path.
//
// Branch patterns are doublestar globs matched case-sensitively against the
// whole branch name, as git compares branch names: "*" does not cross "/",
// so "release/*" matches release/1.4 but not release/1.4/hotfix, while
// "feature/**" matches every branch under feature/. A pattern written as a
// full ref ("refs/heads/main") means the branch. An invalid branch pattern
// matches nothing; [Filter.Check] reports it.
//
// # Labels and redeploys
//
// A labeled event is a reason to deploy only when the new label is what
// makes the pull request pass the label filter: [Filter.LabelStartsMatching]
// is false when the pull request already carried another listed label, so
// adding a second matching label does not redeploy.
package prfilter
