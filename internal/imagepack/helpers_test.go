package imagepack_test

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/imagepack"
)

// startRegistry serves an in-process registry on loopback, wrapped by
// wrap if not nil, and returns its host:port.
func startRegistry(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// pushBase pushes a busybox base image (containertest's root file system,
// CMD /bin/sh, PATH=/bin) to host as base/busybox:<tag>, with OCI media
// types or Docker's, and returns its reference.
func pushBase(t testing.TB, host, tag string, oci bool) string {
	t.Helper()
	rootfs, err := containertest.BusyboxRootfs()
	if err != nil {
		t.Skipf("no busybox base image: %v", err)
	}
	layerMT := types.DockerLayer
	var base v1.Image = empty.Image
	if oci {
		layerMT = types.OCILayer
		base = mutate.ConfigMediaType(mutate.MediaType(base, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(rootfs)), nil },
		tarball.WithMediaType(layerMT))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}, Labels: map[string]string{
		"org.opencontainers.image.revision": "the base's", "base.label": "kept"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ref := host + "/base/busybox:" + tag
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push the base image: %v", err)
	}
	return ref
}

// origin is a service deployment of service api of project shop.
func origin(deployment string) imagepack.Origin {
	return imagepack.Origin{ProjectID: "p1", ProjectSlug: "Shop", Environment: "production", ServiceID: "api",
		DeploymentID: deployment, ServiceDeploymentID: "sd-" + deployment, Commit: "0123456789abcdef0123456789abcdef01234567",
		Source: "https://x-access-token:ghs_SECRET@github.com/acme/shop.git"}
}

// newPacker is a Packer for host, closed when the test ends.
func newPacker(t testing.TB, cfg imagepack.Config) *imagepack.Packer {
	t.Helper()
	if cfg.TempDir == "" {
		cfg.TempDir = t.TempDir()
	}
	p, err := imagepack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// entry is a tar entry and, for a regular file, its content.
type entry struct {
	hdr  *tar.Header
	body string
}

// layerEntries reads a layer's tar.
func layerEntries(t testing.TB, l v1.Layer) []entry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []entry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{hdr: h, body: string(b)})
	}
}

// pull reads an image back from the registry.
func pull(t testing.TB, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return img
}

// writeFiles writes name → content under dir; a name ending in * is
// made executable.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for n, content := range files {
		mode := os.FileMode(0o644)
		if n[len(n)-1] == '*' {
			n, mode = n[:len(n)-1], 0o755
		}
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// freePort asks the kernel for a free loopback port.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// binDir holds what the tests build once; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "liftoff-imagepack-bin-"); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

// liftoffBinary builds cmd/liftoff, static (CGO_ENABLED=0), once per test
// process, and returns its path.
var liftoffBinary = sync.OnceValues(func() (string, error) {
	dir := binDir
	bin := filepath.Join(dir, "liftoff")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../../cmd/liftoff")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{err: err, out: string(out)}
	}
	return bin, nil
})

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build ./cmd/liftoff: " + e.err.Error() + "\n" + e.out }
