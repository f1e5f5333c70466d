package imagepack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/liftoffhq/liftoff/internal/container"
)

// LocalSpec is an image the container CLI built (a Dockerfile service's)
// to push.
type LocalSpec struct {
	Origin Origin
	// Image is the local image's reference or id. Required.
	Image string
	// Log receives what the push does. Nil discards it.
	Log io.Writer
}

// PushLocal pushes an image the container CLI built to the registry, with
// that CLI (podman push, which sends only the layers the registry lacks
// and says the digest it pushed), under the same name a packed image
// would have. The image stays as it was built: its labels are the
// build's.
func (p *Packer) PushLocal(ctx context.Context, spec LocalSpec) (Image, error) {
	log := spec.Log
	if log == nil {
		log = io.Discard
	}
	if p.cfg.Containers == nil {
		return Image{}, errors.New("imagepack: no container CLI: Liftoff found none (podman or docker) to push the image it built")
	}
	if spec.Image == "" {
		return Image{}, fmt.Errorf("imagepack: service %s: no image to push", spec.Origin.ServiceID)
	}
	tag, err := p.tagged(spec.Origin)
	if err != nil {
		return Image{}, err
	}
	fmt.Fprintf(log, "==> Pushing %s to %s\n", spec.Image, tag)
	start := time.Now()
	digest, err := p.cfg.Containers.Push(ctx, container.PushSpec{Image: spec.Image, Dest: tag.String(), Output: log,
		Access: container.Access{Insecure: p.cfg.Insecure, Username: p.cfg.Username, Password: p.cfg.Password, TempDir: p.cfg.TempDir}})
	if err != nil {
		return Image{}, fmt.Errorf("push %s: %w", tag, err)
	}
	repo := tag.Context().Name()
	out := Image{Ref: repo + "@" + digest, Repository: repo, Tag: tag.TagStr(), Digest: digest}
	fmt.Fprintf(log, "==> Pushed %s in %s\n", out.Ref, time.Since(start).Round(time.Millisecond))
	return out, nil
}
