//go:build unix

package staticsite

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A build may leave a named pipe where the site's files are (mkfifo
// public/index.html). Opening it for reading blocks until a writer comes,
// which never happens once the build's sandbox is gone: every request
// would pin a goroutine, an OS thread and a connection for ever, until
// Liftoff runs out of threads or descriptors and the proxy fails for every
// project. The static site must answer such a path at once, as for any
// file that is not a regular file.
func TestStaticSiteDoesNotBlockOnAFIFO(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"index.html", "404.html", "app.js"} {
		if err := syscall.Mkfifo(filepath.Join(dir, name), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	site := New(root, true)
	for _, path := range []string{"/", "/index.html", "/app.js", "/missing"} {
		done := make(chan int, 1)
		go func() {
			rec := httptest.NewRecorder()
			site.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			done <- rec.Code
		}()
		select {
		case code := <-done:
			if code == http.StatusOK {
				t.Errorf("GET %s: 200 for a named pipe", path)
			}
		case <-time.After(3 * time.Second):
			// Unblock the open so the goroutine can end.
			for _, name := range []string{"index.html", "404.html", "app.js"} {
				if f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
			}
			t.Fatalf("GET %s on a static site whose file is a named pipe still blocks after 3s", path)
		}
	}
}
