// Package container drives a container engine through its command-line
// client, podman or docker: it builds images from Dockerfiles and runs,
// inspects, lists, stops and removes the containers and images Liftoff
// made. It needs no daemon API and no library: every operation is one run
// of the CLI under a context, its output streamed or parsed, its failure
// wrapped with the command that ran (which never holds a secret: variables
// reach the CLI through its environment, a private env file or secret
// files, never its arguments).
//
// On podman the CLI's global options (--runtime, --cgroup-manager,
// --storage-driver) and the containers' ulimits can be set; by default
// podman picks its own, but for the ulimits, which are lowered to the
// host's hard limits when podman's defaults are above them (a host whose
// root cannot raise its limits refuses podman's defaults).
package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Kinds of CLI.
const (
	Podman = "podman"
	Docker = "docker"
)

// ErrNoCLI is returned by New when no container CLI is found.
var ErrNoCLI = errors.New("no container CLI: neither podman nor docker is in PATH")

// ErrNotFound is returned for a container or an image that does not exist.
var ErrNotFound = errors.New("no such container or image")

// Config says which CLI to use and how. The zero value finds podman, else
// docker, in PATH, with podman's own settings and the ulimits detected.
type Config struct {
	// CLI is the path (or name in PATH) of podman or docker. Default:
	// podman if it is in PATH, else docker.
	CLI string
	// Runtime is podman's --runtime (runc, crun, or a path). Default: podman's.
	Runtime string
	// CgroupManager is podman's --cgroup-manager (systemd, cgroupfs).
	// Default: podman's.
	CgroupManager string
	// StorageDriver is podman's --storage-driver (overlay, vfs). Default:
	// podman's (the one its storage was created with).
	StorageDriver string
	// Ulimits are the --ulimit values of every container and build on
	// podman ("nofile=1024:1024"). Nil detects them (DetectUlimits); an
	// empty, non-nil slice passes none, leaving podman's defaults.
	Ulimits []string
}

// CLI runs one container CLI. Safe for concurrent use.
type CLI struct {
	path    string
	kind    string
	global  []string
	ulimits []string
}

// New finds the CLI that cfg names and prepares its options. It does not
// run it: Check does.
func New(cfg Config) (*CLI, error) {
	var path string
	var err error
	switch {
	case cfg.CLI != "":
		path, err = exec.LookPath(cfg.CLI)
		if err != nil {
			return nil, fmt.Errorf("container CLI %q: %w", cfg.CLI, err)
		}
	default:
		if path, err = exec.LookPath(Podman); err != nil {
			if path, err = exec.LookPath(Docker); err != nil {
				return nil, ErrNoCLI
			}
		}
	}
	c := &CLI{path: path, kind: kindOf(path)}
	if c.kind == Podman {
		for _, o := range []struct{ flag, value string }{
			{"--runtime", cfg.Runtime}, {"--cgroup-manager", cfg.CgroupManager}, {"--storage-driver", cfg.StorageDriver},
		} {
			if o.value != "" {
				c.global = append(c.global, o.flag, o.value)
			}
		}
		c.ulimits = cfg.Ulimits
		if c.ulimits == nil {
			c.ulimits = DetectUlimits()
		}
	}
	return c, nil
}

// kindOf tells podman from docker by the program's name; anything else
// (a wrapper script, say) is taken for docker, whose options are the
// common subset.
func kindOf(path string) string {
	if strings.Contains(filepath.Base(path), Podman) {
		return Podman
	}
	return Docker
}

// Path is the CLI's path.
func (c *CLI) Path() string { return c.path }

// Kind is Podman or Docker.
func (c *CLI) Kind() string { return c.kind }

// Ulimits are the --ulimit values given to containers and builds.
func (c *CLI) Ulimits() []string { return c.ulimits }

// Check runs the CLI once to see that it answers, and that its engine
// does (a docker CLI without its daemon fails here).
func (c *CLI) Check(ctx context.Context) error {
	_, err := c.output(ctx, nil, "info", "--format", "{{json .}}")
	return err
}

// invocation is one run of the CLI.
type invocation struct {
	args   []string
	env    []string // added to Liftoff's environment
	stdin  io.Reader
	stdout io.Writer // nil: kept and returned by output
	stderr io.Writer // nil: kept for the error
}

// run runs the CLI. A failure says what ran (the subcommand and its
// arguments, which never carry a value of a variable) and the end of what
// it wrote on stderr.
func (c *CLI) run(ctx context.Context, inv invocation) error {
	args := append(append([]string(nil), c.global...), inv.args...)
	cmd := exec.CommandContext(ctx, c.path, args...)
	if inv.env != nil {
		cmd.Env = append(os.Environ(), inv.env...)
	}
	cmd.Stdin = inv.stdin
	// stdout and stderr are copied by two goroutines, often to one writer
	// (a build's output): one at a time.
	var mu sync.Mutex
	if inv.stdout != nil {
		cmd.Stdout = &lockedWriter{mu: &mu, w: inv.stdout}
	}
	var errBuf tail
	cmd.Stderr = &lockedWriter{mu: &mu, w: &errBuf}
	if inv.stderr != nil {
		cmd.Stderr = &lockedWriter{mu: &mu, w: io.MultiWriter(inv.stderr, &errBuf)}
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		msg := strings.TrimSpace(errBuf.String())
		if isNotFound(msg) {
			err = fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if msg != "" && inv.stderr == nil {
			return fmt.Errorf("%s %s: %w: %s", filepath.Base(c.path), strings.Join(inv.args, " "), err, msg)
		}
		return fmt.Errorf("%s %s: %w", filepath.Base(c.path), strings.Join(inv.args, " "), err)
	}
	return nil
}

// output runs the CLI and returns its standard output.
func (c *CLI) output(ctx context.Context, env []string, args ...string) ([]byte, error) {
	var out bytes.Buffer
	err := c.run(ctx, invocation{args: args, env: env, stdout: &out})
	return out.Bytes(), err
}

// isNotFound recognises podman's and docker's words for a missing object.
func isNotFound(stderr string) bool {
	s := strings.ToLower(stderr)
	return strings.Contains(s, "no such container") || strings.Contains(s, "no such object") ||
		strings.Contains(s, "no such image") || strings.Contains(s, "image not known") ||
		strings.Contains(s, "image is not known") || strings.Contains(s, "no container with name or id")
}

// lockedWriter writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tail keeps the last few kilobytes written to it: enough of a failing
// command's stderr to say why, never its whole output.
type tail struct{ b []byte }

const tailSize = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailSize {
		t.b = append(t.b[:0], t.b[len(t.b)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }
