package buildcache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// toolDirs are the caches of the tools builds run, each a directory of
// the working copy and the variable that points the tool there.
var toolDirs = []struct{ name, dir string }{
	{"GOMODCACHE", "go/mod"},
	{"GOCACHE", "go/build"},
	{"npm_config_cache", "npm"},
	{"YARN_CACHE_FOLDER", "yarn/cache"}, // yarn 1, and yarn 2+ without its global cache
	{"YARN_GLOBAL_FOLDER", "yarn/global"},
	{"PIP_CACHE_DIR", "pip"},
	// What else keeps its cache in ~/.cache: pnpm's metadata, node-gyp's
	// headers, Cypress's and Puppeteer's browsers, corepack's package
	// managers ...
	{"XDG_CACHE_HOME", "xdg"},
}

// pnpmStore is pnpm's store, given only to builds that use pnpm: npm warns
// about a store-dir it does not know. pnpm's default store would be in the
// checkout: it puts its store on the checkout's file system when it
// cannot hard-link from its home's.
const pnpmStore = "pnpm/store"

// Env is the variables that point the build's tools at the working copy
// (GOMODCACHE, GOCACHE, npm_config_cache, YARN_CACHE_FOLDER,
// YARN_GLOBAL_FOLDER, PIP_CACHE_DIR, XDG_CACHE_HOME, and
// npm_config_store_dir when a pnpm-lock.yaml is in base or a directory
// above it up to root), as KEY=VALUE, but those env sets already: a
// service that sets one of them itself keeps its own.
func (l *Lease) Env(env []string, root, base string) []string {
	set := map[string]bool{}
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); ok {
			set[k] = true
		}
	}
	var out []string
	add := func(name, dir string) {
		if !set[name] {
			out = append(out, name+"="+filepath.Join(l.Dir(), dir))
		}
	}
	for _, t := range toolDirs {
		add(t.name, t.dir)
	}
	if usesPnpm(root, base) {
		add("npm_config_store_dir", pnpmStore)
	}
	return out
}

// usesPnpm reports whether base, or a directory above it up to root (a
// workspace's), has a pnpm-lock.yaml.
func usesPnpm(root, base string) bool {
	for dir := base; ; dir = filepath.Dir(dir) {
		if _, err := os.Lstat(filepath.Join(dir, "pnpm-lock.yaml")); err == nil {
			return true
		}
		if dir == root || !strings.HasPrefix(dir, root+string(filepath.Separator)) {
			return false
		}
	}
}

// containerDir is where an image build's cache mounts live in the working
// copy: podman's TMPDIR (ContainerTempDir).
const containerDir = "buildah"

// ContainerTempDir is the TMPDIR to give podman for an image build: buildah
// keeps the cache mounts of RUN --mount=type=cache under
// $TMPDIR/buildah-cache*, so each service's are its own and are saved
// with its cache. Created when missing.
func (l *Lease) ContainerTempDir() (string, error) {
	dir := filepath.Join(l.Dir(), containerDir)
	return dir, os.MkdirAll(dir, 0o700)
}

// KeepContainerCache removes from ContainerTempDir what an image build
// left there besides its cache mounts (buildah's temporary files), before
// a Commit.
func (l *Lease) KeepContainerCache() error {
	dir := filepath.Join(l.Dir(), containerDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "buildah-cache") {
			errs = append(errs, removeTree(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}
