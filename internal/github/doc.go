// Package github lets a repository on GitHub (or GitHub Enterprise Server)
// drive Liftoff through a plain repository webhook, without a GitHub App or
// any hosted service: it authenticates a delivery, reads the few fields of a
// ping, push or pull_request payload that Liftoff acts on, tells whether the
// delivery is about a project's repository, and decides whether a pull
// request passes a preview environment's filter.
//
// It is pure: no HTTP, no store, no git. The webhook handler does the steps,
// in this order:
//
//  1. Read the body (at most [MaxPayloadSize] bytes) and [Verify] it against
//     the X-Hub-Signature-256 header before anything else looks at it.
//  2. [Parse] it with the X-GitHub-Event header. Events other than ping,
//     push and pull_request come back with Kind [KindIgnored], not an error,
//     so a hook subscribed to "everything" keeps working. Both content types
//     GitHub offers are accepted: application/json, and
//     application/x-www-form-urlencoded (a "payload" form field), which is
//     what the GitHub settings page preselects.
//  3. Find the projects whose repository the event is about with
//     [Repo.Matches].
//  4. For a pull request, decide with [MatchPR] and, when the filter has
//     watch paths ([NeedsFiles]), [MatchFiles] over the pull request's
//     changed files, which the payload does not carry.
//
// # Filter semantics
//
// A preview environment's source.filter ([config.Filter]) selects pull
// requests. A nil or empty filter selects every pull request. Otherwise every
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
//     starting with an exclusion starts with an implicit "**".
//
// Branch patterns are doublestar globs matched case-sensitively against the
// whole branch name, as git compares branch names: "*" does not cross "/",
// so "release/*" matches release/1.4 but not release/1.4/hotfix, while
// "feature/**" matches every branch under feature/. A pattern written as a
// full ref ("refs/heads/main") means the branch. An invalid pattern matches
// nothing; [CheckFilter] reports it.
//
// # Labels and redeploys
//
// A labeled event is a reason to deploy only when the new label is what
// makes the pull request pass the label filter: [LabelStartsMatching] is
// false when the pull request already carried another listed label, so
// adding a second matching label does not redeploy.
package github
