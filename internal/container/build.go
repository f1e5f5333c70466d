package container

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// BuildSpec is one image build.
type BuildSpec struct {
	// Context is the build context directory. Required.
	Context string
	// Dockerfile is the Dockerfile's path (absolute, or relative to the
	// working directory). Required.
	Dockerfile string
	// Target is the stage to build (--target). Empty: the last one.
	Target string
	// Args are build arguments (ARG). Their values reach the CLI through
	// its environment (--build-arg NAME), never its command line; a name
	// the CLI itself reads (PATH, HOME, CONTAINERS_..., see reservedName)
	// is left out and said so in Output.
	Args map[string]string
	// Secrets are build secrets, each mounted by a RUN step that asks for
	// it (RUN --mount=type=secret,id=NAME) at /run/secrets/NAME and kept
	// out of the image. Their values go through files readable only by
	// Liftoff's user, in a private directory removed after the build.
	Secrets map[string]string
	// Labels are set on the image.
	Labels map[string]string
	// Tags name the image; at least one.
	Tags []string
	// Output receives the build's output, stdout and stderr. Nil discards it.
	Output io.Writer
	// TempDir holds the secret files' private directory. Default os.TempDir().
	TempDir string
	// CacheDir, on podman, is the build's TMPDIR: buildah keeps the cache
	// mounts of RUN --mount=type=cache under $TMPDIR/buildah-cache*, so
	// each build that names a directory of its own has cache mounts of its
	// own (the service's build cache). Empty: podman's default, /var/tmp,
	// shared by every build of the host. Docker's BuildKit keeps them in
	// its daemon whatever this says.
	CacheDir string
	// NoCache builds every step again (--no-cache): the layer cache is
	// not read.
	NoCache bool
}

// Build builds an image from a Dockerfile. The layer cache of the engine
// is used: a step whose inputs did not change is not run again.
func (c *CLI) Build(ctx context.Context, spec BuildSpec) error {
	if spec.Context == "" || spec.Dockerfile == "" || len(spec.Tags) == 0 {
		return fmt.Errorf("container: build needs a context, a Dockerfile and a tag")
	}
	out := spec.Output
	if out == nil {
		out = io.Discard
	}
	args := []string{"build", "-f", spec.Dockerfile}
	if c.kind == Podman {
		// The layer cache, whatever BUILDAH_LAYERS or containers.conf say.
		args = append(args, "--layers")
	}
	if spec.NoCache {
		args = append(args, "--no-cache")
	}
	if spec.Target != "" {
		args = append(args, "--target", spec.Target)
	}
	var env []string
	for _, k := range slices.Sorted(maps.Keys(spec.Args)) {
		if reservedName(k) {
			fmt.Fprintf(out, "Build argument %s is not passed: the container CLI reads a variable of that name itself\n", k)
			continue
		}
		args = append(args, "--build-arg", k)
		env = append(env, k+"="+spec.Args[k])
	}
	if len(spec.Secrets) > 0 {
		dir, err := os.MkdirTemp(spec.TempDir, "liftoff-build-secrets-")
		if err != nil {
			return fmt.Errorf("container: directory for build secrets: %w", err)
		}
		defer func() { _ = os.RemoveAll(dir) }()
		for i, k := range slices.Sorted(maps.Keys(spec.Secrets)) {
			f := filepath.Join(dir, fmt.Sprintf("s%d", i))
			if err := os.WriteFile(f, []byte(spec.Secrets[k]), 0o600); err != nil {
				return fmt.Errorf("container: write build secret %s: %w", k, err)
			}
			args = append(args, "--secret", "id="+k+",src="+f)
		}
	}
	args = appendLabels(args, spec.Labels)
	for _, t := range spec.Tags {
		args = append(args, "-t", t)
	}
	for _, u := range c.ulimits {
		args = append(args, "--ulimit", u)
	}
	if c.kind == Docker {
		env = append(env, "DOCKER_BUILDKIT=1") // build secrets need BuildKit
	} else if spec.CacheDir != "" {
		env = append(env, "TMPDIR="+spec.CacheDir)
	} else if env == nil {
		env = []string{}
	}
	args = append(args, spec.Context)
	var err error
	for attempt := 1; ; attempt++ {
		var seen tail
		err = c.run(ctx, invocation{args: args, env: env, stdout: out, stderr: io.MultiWriter(out, &seen)})
		if err == nil || attempt == buildAttempts || ctx.Err() != nil || !storageRace(seen.String()) {
			return err
		}
		fmt.Fprintf(out, "An image or layer the build's cache looked at was removed meanwhile (another build, a pruning): building again\n")
	}
}

// buildAttempts bounds Build's attempts when the storage changed under it.
const buildAttempts = 3

// storageRace recognises a build that failed because an image or a layer
// was removed while podman's cache looked at it: not the build's fault,
// and gone when it runs again.
func storageRace(output string) bool {
	s := strings.ToLower(output)
	return strings.Contains(s, "layer not known") || strings.Contains(s, "image not known")
}

// appendLabels adds --label k=v for each label, in a stable order.
func appendLabels(args []string, labels map[string]string) []string {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		args = append(args, "--label", k+"="+labels[k])
	}
	return args
}

// reservedName reports whether the container CLI reads an environment
// variable of that name itself, so that it cannot carry a value for a
// build or a container.
func reservedName(name string) bool {
	switch name {
	case "PATH", "HOME", "TMPDIR", "USER", "SHELL", "LANG", "REGISTRY_AUTH_FILE":
		return true
	}
	for _, p := range []string{"CONTAINERS_", "CONTAINER_", "DOCKER_", "BUILDAH_", "BUILDKIT_", "PODMAN_", "XDG_", "STORAGE_", "LC_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
