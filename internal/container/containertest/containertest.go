// Package containertest gives tests a working container CLI and images
// made on this machine, as no registry is reachable from the tests: a base
// image imported from the host's static busybox, and static Go programs
// to copy into images built FROM scratch.
package containertest

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/container"
)

// BaseImage is the name of the base image Base imports: busybox, its
// applets linked in /bin, CMD /bin/sh.
const BaseImage = "localhost/liftoff-test/busybox:1"

// shared is what one test process prepares once for all its tests.
type shared struct {
	once sync.Once
	cli  *container.CLI
	why  string // why the tests skip
}

var process shared

// CLI returns the container CLI, with the machine's settings detected,
// or skips the test with the reason there is none that works. The first
// call imports BaseImage.
func CLI(t testing.TB) *container.CLI {
	t.Helper()
	process.once.Do(func() { process.cli, process.why = prepare() })
	if process.cli == nil {
		t.Skip(process.why)
	}
	return process.cli
}

func prepare() (*container.CLI, string) {
	cli, err := container.New(container.Config{CLI: os.Getenv("LIFTOFF_TEST_CONTAINER_CLI")})
	if err != nil {
		return nil, fmt.Sprintf("no container CLI (install podman, or set LIFTOFF_TEST_CONTAINER_CLI): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cli.Check(ctx); err != nil {
		return nil, fmt.Sprintf("the container CLI %s does not work: %v", cli.Path(), err)
	}
	busybox, err := staticBusybox()
	if err != nil {
		return nil, err.Error()
	}
	dir, err := os.MkdirTemp("", "liftoff-base-")
	if err != nil {
		return nil, err.Error()
	}
	defer func() { _ = os.RemoveAll(dir) }()
	archive := filepath.Join(dir, "rootfs.tar")
	if err := writeRootfs(archive, busybox); err != nil {
		return nil, err.Error()
	}
	if err := cli.Import(ctx, archive, BaseImage, `CMD ["/bin/sh"]`); err != nil {
		return nil, fmt.Sprintf("import the base image: %v", err)
	}
	return cli, ""
}

// staticBusybox finds a busybox without a program interpreter, which runs
// alone in an image (Debian's busybox-static).
func staticBusybox() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		dynamic := false
		for _, prog := range f.Progs {
			dynamic = dynamic || prog.Type == elf.PT_INTERP
		}
		_ = f.Close()
		if !dynamic {
			return p, nil
		}
	}
	return "", errors.New("no static busybox in /bin or /usr/bin (install busybox-static)")
}

// applets are linked to busybox in the base image.
var applets = []string{"sh", "cat", "echo", "env", "httpd", "ls", "mkdir", "sleep", "wget", "wc", "true", "false", "test", "chmod"}

func writeRootfs(archive, busybox string) error {
	b, err := rootfs(busybox)
	if err != nil {
		return err
	}
	return os.WriteFile(archive, b, 0o644)
}

// BusyboxRootfs is BaseImage's root file system as a tar archive: the
// host's static busybox, its applets linked in /bin. Tests that push a
// base image to a registry make it of this.
func BusyboxRootfs() ([]byte, error) {
	busybox, err := staticBusybox()
	if err != nil {
		return nil, err
	}
	return rootfs(busybox)
}

func rootfs(busybox string) ([]byte, error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin/", "tmp/", "etc/", "run/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	for _, a := range applets {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// GoProgram builds source, a main package, into a static binary (no cgo)
// named name in dir, to be copied into an image.
func GoProgram(t testing.TB, dir, name, source string) {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module prog\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, name), ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the static program %s: %v\n%s", name, err, out)
	}
}

// Cleanup removes, when the test ends, the containers and images that
// carry the label key=value (the test's own).
func Cleanup(t testing.TB, cli *container.CLI, key, value string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		labels := map[string]string{key: value}
		cs, err := cli.List(ctx, labels)
		if err != nil {
			t.Errorf("list the test's containers: %v", err)
		}
		for _, c := range cs {
			if err := cli.Remove(ctx, c.ID); err != nil {
				t.Errorf("remove container %s: %v", c.Name, err)
			}
		}
		images, err := cli.ListImages(ctx, labels)
		if err != nil {
			t.Errorf("list the test's images: %v", err)
		}
		for _, im := range images {
			ref := im.ID
			if len(im.Tags) > 0 {
				ref = im.Tags[0]
			}
			for _, tag := range im.Tags {
				if err := cli.RemoveImage(ctx, tag); err != nil && !errors.Is(err, container.ErrNotFound) {
					t.Errorf("remove image %s: %v", tag, err)
				}
			}
			if len(im.Tags) == 0 {
				if err := cli.RemoveImage(ctx, ref); err != nil && !errors.Is(err, container.ErrNotFound) && !strings.Contains(err.Error(), "in use") {
					t.Errorf("remove image %s: %v", ref, err)
				}
			}
		}
	})
}
