package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/confine"
	"github.com/liftoffhq/liftoff/internal/imagepack"
	"github.com/liftoffhq/liftoff/internal/target"
)

// Packers publish releases' images with package imagepack: one packer
// per registry, made from a template the first time a registry is named.
type Packers struct {
	template imagepack.Config

	mu      sync.Mutex
	packers map[string]*imagepack.Packer
}

var _ Images = (*Packers)(nil)

// NewPackers returns Packers making each registry's packer from template
// (its Registry ignored).
func NewPackers(template imagepack.Config) *Packers {
	return &Packers{template: template, packers: map[string]*imagepack.Packer{}}
}

// Close removes what the packers keep on disk.
func (p *Packers) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, pk := range p.packers {
		errs = append(errs, pk.Close())
	}
	return errors.Join(errs...)
}

func (p *Packers) packer(registry string) (*imagepack.Packer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pk, ok := p.packers[registry]; ok {
		return pk, nil
	}
	cfg := p.template
	cfg.Registry = registry
	pk, err := imagepack.New(cfg)
	if err != nil {
		return nil, err
	}
	p.packers[registry] = pk
	return pk, nil
}

// Publish pushes the image of rel to registry: a Dockerfile service's
// image as the container CLI built it, a static site as an image serving
// its output directory, the others' build directories on the base image.
// A prebuilt containerImage is run as it is named.
func (p *Packers) Publish(ctx context.Context, rel target.Release, registry string) (string, error) {
	svc := rel.Service
	if svc.ContainerImage != nil {
		return svc.ContainerImage.Ref(), nil
	}
	pk, err := p.packer(registry)
	if err != nil {
		return "", err
	}
	origin := imagepack.Origin{ProjectID: rel.Instance.ProjectID, ProjectSlug: rel.Origin.ProjectSlug,
		Environment: rel.Instance.EnvGivenID, PRNumber: rel.Instance.PRNumber, ServiceID: svc.ID,
		DeploymentID: rel.Origin.DeploymentID, ServiceDeploymentID: rel.ID, Commit: rel.Origin.Commit, Source: rel.Origin.RepoURL}
	if origin.DeploymentID == "" {
		origin.DeploymentID = rel.ID
	}
	var img imagepack.Image
	switch {
	case svc.Type == config.TypeStatic:
		dir, rerr := confine.Resolve(rel.Dir, svc.OutputDirectory)
		if rerr != nil {
			return "", fmt.Errorf("outputDirectory %q: %w", svc.OutputDirectory, rerr)
		}
		img, err = pk.Static(ctx, imagepack.StaticSpec{Origin: origin, Dir: dir, SinglePageApp: svc.SinglePageApp, Log: rel.Log})
	case svc.RunsAsContainer():
		img, err = pk.PushLocal(ctx, imagepack.LocalSpec{Origin: origin, Image: rel.Image, Log: rel.Log})
	default:
		root := rel.Root
		if root == "" {
			root = rel.Dir
		}
		img, err = pk.Process(ctx, imagepack.ProcessSpec{Origin: origin, Root: root, Dir: rel.Dir, Start: svc.StartCommand,
			Port: svc.Port, BaseImage: svc.Target.BaseImage, Log: rel.Log})
	}
	if err != nil {
		return "", err
	}
	return img.Ref, nil
}
