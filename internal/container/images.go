package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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
