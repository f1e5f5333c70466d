package container

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListImagesAgainWhenAnImageGoes: podman's listing fails with "image
// not known" when an image is removed while it lists (another build's
// cache, a pruning); ListImages lists again. A script stands for podman:
// the race cannot be made to happen on demand with the real one.
func TestListImagesAgainWhenAnImageGoes(t *testing.T) {
	// Not parallel: exec of a script just written fails with "text file
	// busy" while another test's fork still holds the file open.
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

// TestBuildAgainWhenTheStorageChanges: a build that fails because its
// cache met an image or layer removed meanwhile is run again; another
// failure is not.
func TestBuildAgainWhenTheStorageChanges(t *testing.T) {
	// Not parallel, as TestListImagesAgainWhenAnImageGoes.
	for _, c := range []struct {
		name, failure string
		wantErr       bool
	}{
		{"layer removed meanwhile", "Error: checking if cached image exists from a previous build: getting top layer info: layer not known", false},
		{"a RUN step failed", "Error: building at STEP \"RUN false\": exit status 1", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			script := `#!/bin/sh
if [ ! -e "` + dir + `/built" ]; then
	: > "` + dir + `/built"
	echo '` + c.failure + `' >&2
	exit 125
fi
echo built
`
			path := filepath.Join(dir, "podman")
			if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			cli, err := New(Config{CLI: path, Ulimits: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			err = cli.Build(context.Background(), BuildSpec{Context: dir, Dockerfile: "Dockerfile", Tags: []string{"x:1"}, Output: &out})
			if (err != nil) != c.wantErr {
				t.Fatalf("Build = %v, want error %v; output:\n%s", err, c.wantErr, out.String())
			}
			if !c.wantErr && !strings.Contains(out.String(), "building again") {
				t.Errorf("the output does not say the build ran again:\n%s", out.String())
			}
		})
	}
}
