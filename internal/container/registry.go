package container

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Access is how the CLI reaches a registry to push to or pull from it.
type Access struct {
	// Insecure lets podman reach a registry over plain HTTP, or over
	// HTTPS with a certificate it does not trust (--tls-verify=false): a
	// registry on loopback in tests, a private one. Docker's daemon
	// decides that itself (its insecure-registries), which this does not
	// change. Default false.
	Insecure bool
	// Username and Password sign in to the registry. They reach the CLI
	// through an auth file readable only by Liftoff's user, in a private
	// directory removed after the command, never its command line. Empty:
	// the CLI's own credentials (podman login, docker login, their auth
	// files).
	Username, Password string
	// TempDir holds the auth file's private directory. Default os.TempDir().
	TempDir string
}

// PushSpec is a local image to push to a registry.
type PushSpec struct {
	// Image is the local image: a reference or an id. Required.
	Image string
	// Dest is where it goes: registry/repository:tag, the registry's host
	// first. Required.
	Dest string
	// Access says how to reach the registry.
	Access Access
	// Output receives the CLI's progress. Nil discards it.
	Output io.Writer
}

// Push pushes a local image to a registry and returns the digest
// (sha256:...) of the manifest the registry now holds under Dest, which
// names the image there whatever the tag later becomes. Podman writes it
// to a file (--digestfile); docker prints it. Layers the registry already
// has are not sent again.
func (c *CLI) Push(ctx context.Context, spec PushSpec) (string, error) {
	if spec.Image == "" || spec.Dest == "" {
		return "", fmt.Errorf("container: push needs an image and a destination")
	}
	host, ok := registryHost(spec.Dest)
	if !ok {
		return "", fmt.Errorf("container: push destination %q names no registry: it must start with the registry's host (registry.example.com/app:tag)", spec.Dest)
	}
	out := spec.Output
	if out == nil {
		out = io.Discard
	}
	dir, err := os.MkdirTemp(spec.Access.TempDir, "liftoff-push-")
	if err != nil {
		return "", fmt.Errorf("container: directory for the push: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	auth, err := c.authArgs(dir, host, spec.Access)
	if err != nil {
		return "", err
	}
	if c.kind == Docker {
		return c.dockerPush(ctx, spec, auth, out)
	}
	digestFile := filepath.Join(dir, "digest")
	args := append([]string{"push"}, auth...)
	if spec.Access.Insecure {
		args = append(args, "--tls-verify=false")
	}
	args = append(args, "--digestfile", digestFile, spec.Image, "docker://"+spec.Dest)
	if err := c.run(ctx, invocation{args: args, stdout: out, stderr: out}); err != nil {
		return "", err
	}
	b, err := os.ReadFile(digestFile)
	if err != nil {
		return "", fmt.Errorf("container: read the pushed image's digest: %w", err)
	}
	digest := strings.TrimSpace(string(b))
	if !digestRE.MatchString(digest) {
		return "", fmt.Errorf("container: push of %s wrote %q for its digest", spec.Dest, digest)
	}
	return digest, nil
}

// dockerPush tags the image as Dest, pushes that tag and reads the
// digest the CLI prints, then drops the tag: the image keeps its own.
func (c *CLI) dockerPush(ctx context.Context, spec PushSpec, auth []string, out io.Writer) (string, error) {
	if _, err := c.output(ctx, nil, "tag", spec.Image, spec.Dest); err != nil {
		return "", err
	}
	defer func() { _, _ = c.output(context.WithoutCancel(ctx), nil, "rmi", spec.Dest) }()
	var printed bytes.Buffer
	// Docker's --config is a global option: before the command.
	args := append(append([]string(nil), auth...), "push", spec.Dest)
	if err := c.run(ctx, invocation{args: args, stdout: io.MultiWriter(out, &printed), stderr: out}); err != nil {
		return "", err
	}
	m := pushedDigest.FindStringSubmatch(printed.String())
	if m == nil {
		return "", fmt.Errorf("container: docker push %s printed no digest", spec.Dest)
	}
	return m[1], nil
}

var (
	digestRE     = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	pushedDigest = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)
)

// PullSpec is an image to pull from a registry.
type PullSpec struct {
	// Image is the reference to pull: registry/repository:tag or
	// registry/repository@sha256:... Required.
	Image string
	// Access says how to reach the registry.
	Access Access
}

// Pull copies an image from its registry into the CLI's local images.
func (c *CLI) Pull(ctx context.Context, spec PullSpec) error {
	host, ok := registryHost(spec.Image)
	if !ok {
		return fmt.Errorf("container: image %q names no registry: it must start with the registry's host", spec.Image)
	}
	dir, err := os.MkdirTemp(spec.Access.TempDir, "liftoff-pull-")
	if err != nil {
		return fmt.Errorf("container: directory for the pull: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	auth, err := c.authArgs(dir, host, spec.Access)
	if err != nil {
		return err
	}
	args := []string{"pull", "--quiet"}
	if c.kind == Docker {
		args = append(auth, args...) // docker's --config comes first
	} else {
		args = append(args, auth...)
		if spec.Access.Insecure {
			args = append(args, "--tls-verify=false")
		}
	}
	args = append(args, spec.Image)
	_, err = c.output(ctx, nil, args...)
	return err
}

// authArgs writes the credentials of access, if any, to an auth file in
// dir (private, 0600) and returns the options that name it: podman's
// --authfile, docker's global --config (a directory holding config.json).
func (c *CLI) authArgs(dir, host string, access Access) ([]string, error) {
	if access.Username == "" && access.Password == "" {
		return nil, nil
	}
	if access.Username == "" || access.Password == "" {
		return nil, fmt.Errorf("container: registry %s: give both a username and a password, or neither", host)
	}
	entry := map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(access.Username + ":" + access.Password))}
	b, err := json.Marshal(map[string]any{"auths": map[string]any{host: entry}})
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return nil, fmt.Errorf("container: write the registry's auth file: %w", err)
	}
	if c.kind == Docker {
		return []string{"--config", dir}, nil
	}
	return []string{"--authfile", file}, nil
}

// registryHost is the registry part of an image reference: its first
// component, when it looks like a host (a dot, a port, or localhost).
func registryHost(ref string) (string, bool) {
	ref = strings.TrimPrefix(ref, "docker://")
	host, rest, ok := strings.Cut(ref, "/")
	if !ok || rest == "" {
		return "", false
	}
	return host, strings.ContainsAny(host, ".:") || host == "localhost"
}
