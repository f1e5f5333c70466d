// Package watch decides which services of a deployment are built and
// deployed, and why: given each service's watch paths and the files changed
// since its last successful deployment, it says deploy or NO_CHANGE with a
// short reason, as docs/deployments.md (Watch paths) tells users. It is
// pure: no git, no I/O; the caller runs `git diff --name-only --no-renames
// -z` and hands the paths in.
//
// # Watch path semantics
//
// Patterns are doublestar globs (github.com/bmatcuk/doublestar/v4) over
// repository-relative paths with "/" separators, exactly as git prints them:
//
//   - "*" matches any run of characters except "/"; "?" one character (one
//     rune) except "/"; "[abc]", "[a-z]", "[!a]" and "[^a]" a character
//     class; "{a,b}" alternatives (nestable); "\" escapes the next character.
//   - "**" as a whole path segment matches zero or more directories:
//     "apps/**" matches everything under apps/ and, as doublestar does, the
//     path "apps" itself; "**/*.proto" matches "a.proto" and "x/y/a.proto".
//     A "**" inside a segment ("apps/**.go") is a plain "*".
//   - Dotfiles are not special: "*" matches ".env" and "**" descends into
//     ".github/".
//   - Matching is case-sensitive and anchored at both ends: "apps/api"
//     matches only the file apps/api, not what is under a directory of that
//     name; write "apps/api/**" or "apps/api/".
//
// Liftoff adds to doublestar, in this order, for each pattern as written:
//
//  1. A leading "!" makes it an exclusion ("\!" or "/!" matches a literal "!").
//  2. A trailing "/" means "<pattern>**": "apps/api/" watches everything under
//     apps/api, and "/" or "./" alone watches the whole repository.
//  3. Leading "./" and "/" are ignored: "./apps/**" and "/apps/**" are
//     "apps/**".
//
// An empty pattern, or one doublestar rejects, is an error naming the
// pattern, its index in watchPaths and why ([PatternError]).
//
// Patterns apply in order and the last one that matches a path decides, as
// in GitHub Actions `paths` and .gitignore: a path is watched when the last
// pattern matching it is positive, and not watched when it is an exclusion
// or when no pattern matches. When the first pattern is an exclusion, an
// implicit "**" comes before it, so ["!docs/**"] watches everything but
// docs/, and ["apps/api/**", "!apps/api/**/*.md", "apps/api/README.md"]
// watches apps/api except its Markdown files, README.md included again.
//
// # Performance
//
// A [ChangeSet] sorts the changed paths once (git's order is already sorted:
// that is checked in one pass) and is shared by every service diffed
// against the same base; [Decide] matches a glob several of those services
// watch ("libs/**", "**/*.proto") against it once. Each compiled pattern
// knows its literal prefix (before its first meta character) and literal
// suffix (after its last), so it only tries the paths in the prefix's
// binary-searched range that end with the suffix; a fully literal pattern
// is one binary search, and the commonest shapes, "dir/**" and "**/*.ext",
// need no glob matching at all. Patterns are tried last to first, each only
// on the paths no later pattern decided. Matchers and change sets are
// immutable and safe for concurrent use.
package watch
