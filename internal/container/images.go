package container

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// Image is what ListImages says of an image.
type Image struct {
	ID      string
	Tags    []string // repository:tag references
	Labels  map[string]string
	Created time.Time
}

// RemoveImage removes the image ref names (a tag or an id). A tag of an
// image with other tags only loses that tag; an image a container uses
// is refused. ErrNotFound when there is no such image.
func (c *CLI) RemoveImage(ctx context.Context, ref string) error {
	_, err := c.output(ctx, nil, "rmi", ref)
	return err
}

// ListImages returns the images that carry all the labels, newest first.
// Podman labels the images of a multi-stage build's earlier stages too:
// they have no tags, and are the layer cache of later builds.
//
// An image removed while the list is made (another build's cache, a
// pruning) makes podman's listing fail with "image not known": it is made
// again, a few times.
func (c *CLI) ListImages(ctx context.Context, labels map[string]string) ([]Image, error) {
	var err error
	for attempt := range listAttempts {
		var images []Image
		if images, err = c.listImages(ctx, labels); !errors.Is(err, ErrNotFound) {
			return images, err
		}
		select {
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		case <-ctx.Done():
			return nil, err
		}
	}
	return nil, err
}

// listAttempts bounds ListImages' attempts.
const listAttempts = 5

func (c *CLI) listImages(ctx context.Context, labels map[string]string) ([]Image, error) {
	args := []string{"images", "--no-trunc", "--quiet"}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		args = append(args, "--filter", "label="+k+"="+labels[k])
	}
	out, err := c.output(ctx, nil, args...)
	if err != nil {
		return nil, err
	}
	ids := slices.Compact(slices.Sorted(slices.Values(strings.Fields(string(out)))))
	if len(ids) == 0 {
		return nil, nil
	}
	out, err = c.output(ctx, nil, append([]string{"image", "inspect"}, ids...)...)
	if err != nil {
		return nil, err
	}
	var list []struct {
		ID       string   `json:"Id"`
		RepoTags []string `json:"RepoTags"`
		Created  string   `json:"Created"`
		Config   struct {
			Labels map[string]string `json:"Labels"`
		} `json:"Config"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("container: read image inspect's answer: %w", err)
	}
	images := make([]Image, len(list))
	for i, im := range list {
		images[i] = Image{ID: strings.TrimPrefix(im.ID, "sha256:"), Tags: im.RepoTags, Labels: im.Config.Labels, Created: parseTime(im.Created)}
	}
	slices.SortStableFunc(images, func(a, b Image) int { return b.Created.Compare(a.Created) })
	return images, nil
}

// Import makes an image named ref from a tar archive of a root file
// system, with Dockerfile instructions applied (changes: `CMD ["/bin/sh"]`).
// Tests make their base images with it, as no registry is reachable.
func (c *CLI) Import(ctx context.Context, tarPath, ref string, changes ...string) error {
	args := []string{"import"}
	for _, ch := range changes {
		args = append(args, "--change", ch)
	}
	_, err := c.output(ctx, nil, append(args, tarPath, ref)...)
	return err
}

// CopySpec is a directory to copy out of an image.
type CopySpec struct {
	// Image is the image's reference. Required.
	Image string
	// Path is the directory in the image: absolute, or relative to the
	// image's working directory (its WORKDIR; / without one). Required.
	Path string
	// Dest is where the directory's content goes on the host: a path that
	// does not exist yet, whose parent does. Required.
	Dest string
	// Labels are set on the container the copy is made from.
	Labels map[string]string
}

// ErrNoDirectory is returned by CopyFromImage when the image has no
// directory at the path.
var ErrNoDirectory = errors.New("no such directory in the image")

// CopyFromImage copies a directory of an image to the host (a static
// site its Dockerfile built): it creates a container of the image, never
// started, copies the directory's content out of it (symbolic links as
// they are) and removes the container. It returns the absolute path it
// copied from; ErrNoDirectory when the image has none there (nothing, or
// a file).
func (c *CLI) CopyFromImage(ctx context.Context, spec CopySpec) (string, error) {
	if spec.Image == "" || spec.Path == "" || spec.Dest == "" {
		return "", fmt.Errorf("container: a copy needs an image, a path and a destination")
	}
	src := spec.Path
	if !path.IsAbs(src) {
		// Podman reads a relative path from the working directory, docker
		// from the root: made absolute here, it means the same to both.
		out, err := c.output(ctx, nil, "image", "inspect", "--format", "{{.Config.WorkingDir}}", spec.Image)
		if err != nil {
			return "", err
		}
		wd := strings.TrimSpace(string(out))
		if wd == "" {
			wd = "/"
		}
		src = path.Join(wd, src)
	}
	src = path.Clean(src)
	name := "liftoff-copy-" + strings.ToLower(rand.Text()[:16])
	// The command is never run: it only stands for an image without one.
	args := appendLabels([]string{"create", "--name", name}, spec.Labels)
	if _, err := c.output(ctx, nil, append(args, spec.Image, "liftoff-copy")...); err != nil {
		_ = c.Remove(context.WithoutCancel(ctx), name)
		return src, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
		defer cancel()
		_ = c.Remove(rctx, name)
	}()
	// "dir/." copies the directory's content into Dest, which it makes.
	if _, err := c.output(ctx, nil, "cp", name+":"+strings.TrimSuffix(src, "/")+"/.", spec.Dest); err != nil {
		if s := strings.ToLower(err.Error()); strings.Contains(s, "could not be found") || strings.Contains(s, "no such file") {
			return src, fmt.Errorf("%w: %s", ErrNoDirectory, src)
		}
		return src, err
	}
	// A file copies as nothing at all.
	if info, err := os.Lstat(spec.Dest); err != nil || !info.IsDir() {
		return src, fmt.Errorf("%w: %s is not a directory", ErrNoDirectory, src)
	}
	return src, nil
}
