// Package staticsite serves a static site's directory over HTTP: the
// handler behind the local target's static services, and behind
// `liftoff serve-static`, which a static site's container image runs.
// Both answer the same paths the same way.
package staticsite

import (
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"syscall"
)

// Site serves a static site's output directory. Files are opened
// through an os.Root, so neither ".." nor a symlink leads out of it.
// Directories serve their index.html (a directory without one is not
// listed: 404); a path without its trailing slash is redirected to it, as
// http.FileServer does. With spa, a path that matches no file and has no
// extension gets /index.html, so client-side routes load the app while a
// missing /app.js stays a 404. A 404.html at the root, if any, is the
// not-found page.
type Site struct {
	root *os.Root
	spa  bool
}

// New serves the directory root opens; spa: as a single-page app (see
// Site). The caller keeps root open while the site serves.
func New(root *os.Root, spa bool) *Site { return &Site{root: root, spa: spa} }

func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	upath := r.URL.Path
	if !strings.HasPrefix(upath, "/") {
		upath = "/" + upath
	}
	name := strings.TrimPrefix(path.Clean(upath), "/")
	if name == "" {
		name = "."
	}
	if fi, err := s.root.Stat(name); err == nil {
		if fi.IsDir() {
			if !strings.HasSuffix(upath, "/") {
				target := path.Base(upath) + "/"
				if r.URL.RawQuery != "" {
					target += "?" + r.URL.RawQuery
				}
				w.Header().Set("Location", target)
				w.WriteHeader(http.StatusMovedPermanently)
				return
			}
			name = path.Join(name, "index.html")
		}
		if s.serve(w, r, name, http.StatusOK) {
			return
		}
	}
	if s.spa && path.Ext(name) == "" && s.serve(w, r, "index.html", http.StatusOK) {
		return
	}
	if s.serve(w, r, "404.html", http.StatusNotFound) {
		return
	}
	http.Error(w, "404 Not Found", http.StatusNotFound)
}

// serve answers with the regular file name, and reports false when there
// is none. Content types come from the extension (else from sniffing);
// with status 200 conditional and range requests work.
func (s *Site) serve(w http.ResponseWriter, r *http.Request, name string, status int) bool {
	// Non-blocking: opening a named pipe the build left there would
	// otherwise wait for a writer, holding a thread and a connection per
	// request until the proxy runs out of both. Anything but a regular
	// file is then refused below.
	f, err := s.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	if status == http.StatusOK {
		http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
		return true
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, f)
	}
	return true
}
