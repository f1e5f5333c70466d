// Package examples ships the demo monorepo that `liftoff serve --demo`
// deploys: a small Go web service and a static site, each with watchPaths.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed all:monorepo
var files embed.FS

// Monorepo returns the demo monorepo's files.
func Monorepo() fs.FS {
	sub, err := fs.Sub(files, "monorepo")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}
