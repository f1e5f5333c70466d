package container

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestListImagesAgainWhenAnImageGoes: podman's listing fails with "image
// not known" when an image is removed while it lists (another build's
// cache, a pruning); ListImages lists again. A script stands for podman:
// the race cannot be made to happen on demand with the real one.
func TestListImagesAgainWhenAnImageGoes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := `#!/bin/sh
case "$*" in
*"images --no-trunc --quiet"*)
	if [ ! -e "` + dir + `/listed" ]; then
		: > "` + dir + `/listed"
		echo 'Error: image "31bee338": image not known' >&2
		exit 125
	fi
	echo sha256:abc ;;
*"image inspect"*)
	echo '[{"Id":"sha256:abc","RepoTags":["localhost/x:1"],"Created":"2026-01-01T00:00:00Z","Config":{"Labels":{"k":"v"}}}]' ;;
esac
`
	path := filepath.Join(dir, "podman")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cli, err := New(Config{CLI: path, Ulimits: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	images, err := cli.ListImages(context.Background(), map[string]string{"k": "v"})
	if err != nil || len(images) != 1 || images[0].ID != "abc" || images[0].Tags[0] != "localhost/x:1" {
		t.Fatalf("ListImages = %+v, %v; want the image, listed again after the failure", images, err)
	}
}
