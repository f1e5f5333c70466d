// Package gitsource is everything Liftoff does with git: it keeps one bare
// mirror of each project's repository, fetches it, resolves revisions to
// commits, reads files at a commit, lists the paths changed between two
// commits (the input of watch paths) and exports a clean tree of a commit for
// a build.
//
// It drives the git binary (2.31 or later: credentials and settings reach
// it through GIT_CONFIG_COUNT) through os/exec, never a shell.
// The user's global git configuration is kept, so credential helpers, ssh
// keys and url.<base>.insteadOf rewrites work as they do on the command line,
// but git never prompts: GIT_TERMINAL_PROMPT=0 and, on Unix, git runs in its
// own session without a controlling terminal, so ssh cannot ask either. Every
// call takes a context; when it ends, git and everything it started (ssh,
// git-remote-https, upload-pack) are killed.
//
// Input from users never reaches git as an option: repository URLs and
// revisions are validated (nothing may start with "-"), and revisions are
// passed after --end-of-options. A branch a user names is looked up as
// refs/heads/<name> and nothing else (ResolveBranch). Errors carry git's
// trimmed stderr with any credentials embedded in URLs redacted (see
// RedactURL), and wrap the sentinels of this package where a caller has a
// decision to make (ErrRevisionNotFound, ErrAmbiguous, ErrFileNotFound,
// ErrNotAllowed, ...).
//
// Credentials never live in a URL git sees: ParseRemote takes them out,
// and git gets them as an HTTP header in its environment (remoteEnv), so
// neither argv nor the mirror's config holds them. A Manager's Policy is
// asked before every command that reads from a remote.
//
// Fetches and clones of one mirror are serialised inside one Manager; reads
// (ResolveCommit, ReadFile, ChangedFiles, Export) run concurrently with them,
// which git supports. Mirrors are plain bare repositories under the
// Manager's directory, so an operator can inspect them with git.
package gitsource
