// Package confine resolves the paths a repository's config names (basePath,
// outputDirectory ...) inside the checkout they belong to. A repository
// controls its own symbolic links, so a path is judged by where it leads
// after every link is followed, not by how it is spelled: `public -> /etc`
// or `app -> ../..` must not take a build or a static site out of the
// checkout.
package confine

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrOutside is returned for a path that leads out of its root.
var ErrOutside = errors.New("leads out of the checkout through a symbolic link")

// Resolve returns the real path (every symbolic link followed) of rel, a
// slash-separated path relative to root, and fails with ErrOutside when
// it is not root itself or inside it. A path that does not exist fails
// with an error matching fs.ErrNotExist.
func Resolve(root, rel string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", root, err)
	}
	p, err := filepath.EvalSymlinks(filepath.Join(realRoot, filepath.FromSlash(rel)))
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", rel, err)
	}
	if !Within(realRoot, p) {
		return "", fmt.Errorf("%s %w", rel, ErrOutside)
	}
	return p, nil
}

// Within reports whether the clean absolute path p is root or inside it.
func Within(root, p string) bool {
	r, err := filepath.Rel(root, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}
