package imagepack

import (
	"archive/tar"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where a static site's image has the site and the binary that serves it.
const (
	SiteDir      = "/site"
	ServerBinary = "/liftoff"
)

// StaticSpec is a static site to pack.
type StaticSpec struct {
	Origin Origin
	// Dir is the site: the output directory, already resolved inside the
	// build directory. Required.
	Dir string
	// SinglePageApp answers paths without a file and without an extension
	// with /index.html (the service's singlePageApp).
	SinglePageApp bool
	// Log receives what the pack does. Nil discards it.
	Log io.Writer
}

// Static packs a static site into an image that serves it: on no base at
// all, a layer with the liftoff binary (Config.ServerBinary) at
// ServerBinary, the same for every site and so stored once in the
// registry, and a layer with the site at SiteDir, both owned by root and
// read-only to the server, which runs as Config.User:
// `liftoff serve-static --dir /site --addr :8080`, answering as the local
// target's proxy does for a static service. The image listens on
// StaticPort.
func (p *Packer) Static(ctx context.Context, spec StaticSpec) (Image, error) {
	log := spec.Log
	if log == nil {
		log = io.Discard
	}
	tag, err := p.tagged(spec.Origin)
	if err != nil {
		return Image{}, err
	}
	if fi, err := os.Stat(spec.Dir); err != nil || !fi.IsDir() {
		return Image{}, fmt.Errorf("imagepack: service %s: static output directory %s is not a directory", spec.Origin.ServiceID, spec.Dir)
	}
	start := time.Now()
	bin, err := p.binaryLayer(ctx)
	if err != nil {
		return Image{}, err
	}
	var skip skipped
	site, err := writeLayer(ctx, p.cfg.TempDir, types.OCILayer, func(tw *tar.Writer) error {
		return addTree(ctx, tw, spec.Dir, SiteDir[1:], owner{readOnly: true}, &skip)
	})
	if err != nil {
		return Image{}, fmt.Errorf("pack the site: %w", err)
	}
	defer site.remove()
	if skip.n > 0 {
		fmt.Fprintf(log, "==> Left out %d sockets, devices or named pipes of the site: an image holds none\n", skip.n)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base,
		mutate.Addendum{Layer: bin, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "liftoff: the liftoff binary at " + ServerBinary}},
		mutate.Addendum{Layer: site, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "liftoff: the site at " + SiteDir}})
	if err != nil {
		return Image{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Image{}, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: epoch}
	cf.OS, cf.Architecture, cf.Variant = p.platform.OS, p.platform.Architecture, p.platform.Variant
	port := strconv.Itoa(StaticPort)
	entry := []string{ServerBinary, "serve-static", "--dir", SiteDir, "--addr", ":" + port}
	if spec.SinglePageApp {
		entry = append(entry, "--spa")
	}
	cf.Config = v1.Config{Entrypoint: entry, WorkingDir: SiteDir, User: p.cfg.User,
		Env: []string{"PORT=" + port}, ExposedPorts: map[string]struct{}{port + "/tcp": {}}, Labels: spec.Origin.labels()}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return Image{}, err
	}
	img = mutate.Annotations(img, spec.Origin.labels()).(v1.Image)
	fmt.Fprintf(log, "==> Packed %s of site in %s; pushing %s\n", humanSize(site.size), time.Since(start).Round(time.Millisecond), tag)
	out, err := p.push(ctx, tag, img, StaticPort)
	if err != nil {
		return Image{}, err
	}
	fmt.Fprintf(log, "==> Pushed %s in %s\n", out.Ref, time.Since(start).Round(time.Millisecond))
	return out, nil
}

// binaryLayer is the layer of the server binary, made at the first call
// and kept until Close.
func (p *Packer) binaryLayer(ctx context.Context) (*fileLayer, error) {
	p.binMu.Lock()
	defer p.binMu.Unlock()
	if p.binary != nil {
		return p.binary, nil
	}
	bin, shown := p.cfg.ServerBinary, p.cfg.ServerBinary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("imagepack: find the liftoff binary a static site's image runs: %w", err)
		}
		bin, shown = exe, exe
		// The running program itself, even when an upgrade replaced the
		// file since it started: the sites serve as the server does.
		if _, err := os.Stat(selfExe); err == nil {
			bin = selfExe
		}
	}
	if err := checkStatic(bin, shown, p.platform); err != nil {
		return nil, err
	}
	l, err := writeLayer(ctx, p.cfg.TempDir, types.OCILayer, func(tw *tar.Writer) error {
		return addFile(tw, bin, ServerBinary[1:], owner{readOnly: true}, 0o755)
	})
	if err != nil {
		return nil, fmt.Errorf("pack the liftoff binary: %w", err)
	}
	p.binary = l
	return l, nil
}

// selfExe is the running program on Linux.
const selfExe = "/proc/self/exe"

// elfMachines are the ELF machines of the architectures Go builds.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM,
	"riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "loong64": elf.EM_LOONGARCH,
}

// checkStatic refuses a binary that cannot run alone in an image of
// platform: not ELF, another architecture, or linked dynamically (it
// needs a loader and libraries an empty image does not have).
func checkStatic(bin, shown string, platform v1.Platform) error {
	fix := "build liftoff with CGO_ENABLED=0 for " + platform.OS + "/" + platform.Architecture +
		" (as the release binaries and the container image are), or name such a binary as the server binary"
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("imagepack: the liftoff binary %s, which a static site's image runs, is not a Linux executable (%v): %s", shown, err, fix)
	}
	defer func() { _ = f.Close() }()
	if want, ok := elfMachines[platform.Architecture]; !ok || f.Machine != want {
		return fmt.Errorf("imagepack: the liftoff binary %s is built for %s, not %s: %s", shown, f.Machine, platform.Architecture, fix)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("imagepack: the liftoff binary %s is linked dynamically (cgo), and an image without a base has no C library: %s", shown, fix)
		}
	}
	return nil
}
