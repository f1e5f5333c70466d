package imagepack

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/liftoffhq/liftoff/internal/config"
)

// AppDir is where a process service's build directory is in its image.
const AppDir = "/app"

// shell runs a start command in the shell form, as the local target does.
const shell = "/bin/sh"

// ProcessSpec is a service of build and start commands to pack.
type ProcessSpec struct {
	Origin Origin
	// Root is the build directory: the checkout the build ran in, all of
	// which goes to AppDir. Required.
	Root string
	// Dir is where the start command runs: Root or a directory inside
	// it (basePath). Default Root.
	Dir string
	// Start is the start command: the image's entrypoint, /bin/sh -c
	// LINE for the shell form, the argv itself for the exec form. Blank
	// for a service that only runs jobs (a scheduler): the image then has
	// no entrypoint and no command, and each job gives its own.
	Start config.Command
	// Port is the port the service listens on: PORT in the image's
	// environment, and its exposed port. 0: neither.
	Port int
	// BaseImage is the base; default Config.BaseImage.
	BaseImage string
	// Log receives what the pack does, for the deployment's output. Nil
	// discards it.
	Log io.Writer
}

// Process packs a service's build directory into an image on its base
// and pushes it: the base's layers, then one layer of the build directory
// at AppDir, owned by Config.User, which runs the start command in the
// image's working directory (AppDir and basePath). The base is resolved
// to its digest, which the image's labels record
// (org.opencontainers.image.base.digest), so that the same build on the
// same base gives the same image.
func (p *Packer) Process(ctx context.Context, spec ProcessSpec) (Image, error) {
	log := spec.Log
	if log == nil {
		log = io.Discard
	}
	tag, err := p.tagged(spec.Origin)
	if err != nil {
		return Image{}, err
	}
	if spec.Root == "" {
		return Image{}, fmt.Errorf("imagepack: service %s: no build directory to pack", spec.Origin.ServiceID)
	}
	workDir, err := workingDir(spec.Root, spec.Dir)
	if err != nil {
		return Image{}, fmt.Errorf("imagepack: service %s: %w", spec.Origin.ServiceID, err)
	}
	baseName := spec.BaseImage
	if baseName == "" {
		baseName = p.cfg.BaseImage
	}
	baseRef, err := p.parseBase(baseName)
	if err != nil {
		return Image{}, err
	}
	fmt.Fprintf(log, "==> Packing the build into an image on %s\n", baseName)
	start := time.Now()
	base, err := remote.Image(baseRef, p.remoteOptions(ctx, baseRef)...)
	if err != nil {
		return Image{}, fmt.Errorf("base image %s: %w", baseName, err)
	}
	baseDigest, err := base.Digest()
	if err != nil {
		return Image{}, fmt.Errorf("base image %s: %w", baseName, err)
	}
	baseMT, err := base.MediaType()
	if err != nil {
		return Image{}, fmt.Errorf("base image %s: %w", baseName, err)
	}
	layerMT, oci := types.DockerLayer, baseMT == types.OCIManifestSchema1
	if oci {
		layerMT = types.OCILayer
	}
	var skip skipped
	layer, err := writeLayer(ctx, p.cfg.TempDir, layerMT, func(tw *tar.Writer) error {
		return addTree(ctx, tw, spec.Root, strings.TrimPrefix(AppDir, "/"), owner{uid: p.uid, gid: p.gid}, &skip)
	})
	if err != nil {
		return Image{}, fmt.Errorf("pack the build directory: %w", err)
	}
	defer layer.remove()
	if skip.n > 0 {
		fmt.Fprintf(log, "==> Left out %d sockets, devices or named pipes of the build directory: an image holds none\n", skip.n)
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: epoch}, CreatedBy: "liftoff: the build directory at " + AppDir}})
	if err != nil {
		return Image{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Image{}, fmt.Errorf("base image %s: %w", baseName, err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: epoch}
	c := &cf.Config
	c.WorkingDir = workDir
	c.User = p.cfg.User
	c.Entrypoint, c.Cmd = nil, nil
	if !spec.Start.IsBlank() {
		c.Entrypoint = spec.Start.Argv(shell)
	}
	if spec.Port > 0 {
		c.Env = setEnv(c.Env, "PORT", strconv.Itoa(spec.Port))
		c.ExposedPorts = map[string]struct{}{strconv.Itoa(spec.Port) + "/tcp": {}}
	}
	labels := spec.Origin.labels()
	labels[LabelBaseName] = baseName
	labels[LabelBaseDigest] = baseDigest.String()
	c.Labels = mergeLabels(c.Labels, labels)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return Image{}, err
	}
	if oci {
		img = mutate.Annotations(img, labels).(v1.Image)
	}
	fmt.Fprintf(log, "==> Packed the build directory (%s compressed) in %s; pushing %s\n", humanSize(layer.size), time.Since(start).Round(time.Millisecond), tag)
	out, err := p.push(ctx, tag, img, spec.Port)
	if err != nil {
		return Image{}, err
	}
	fmt.Fprintf(log, "==> Pushed %s in %s\n", out.Ref, time.Since(start).Round(time.Millisecond))
	return out, nil
}

// parseBase reads a base image's reference; one in Config.Registry is
// reached as Config.Insecure says.
func (p *Packer) parseBase(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("base image %q is not an image reference: %w", s, err)
	}
	if p.cfg.Insecure && ref.Context().RegistryStr() == p.registry.RegistryStr() {
		return name.ParseReference(s, name.Insecure)
	}
	return ref, nil
}

// workingDir is dir's place in the image: AppDir and dir's path inside
// root.
func workingDir(root, dir string) (string, error) {
	if dir == "" {
		return AppDir, nil
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("its directory %s is not inside its build directory %s", dir, root)
	}
	return path.Join(AppDir, filepath.ToSlash(rel)), nil
}

// setEnv sets name=value in env, in place of an earlier value.
func setEnv(env []string, name, value string) []string {
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
	return append(out, name+"="+value)
}

// mergeLabels are the base's labels with ours over them: the base's
// revision or source must not pass for the service's.
func mergeLabels(base, ours map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range []string{LabelRevision, LabelSource, LabelBaseName, LabelBaseDigest} {
		delete(out, k)
	}
	maps.Copy(out, ours)
	return out
}

// humanSize is n bytes for people: 12.3 MB.
func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
