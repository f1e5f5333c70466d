package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dataDirGoMod and dataDirGitignore are written into a data dir that lacks
// them. The data dir holds git repositories and checkouts of Go code (the
// demo's, anyone's); made inside a Go module (the default ./liftoff-data in
// a checkout of Liftoff), go.mod makes it a module of its own so that ./...
// stops at it, and .gitignore keeps it out of the repository around it.
const (
	dataDirGoMod = "// Liftoff's data directory (databases, repositories, builds): a module of\n" +
		"// its own, so that go commands in a module around it leave it out of ./...\n" +
		"module liftoff-data\n"
	dataDirGitignore = "# Liftoff's data directory: nothing here belongs in a repository.\n*\n"
)

// PrepareDataDir creates the data dir, private to its owner, and writes into
// it the files that keep it out of a Go module or git repository around it.
func PrepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create --data-dir: %w", err)
	}
	for _, f := range []struct{ name, content string }{{"go.mod", dataDirGoMod}, {".gitignore", dataDirGitignore}} {
		file, err := os.OpenFile(filepath.Join(dir, f.name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue // the operator's own, or ours from an earlier start
		}
		if err != nil {
			return fmt.Errorf("--data-dir: %w", err)
		}
		_, err = file.WriteString(f.content)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("--data-dir: write %s: %w", f.name, err)
		}
	}
	return nil
}
