package imagepack_test

import (
	"archive/tar"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/imagepack"
)

// longName is a path longer than a plain tar header holds.
var longName = "node_modules/" + strings.Repeat("deep/", 20) + "file.js"

// buildDir is a process service's build output: a start script, a
// basePath directory, a symbolic link, an empty directory, a named pipe.
func buildDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"api/serve.sh*":           "echo serving\n",
		"api/www/index.html":      "<p>static part</p>",
		"node_modules/a/index.js": "module.exports = 1",
		"z-last.txt":              "last",
		longName:                  "a path past tar's 100 bytes",
	})
	if err := os.Symlink("serve.sh", filepath.Join(dir, "api", "run")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "api", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestProcess: the build directory becomes one layer on top of the base's,
// at /app, owned by the service's user, sorted, with fixed times; the
// config runs the start command in basePath with PORT; labels and
// annotations name the origin, without the repository's credentials; the
// tag and the digest reference name the same image.
func TestProcess(t *testing.T) {
	t.Parallel()
	for _, oci := range []bool{false, true} {
		t.Run(map[bool]string{false: "docker base", true: "OCI base"}[oci], func(t *testing.T) {
			t.Parallel()
			host := startRegistry(t, nil)
			base := pushBase(t, host, "1", oci)
			dir := buildDir(t)
			p := newPacker(t, imagepack.Config{Registry: host + "/liftoff", BaseImage: base})
			var log strings.Builder
			im, err := p.Process(t.Context(), imagepack.ProcessSpec{Origin: origin("dep1"), Root: dir, Dir: filepath.Join(dir, "api"),
				Start: config.Shell("./serve.sh --port $PORT"), Port: 3000, Log: &log})
			if err != nil {
				t.Fatalf("pack: %v\n%s", err, log.String())
			}
			repo := host + "/liftoff/shop/api"
			if im.Repository != repo || im.Tag != "dep1" || im.Ref != repo+"@"+im.Digest || !strings.HasPrefix(im.Digest, "sha256:") || im.Port != 3000 {
				t.Errorf("image %+v, want repository %s, tag dep1, a digest reference", im, repo)
			}
			if !strings.Contains(log.String(), "Left out 1 sockets, devices or named pipes") {
				t.Errorf("the log does not say the named pipe was left out:\n%s", log.String())
			}
			tagRef, _ := name.ParseReference(repo + ":dep1")
			if desc, err := remote.Head(tagRef); err != nil || desc.Digest.String() != im.Digest {
				t.Errorf("the tag names %v (%v), want %s", desc, err, im.Digest)
			}

			img := pull(t, im.Ref)
			if err := validate.Image(img); err != nil {
				t.Fatalf("the pushed image is not valid: %v", err)
			}
			baseImg := pull(t, base)
			baseLayers, _ := baseImg.Layers()
			layers, err := img.Layers()
			if err != nil || len(layers) != len(baseLayers)+1 {
				t.Fatalf("%d layers (%v), want the base's %d and one", len(layers), err, len(baseLayers))
			}
			for i, l := range baseLayers {
				if a, b := mustDigest(t, l), mustDigest(t, layers[i]); a != b {
					t.Errorf("layer %d is %s, the base's is %s", i, b, a)
				}
			}
			wantMT := types.DockerLayer
			if oci {
				wantMT = types.OCILayer
			}
			if mt, _ := layers[len(layers)-1].MediaType(); mt != wantMT {
				t.Errorf("the build's layer is a %s, want %s as the base's", mt, wantMT)
			}

			var names []string
			for _, e := range layerEntries(t, layers[len(layers)-1]) {
				h := e.hdr
				names = append(names, h.Name)
				if h.Uid != 65532 || h.Gid != 65532 || h.Uname != "" || !h.ModTime.Equal(time.Unix(0, 0)) {
					t.Errorf("%s: owner %d:%d %q, time %v; want 65532:65532, no name, the epoch", h.Name, h.Uid, h.Gid, h.Uname, h.ModTime)
				}
				switch h.Name {
				case "app/api/serve.sh":
					if h.Mode != 0o755 || e.body != "echo serving\n" {
						t.Errorf("serve.sh: mode %o, %q", h.Mode, e.body)
					}
				case "app/api/run":
					if h.Typeflag != tar.TypeSymlink || h.Linkname != "serve.sh" {
						t.Errorf("run: type %c → %q, want a link to serve.sh", h.Typeflag, h.Linkname)
					}
				case "app/empty/":
					if h.Typeflag != tar.TypeDir || h.Mode != 0o700 {
						t.Errorf("empty/: type %c mode %o", h.Typeflag, h.Mode)
					}
				}
			}
			want := []string{"app/", "app/api/", "app/api/run", "app/api/serve.sh", "app/api/www/", "app/api/www/index.html",
				"app/empty/", "app/node_modules/", "app/node_modules/a/", "app/node_modules/a/index.js"}
			d := "app/node_modules/"
			for range 20 {
				d += "deep/"
				want = append(want, d)
			}
			want = append(want, "app/"+longName, "app/z-last.txt")
			if !slices.Equal(names, want) {
				t.Errorf("entries\n%q\nwant\n%q", names, want)
			}

			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			c := cf.Config
			if !slices.Equal(c.Entrypoint, []string{"/bin/sh", "-c", "./serve.sh --port $PORT"}) || c.Cmd != nil {
				t.Errorf("entrypoint %q, cmd %q; want the start command through sh, no cmd", c.Entrypoint, c.Cmd)
			}
			if c.WorkingDir != "/app/api" || c.User != "65532:65532" {
				t.Errorf("working dir %q, user %q", c.WorkingDir, c.User)
			}
			if !slices.Equal(c.Env, []string{"PATH=/bin", "PORT=3000"}) {
				t.Errorf("env %q: want the base's and PORT only", c.Env)
			}
			if _, ok := c.ExposedPorts["3000/tcp"]; !ok || len(c.ExposedPorts) != 1 {
				t.Errorf("exposed ports %v", c.ExposedPorts)
			}
			if !cf.Created.Equal(time.Unix(0, 0)) {
				t.Errorf("created %v, want the epoch", cf.Created)
			}
			baseDigest := mustDigest(t, baseImg)
			wantLabels := map[string]string{
				"liftoff.project": "p1", "liftoff.environment": "production", "liftoff.pr": "0", "liftoff.service": "api",
				"liftoff.deployment": "dep1", "liftoff.service-deployment": "sd-dep1",
				"org.opencontainers.image.revision":    "0123456789abcdef0123456789abcdef01234567",
				"org.opencontainers.image.source":      "https://github.com/acme/shop.git",
				"org.opencontainers.image.base.name":   base,
				"org.opencontainers.image.base.digest": baseDigest,
				"base.label":                           "kept",
			}
			for k, v := range wantLabels {
				if c.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
				}
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if oci {
				if m.Annotations["org.opencontainers.image.revision"] != wantLabels["org.opencontainers.image.revision"] ||
					m.Annotations["liftoff.deployment"] != "dep1" {
					t.Errorf("manifest annotations %v", m.Annotations)
				}
			} else if len(m.Annotations) != 0 {
				t.Errorf("a Docker manifest has annotations %v", m.Annotations)
			}
			raw, _ := img.RawConfigFile()
			rawManifest, _ := img.RawManifest()
			if strings.Contains(string(raw)+string(rawManifest)+log.String(), "SECRET") {
				t.Error("the repository's token reached the image or the log")
			}
		})
	}
}

// mustDigest is the digest of a layer or an image.
func mustDigest(t testing.TB, l interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestProcessReproducible: the same build output gives the same layer
// whatever its files' times, and the same image for the same origin; a
// later deployment of it differs only by its labels (a new config and
// manifest, the same layers); a changed file changes the layer.
func TestProcessReproducible(t *testing.T) {
	t.Parallel()
	host := startRegistry(t, nil)
	base := pushBase(t, host, "1", true)
	dir := buildDir(t)
	p := newPacker(t, imagepack.Config{Registry: host, BaseImage: base})
	pack := func(dep string) (imagepack.Image, string) {
		t.Helper()
		im, err := p.Process(t.Context(), imagepack.ProcessSpec{Origin: origin(dep), Root: dir, Start: config.Exec("./api/serve.sh")})
		if err != nil {
			t.Fatal(err)
		}
		layers, err := pull(t, im.Ref).Layers()
		if err != nil {
			t.Fatal(err)
		}
		return im, mustDigest(t, layers[len(layers)-1])
	}
	first, layer := pack("dep1")
	later := time.Now().Add(time.Hour)
	if err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.Mode()&os.ModeSymlink != 0 || info.Mode()&os.ModeNamedPipe != 0 {
			return err
		}
		return os.Chtimes(path, later, later)
	}); err != nil {
		t.Fatal(err)
	}
	again, layerAgain := pack("dep1")
	if again.Digest != first.Digest || layerAgain != layer {
		t.Errorf("the same output and origin packed twice: %s then %s (layers %s, %s)", first.Digest, again.Digest, layer, layerAgain)
	}
	next, layerNext := pack("dep2")
	if next.Digest == first.Digest || layerNext != layer {
		t.Errorf("another deployment of the same output: image %s (first %s), layer %s (first %s); want a new image, the same layer",
			next.Digest, first.Digest, layerNext, layer)
	}
	if cf, err := pull(t, next.Ref).ConfigFile(); err != nil || !slices.Equal(cf.Config.Entrypoint, []string{"./api/serve.sh"}) {
		t.Errorf("exec form start command: entrypoint %v (%v)", cf.Config.Entrypoint, err)
	}
	writeFiles(t, dir, map[string]string{"z-last.txt": "changed"})
	if _, layerChanged := pack("dep3"); layerChanged == layer {
		t.Error("a changed file left the layer as it was")
	}
}

// TestProcessRefuses: what cannot be packed says what is wrong.
func TestProcessRefuses(t *testing.T) {
	t.Parallel()
	host := startRegistry(t, nil)
	dir := t.TempDir()
	p := newPacker(t, imagepack.Config{Registry: host, BaseImage: host + "/base/none:1"})
	ctx := t.Context()
	for _, c := range []struct {
		name string
		spec imagepack.ProcessSpec
		want string
	}{
		{"no deployment", imagepack.ProcessSpec{Origin: imagepack.Origin{ProjectSlug: "s", ServiceID: "api"}, Root: dir}, "no deployment id"},
		{"no service", imagepack.ProcessSpec{Origin: imagepack.Origin{ProjectSlug: "s", DeploymentID: "d"}, Root: dir}, "no service id"},
		{"no build", imagepack.ProcessSpec{Origin: origin("d")}, "no build directory"},
		{"dir outside", imagepack.ProcessSpec{Origin: origin("d"), Root: dir, Dir: filepath.Dir(dir)}, "not inside its build directory"},
		{"missing base", imagepack.ProcessSpec{Origin: origin("d"), Root: dir}, "base image " + host + "/base/none:1"},
		{"bad base", imagepack.ProcessSpec{Origin: origin("d"), Root: dir, BaseImage: "Not A Reference"}, "is not an image reference"},
	} {
		if _, err := p.Process(ctx, c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// TestNewRefuses: a Config that cannot work is refused at once, naming
// the setting.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  imagepack.Config
		want string
	}{
		{imagepack.Config{}, "no registry"},
		{imagepack.Config{Registry: "Bad Host"}, "registry"},
		{imagepack.Config{Registry: "r.example/Team"}, "must be lowercase"},
		{imagepack.Config{Registry: "r.example", Platform: "windows/amd64"}, "want linux/"},
		{imagepack.Config{Registry: "r.example", User: "nobody"}, "numeric uid:gid"},
		{imagepack.Config{Registry: "r.example", Username: "u"}, "both a username and a password"},
		{imagepack.Config{Registry: "r.example", BaseImage: "::"}, "base image"},
	} {
		if _, err := imagepack.New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want an error saying %q", c.cfg, err, c.want)
		}
	}
}

// TestCredentials: Username and Password sign in to the registry (the
// base image comes from another, anonymously); a wrong password fails
// without showing it.
func TestCredentials(t *testing.T) {
	t.Parallel()
	baseHost := startRegistry(t, nil)
	base := pushBase(t, baseHost, "1", false)
	host := startRegistry(t, basicAuth("liftoff", "s3cret-pass"))
	dir := buildDir(t)
	spec := imagepack.ProcessSpec{Origin: origin("dep1"), Root: dir, Start: config.Shell("true")}
	p := newPacker(t, imagepack.Config{Registry: host, BaseImage: base, Username: "liftoff", Password: "s3cret-pass"})
	if _, err := p.Process(t.Context(), spec); err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	wrong := newPacker(t, imagepack.Config{Registry: host, BaseImage: base, Username: "liftoff", Password: "wrong-pass"})
	_, err := wrong.Process(t.Context(), spec)
	if err == nil || strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("push with a wrong password: %v", err)
	}
}

// basicAuth refuses requests without the username and password.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// waitBody polls url until it answers 200 with a body containing want,
// or the deadline passes; it returns the last answer.
func waitBody(ctx context.Context, url, want string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last string
	var lastErr error
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 250*time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last, lastErr = string(b), nil
			if resp.StatusCode == 200 && strings.Contains(last, want) {
				return last, nil
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return last, lastErr
			}
			return last, ctx.Err()
		case <-time.After(delay):
		}
	}
}
