package imagepack_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/imagepack"
)

// runImage pulls ref from the test's registry with podman and runs it,
// publishing its port 8080 on a free loopback port, which it returns.
// The container and the pulled image are removed when the test ends.
func runImage(t *testing.T, cli *container.CLI, ref string, env map[string]string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	run := "t" + strings.ToLower(rand.Text()[:10])
	// Cleanups run last first: the container goes, then its image.
	t.Cleanup(func() {
		if err := cli.RemoveImage(context.WithoutCancel(ctx), ref); err != nil && !errors.Is(err, container.ErrNotFound) {
			t.Errorf("remove the pulled image %s: %v", ref, err)
		}
	})
	containertest.Cleanup(t, cli, "liftoff.test", run)
	if err := cli.Pull(ctx, container.PullSpec{Image: ref, Access: container.Access{Insecure: true}}); err != nil {
		t.Fatalf("podman pull %s: %v", ref, err)
	}
	port := freePort(t)
	if _, err := cli.Run(ctx, container.RunSpec{Name: "liftoff-imagepack-" + run, Image: ref, Env: env, TempDir: t.TempDir(),
		Labels: map[string]string{"liftoff.test": run}, Publish: []container.Port{{HostPort: port, ContainerPort: 8080}}}); err != nil {
		t.Fatalf("podman run %s: %v", ref, err)
	}
	return port
}

// TestProcessImageRuns: a packed process service runs in podman: its start
// command runs in basePath as the non-root user, which may write its own
// files, with PORT from the image and the variables the runtime gives.
func TestProcessImageRuns(t *testing.T) {
	t.Parallel()
	cli := containertest.CLI(t)
	host := startRegistry(t, nil)
	base := pushBase(t, host, "1", false)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"web/www/index.html": "placeholder"})
	p := newPacker(t, imagepack.Config{Registry: host, BaseImage: base})
	// The page says who runs it, from where, and a variable given at run
	// time; writing it needs /app to be the user's.
	start := `uid=$(while read k v rest; do test "$k" = Uid: && echo "$v"; done < /proc/self/status); ` +
		`echo "hello $GREETING from $(pwd) as $uid" > www/index.html && exec httpd -f -p "$PORT" -h www`
	im, err := p.Process(t.Context(), imagepack.ProcessSpec{Origin: origin("run1"), Root: dir, Dir: filepath.Join(dir, "web"),
		Start: config.Shell(start), Port: 8080})
	if err != nil {
		t.Fatal(err)
	}
	port := runImage(t, cli, im.Ref, map[string]string{"GREETING": "world"})
	body, err := waitBody(t.Context(), "http://127.0.0.1:"+strconv.Itoa(port)+"/", "hello")
	if err != nil {
		t.Fatalf("the packed service did not answer: %v (%q)", err, body)
	}
	if want := "hello world from /app/web as 65532"; strings.TrimSpace(body) != want {
		t.Errorf("the service answered %q, want %q", body, want)
	}
}

// TestStatic: a static site's image is the liftoff binary and the site
// on no base, two OCI layers owned by root; it runs in podman and answers
// as the proxy does (SPA fallback, 404 page); the binary's layer is the
// same for every site.
func TestStatic(t *testing.T) {
	t.Parallel()
	bin, err := liftoffBinary()
	if err != nil {
		t.Fatal(err)
	}
	host := startRegistry(t, nil)
	p := newPacker(t, imagepack.Config{Registry: host, ServerBinary: bin})
	site := t.TempDir()
	writeFiles(t, site, map[string]string{"index.html": "<h1>site home</h1>", "404.html": "<p>no such page</p>", "assets/app.js": "app()"})
	o := origin("st1")
	o.ServiceID = "site"
	im, err := p.Static(t.Context(), imagepack.StaticSpec{Origin: o, Dir: site, SinglePageApp: true})
	if err != nil {
		t.Fatal(err)
	}
	if im.Port != 8080 || im.Repository != host+"/shop/site" {
		t.Errorf("image %+v", im)
	}
	img := pull(t, im.Ref)
	if err := validate.Image(img); err != nil {
		t.Fatalf("the pushed image is not valid: %v", err)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest %s, want OCI", mt)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("%d layers (%v), want the binary's and the site's", len(layers), err)
	}
	binEntries := layerEntries(t, layers[0])
	if len(binEntries) != 1 || binEntries[0].hdr.Name != "liftoff" || binEntries[0].hdr.Mode != 0o755 || binEntries[0].hdr.Uid != 0 {
		t.Errorf("the binary's layer: %+v", binEntries[0].hdr)
	}
	var names []string
	for _, e := range layerEntries(t, layers[1]) {
		names = append(names, e.hdr.Name)
		if e.hdr.Uid != 0 || (e.hdr.Mode != 0o644 && e.hdr.Mode != 0o755) {
			t.Errorf("%s: owner %d, mode %o; want root's, read-only to others", e.hdr.Name, e.hdr.Uid, e.hdr.Mode)
		}
	}
	if want := []string{"site/", "site/404.html", "site/assets/", "site/assets/app.js", "site/index.html"}; !slices.Equal(names, want) {
		t.Errorf("site layer %q, want %q", names, want)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/liftoff", "serve-static", "--dir", "/site", "--addr", ":8080", "--spa"}
	if !slices.Equal(cf.Config.Entrypoint, want) || cf.Config.User != "65532:65532" || cf.OS != "linux" || cf.Config.Labels["liftoff.service"] != "site" {
		t.Errorf("config: entrypoint %q, user %q, os %q, labels %v", cf.Config.Entrypoint, cf.Config.User, cf.OS, cf.Config.Labels)
	}

	// Another site shares the binary's layer.
	other := t.TempDir()
	writeFiles(t, other, map[string]string{"index.html": "other"})
	o.ServiceID, o.DeploymentID = "docs", "st2"
	im2, err := p.Static(t.Context(), imagepack.StaticSpec{Origin: o, Dir: other})
	if err != nil {
		t.Fatal(err)
	}
	layers2, _ := pull(t, im2.Ref).Layers()
	if mustDigest(t, layers2[0]) != mustDigest(t, layers[0]) {
		t.Error("two sites' images have different binary layers")
	}

	cli := containertest.CLI(t)
	port := runImage(t, cli, im.Ref, nil)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	if body, err := waitBody(t.Context(), base+"/", "site home"); err != nil {
		t.Fatalf("the site's image did not answer: %v (%q)", err, body)
	}
	for path, wantBody := range map[string]string{"/assets/app.js": "app()", "/some/route": "site home"} {
		if body, err := waitBody(t.Context(), base+path, wantBody); err != nil {
			t.Errorf("GET %s: %v (%q)", path, err, body)
		}
	}
}

// TestStaticRefusesABinaryThatCannotRunAlone: a dynamically linked or
// non-ELF server binary is refused with what to do.
func TestStaticRefusesABinaryThatCannotRunAlone(t *testing.T) {
	t.Parallel()
	host := startRegistry(t, nil)
	script := filepath.Join(t.TempDir(), "liftoff")
	writeFiles(t, filepath.Dir(script), map[string]string{"liftoff*": "#!/bin/sh\n"})
	site := t.TempDir()
	for bin, want := range map[string]string{"/bin/sh": "linked dynamically", script: "not a Linux executable"} {
		p := newPacker(t, imagepack.Config{Registry: host, ServerBinary: bin})
		_, err := p.Static(t.Context(), imagepack.StaticSpec{Origin: origin("d"), Dir: site})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
			t.Errorf("server binary %s: %v, want an error saying %q and how to fix it", bin, err, want)
		}
	}
	bin, err := liftoffBinary()
	if err != nil {
		t.Fatal(err)
	}
	other := map[string]string{"amd64": "linux/arm64"}[runtime.GOARCH]
	if other == "" {
		other = "linux/amd64"
	}
	p := newPacker(t, imagepack.Config{Registry: host, ServerBinary: bin, Platform: other})
	if _, err := p.Static(t.Context(), imagepack.StaticSpec{Origin: origin("d"), Dir: site}); err == nil || !strings.Contains(err.Error(), "not "+other[len("linux/"):]) {
		t.Errorf("a binary for %s packed for %s: %v", runtime.GOARCH, other, err)
	}
}

// TestPushLocal: an image podman built (FROM scratch) is pushed to the
// registry under the service's name, and the digest returned is the one
// the registry holds; credentials reach podman through its auth file.
func TestPushLocal(t *testing.T) {
	t.Parallel()
	cli := containertest.CLI(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	run := "t" + strings.ToLower(rand.Text()[:10])
	containertest.Cleanup(t, cli, "liftoff.test", run)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n", "hello.txt": "hello " + run})
	local := "localhost/liftoff-test/pushlocal:" + run
	if err := cli.Build(ctx, container.BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Tags: []string{local},
		Labels: map[string]string{"liftoff.test": run}}); err != nil {
		t.Fatal(err)
	}
	host := startRegistry(t, basicAuth("pusher", "push-s3cret"))
	p := newPacker(t, imagepack.Config{Registry: host, Containers: cli, Insecure: true, Username: "pusher", Password: "push-s3cret"})
	var log strings.Builder
	im, err := p.PushLocal(ctx, imagepack.LocalSpec{Origin: origin(run), Image: local, Log: &log})
	if err != nil {
		t.Fatalf("push: %v\n%s", err, log.String())
	}
	if im.Ref != host+"/shop/api@"+im.Digest || im.Tag != run {
		t.Errorf("image %+v", im)
	}
	tag, _ := name.ParseReference(host + "/shop/api:" + run)
	auth := remote.WithAuth(&authn.Basic{Username: "pusher", Password: "push-s3cret"})
	desc, err := remote.Get(tag, auth)
	if err != nil || desc.Digest.String() != im.Digest {
		t.Fatalf("the registry has %v under the tag (%v), want %s", desc, err, im.Digest)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("the pushed image is not valid: %v", err)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	if e := layerEntries(t, layers[0]); len(e) != 1 || e[0].body != "hello "+run {
		t.Errorf("the layer holds %+v", e)
	}
	if cf, _ := img.ConfigFile(); cf.Config.Labels["liftoff.test"] != run {
		t.Errorf("the pushed image lost the build's labels: %v", cf.Config.Labels)
	}
	if strings.Contains(log.String(), "push-s3cret") {
		t.Error("the password reached the log")
	}
}
