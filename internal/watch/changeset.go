package watch

import (
	"slices"
	"sort"
	"strings"
)

// ChangeSet is the set of paths changed between two commits, sorted once so
// that every service diffed against the same base can reuse it. It is
// immutable and safe for concurrent use.
type ChangeSet struct {
	paths []string // sorted, without duplicates
}

// NewChangeSet builds a change set from repository-relative paths as
// `git diff --name-only --no-renames -z` prints them: a rename is its old
// and its new path, a deletion the deleted path. Duplicates are dropped;
// paths is not modified.
//
// git lists a diff in byte order of the full paths (the index's order), so
// the common case is already sorted and without duplicates: that is checked
// in one pass, and only other input is sorted and compacted.
func NewChangeSet(paths []string) *ChangeSet {
	sorted := slices.Clone(paths)
	if !strictlyIncreasing(sorted) {
		slices.Sort(sorted)
		sorted = slices.Compact(sorted)
	}
	return &ChangeSet{paths: sorted}
}

// strictlyIncreasing reports whether paths is sorted without duplicates.
func strictlyIncreasing(paths []string) bool {
	for i := 1; i < len(paths); i++ {
		if paths[i-1] >= paths[i] {
			return false
		}
	}
	return true
}

// Len is the number of distinct changed paths; 0 for a nil change set.
func (cs *ChangeSet) Len() int {
	return len(cs.sorted())
}

func (cs *ChangeSet) sorted() []string {
	if cs == nil {
		return nil
	}
	return cs.paths
}

// search finds path in sorted paths.
func search(paths []string, path string) (int, bool) {
	return slices.BinarySearch(paths, path)
}

// prefixRange returns the range of sorted paths that start with prefix:
// they sort together, from where prefix itself would be.
func prefixRange(paths []string, prefix string) (lo, hi int) {
	if prefix == "" {
		return 0, len(paths)
	}
	lo, _ = slices.BinarySearch(paths, prefix)
	hi = lo + sort.Search(len(paths)-lo, func(k int) bool {
		return !strings.HasPrefix(paths[lo+k], prefix)
	})
	return lo, hi
}
