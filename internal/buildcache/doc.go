// Package buildcache keeps each service's build cache between deployments:
// the Go module and build caches, npm's, yarn's, pnpm's and pip's caches,
// the directories a service lists in cacheDirectories (node_modules,
// .next/cache ...), and the cache mounts of a Dockerfile's RUN steps
// (RUN --mount=type=cache) under podman.
//
// A cache belongs to one service of one environment instance of one
// project (Key): Dir/<project>/<environment>/<service>, or
// Dir/<project>/<environment>.pr-<n>/<service> for a pull request's
// preview. A build borrows it for its whole run (Open, one build per cache
// at a time) and gets a working copy at a fixed path, the lease's Dir,
// which the engine makes the only cache directory the build's sandbox may
// write. Only a successful build replaces the saved cache:
//
//   - Open makes the working copy from the saved cache: a tree of hard
//     links, so that it costs a directory entry per file rather than a copy
//     of the bytes. The tools write their caches by creating files (and
//     renaming them into place); a file they create replaces the link, and
//     the saved cache keeps its own. A build that writes into a restored
//     file in place writes the saved one too, as they are one file: the
//     manifest holds a digest of the saved files' paths and sizes, checked
//     as the links are made, and a cache whose files changed since it was
//     saved is dropped. So is one that cannot be read, or whose manifest
//     is missing (a save that never finished) or unreadable: the
//     deployment's log says so and the build runs cold. A build that
//     fails on something its cache held anyway can Drop it and run again
//     cold (the engine does, when the output names the working copy). A
//     cache never fails a build.
//   - Commit, after a successful build, writes the manifest into the
//     working copy and swaps it with the saved cache in one rename
//     (renameat2 RENAME_EXCHANGE), then removes the old one. A build that
//     fails, is cancelled, or dies with Liftoff is not saved; its working
//     copy is removed then, or at the next Open.
//   - A preview's cache starts, at its first build, as a copy (bytes, not
//     links) of its production environment's (Options.Seed): it reads
//     production's cache and writes only its own.
//   - cacheDirectories are put into the checkout before the install step
//     and back into the working copy after the build (RestoreDirs,
//     SaveDirs), as hard links, the way pnpm links one copy of a package
//     into every project: package managers replace a package's files,
//     they do not write into them. So a release, the saved cache and the
//     next build share the files of a package no build changed; a file
//     written in place would be written for all of them, and the saved
//     directories whose files changed size are not restored again. A
//     directory the build left as it was restored (the same files) is
//     taken over by the new saved cache as it is, without linking its
//     files again. A preview's first build gets copies of production's.
//
// The caches together are bounded (Config.MaxSize): after each save, whole
// caches are removed, least recently used first, until the total fits; a
// cache a build holds is never removed. Last use is the time of the last
// Open or Commit of the cache.
package buildcache
