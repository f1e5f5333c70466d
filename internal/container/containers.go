package container

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Port publishes a container's port on the host.
type Port struct {
	// HostIP is the address to listen on. Default 127.0.0.1: only the
	// proxy on this host reaches a container.
	HostIP string
	// HostPort is the port on the host. Required.
	HostPort int
	// ContainerPort is the port inside the container. Required.
	ContainerPort int
}

// RunSpec is a container to start, detached.
type RunSpec struct {
	// Name names the container; unique on the host. Required.
	Name string
	// Image is the image reference. Required.
	Image string
	// Command replaces the image's CMD when not empty.
	Command []string
	// Labels are set on the container (List finds it by them).
	Labels map[string]string
	// Env are the container's variables. They go through an env file
	// readable only by Liftoff's user, in a private directory removed once
	// the container is started, never through the command line; a value
	// with a line break, which an env file cannot hold, goes through the
	// CLI's environment (--env NAME).
	Env map[string]string
	// Publish are the ports published on the host.
	Publish []Port
	// TempDir holds the env file's private directory. Default os.TempDir().
	TempDir string
}

// Run starts a container, detached, that is not restarted when it ends
// (Liftoff decides), and returns its id.
func (c *CLI) Run(ctx context.Context, spec RunSpec) (string, error) {
	if spec.Name == "" || spec.Image == "" {
		return "", fmt.Errorf("container: run needs a name and an image")
	}
	args := []string{"run", "--detach", "--name", spec.Name, "--restart", "no"}
	args = appendLabels(args, spec.Labels)
	for _, u := range c.ulimits {
		args = append(args, "--ulimit", u)
	}
	for _, p := range spec.Publish {
		ip := p.HostIP
		if ip == "" {
			ip = "127.0.0.1"
		}
		args = append(args, "--publish", fmt.Sprintf("%s:%d:%d", ip, p.HostPort, p.ContainerPort))
	}
	args, env, cleanup, err := c.envArgs(args, spec)
	if err != nil {
		return "", err
	}
	defer cleanup()
	args = append(args, spec.Image)
	args = append(args, spec.Command...)
	out, err := c.output(ctx, env, args...)
	if err != nil {
		return "", err
	}
	return lastLine(out), nil
}

// envArgs adds spec's variables to args: through an env file readable only
// by Liftoff's user, in a private directory that cleanup removes, and a
// value with a line break through the CLI's environment (the env it
// returns). Never through the command line.
func (c *CLI) envArgs(args []string, spec RunSpec) (_ []string, env []string, cleanup func(), err error) {
	cleanup = func() {}
	if len(spec.Env) == 0 {
		return args, nil, cleanup, nil
	}
	dir, err := os.MkdirTemp(spec.TempDir, "liftoff-env-")
	if err != nil {
		return nil, nil, cleanup, fmt.Errorf("container: directory for the env file: %w", err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	var file bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		v := spec.Env[k]
		if !strings.ContainsAny(v, "\r\n") {
			fmt.Fprintf(&file, "%s=%s\n", k, v)
			continue
		}
		if reservedName(k) {
			cleanup()
			return nil, nil, func() {}, fmt.Errorf("container: variable %s has a line break, which an env file cannot hold, and the container CLI reads a variable of that name itself", k)
		}
		args = append(args, "--env", k)
		env = append(env, k+"="+v)
	}
	f := filepath.Join(dir, "env")
	if err := os.WriteFile(f, file.Bytes(), 0o600); err != nil {
		cleanup()
		return nil, nil, func() {}, fmt.Errorf("container: write the env file: %w", err)
	}
	return append(args, "--env-file", f), env, cleanup, nil
}

// RunOnce runs spec's command (the image's CMD when spec.Command is
// empty) in a new container of its image, attached, writing its output
// to out, and removes the container when it ends: a deploy command or a
// job run in the service's image. When ctx ends first, the container is
// removed (killed) too, as the end of the CLI does not end a container.
// A container that ran and exited with a non-zero status is an
// *ExitError. A container without spec.Name is given a name of its own.
func (c *CLI) RunOnce(ctx context.Context, spec RunSpec, out io.Writer) error {
	if spec.Image == "" {
		return fmt.Errorf("container: run needs an image")
	}
	name := spec.Name
	if name == "" {
		name = "liftoff-once-" + strings.ToLower(rand.Text()[:16])
	}
	args := []string{"run", "--rm", "--name", name}
	args = appendLabels(args, spec.Labels)
	for _, u := range c.ulimits {
		args = append(args, "--ulimit", u)
	}
	args, env, cleanup, err := c.envArgs(args, spec)
	if err != nil {
		return err
	}
	defer cleanup()
	args = append(args, spec.Image)
	args = append(args, spec.Command...)
	err = c.run(ctx, invocation{args: args, env: env, stdout: out, stderr: out})
	if ctx.Err() != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
		defer cancel()
		if rerr := c.Remove(rctx, name); rerr != nil {
			return errors.Join(err, fmt.Errorf("container: remove %s after its run was stopped: %w", name, rerr))
		}
		return err
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return &ExitError{Code: ee.ExitCode(), err: err}
	}
	return err
}

// removeTimeout bounds the removal of a container whose run was stopped.
const removeTimeout = 2 * time.Minute

// ExitError is a one-off container that exited with a non-zero status
// (RunOnce). Podman and docker exit 125 when they could not run the
// container at all, 126 when its command could not be invoked and 127
// when it was not found.
type ExitError struct {
	Code int
	err  error
}

func (e *ExitError) Error() string { return e.err.Error() }
func (e *ExitError) Unwrap() error { return e.err }

// Stop asks the container to stop (its stop signal, SIGTERM by default)
// and kills it after timeout. Stopping a stopped container is no error.
func (c *CLI) Stop(ctx context.Context, name string, timeout time.Duration) error {
	secs := int((timeout + time.Second - 1) / time.Second)
	_, err := c.output(ctx, nil, "stop", "--time", strconv.Itoa(secs), name)
	return err
}

// Remove removes the container, killing it if it runs. A container that
// does not exist (any more) is no error, with podman as with docker.
func (c *CLI) Remove(ctx context.Context, name string) error {
	_, err := c.output(ctx, nil, "rm", "--force", name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// State is what Inspect says of a container.
type State struct {
	ID     string
	Name   string
	Image  string // the reference it was started from
	Labels map[string]string
	// Status is the engine's word: created, running, exited, ...
	Status     string
	Running    bool
	ExitCode   int
	StartedAt  time.Time // zero before it started
	FinishedAt time.Time // zero while it has not ended
	// Health is the health check's status (healthy, unhealthy,
	// starting), "" without a health check.
	Health string
	// Error is the engine's error starting the process, if any.
	Error string
}

// inspected is the part of `inspect` that podman and docker share.
type inspected struct {
	ID        string `json:"Id"`
	Name      string `json:"Name"`
	ImageName string `json:"ImageName"` // podman
	Config    struct {
		Image  string            `json:"Image"` // docker, and podman
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
	State struct {
		Status     string `json:"Status"`
		Running    bool   `json:"Running"`
		ExitCode   int    `json:"ExitCode"`
		Error      string `json:"Error"`
		StartedAt  string `json:"StartedAt"`
		FinishedAt string `json:"FinishedAt"`
		Health     *struct {
			Status string `json:"Status"`
		} `json:"Health"`
	} `json:"State"`
}

func (in inspected) state() State {
	s := State{ID: in.ID, Name: strings.TrimPrefix(in.Name, "/"), Image: in.ImageName, Labels: in.Config.Labels,
		Status: in.State.Status, Running: in.State.Running, ExitCode: in.State.ExitCode, Error: in.State.Error,
		StartedAt: parseTime(in.State.StartedAt), FinishedAt: parseTime(in.State.FinishedAt)}
	if s.Image == "" {
		s.Image = in.Config.Image
	}
	if in.State.Health != nil {
		s.Health = in.State.Health.Status
	}
	return s
}

// parseTime reads an engine's time; its zero ("0001-01-01T00:00:00Z") and
// anything unreadable are the zero time.
func parseTime(v string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// Inspect returns the state of a container. ErrNotFound when there is
// none of that name or id.
func (c *CLI) Inspect(ctx context.Context, name string) (State, error) {
	states, err := c.inspect(ctx, name)
	if err != nil {
		return State{}, err
	}
	if len(states) != 1 {
		return State{}, fmt.Errorf("container: inspect %s: %d answers", name, len(states))
	}
	return states[0], nil
}

func (c *CLI) inspect(ctx context.Context, names ...string) ([]State, error) {
	out, err := c.output(ctx, nil, append([]string{"container", "inspect"}, names...)...)
	if err != nil {
		return nil, err
	}
	var list []inspected
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("container: read inspect's answer: %w", err)
	}
	states := make([]State, len(list))
	for i, in := range list {
		states[i] = in.state()
	}
	return states, nil
}

// List returns every container, running or not, that carries all the
// labels, so that a restarted Liftoff finds the containers it started.
func (c *CLI) List(ctx context.Context, labels map[string]string) ([]State, error) {
	args := []string{"ps", "--all", "--no-trunc", "--format", "{{.ID}}"}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		args = append(args, "--filter", "label="+k+"="+labels[k])
	}
	out, err := c.output(ctx, nil, args...)
	if err != nil {
		return nil, err
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		return nil, nil
	}
	states, err := c.inspect(ctx, ids...)
	if errors.Is(err, ErrNotFound) {
		// One was removed between the two commands: the others, one by one.
		states = states[:0]
		for _, id := range ids {
			st, err := c.Inspect(ctx, id)
			switch {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return nil, err
			default:
				states = append(states, st)
			}
		}
	} else if err != nil {
		return nil, err
	}
	slices.SortFunc(states, func(a, b State) int { return strings.Compare(a.Name, b.Name) })
	return states, nil
}

// LogsSpec chooses what Logs writes.
type LogsSpec struct {
	// Follow keeps writing until the container ends or ctx is done.
	Follow bool
	// Since starts at that time. Zero: from the start.
	Since time.Time
}

// Logs writes the container's output (stdout and stderr) to w.
func (c *CLI) Logs(ctx context.Context, name string, spec LogsSpec, w io.Writer) error {
	args := []string{"logs"}
	if spec.Follow {
		args = append(args, "--follow")
	}
	if !spec.Since.IsZero() {
		args = append(args, "--since", spec.Since.UTC().Format(time.RFC3339Nano))
	}
	args = append(args, name)
	return c.run(ctx, invocation{args: args, stdout: w, stderr: w})
}

// lastLine is the last non-empty line of out (an id printed after
// warnings).
func lastLine(out []byte) string {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	return last
}

// Wait blocks until the container has ended and returns its exit code.
// ErrNotFound when there is no such container (it was removed).
func (c *CLI) Wait(ctx context.Context, name string) (int, error) {
	out, err := c.output(ctx, nil, "wait", name)
	if err != nil {
		return -1, err
	}
	code, err := strconv.Atoi(lastLine(out))
	if err != nil {
		return -1, fmt.Errorf("container: wait %s answered %q", name, lastLine(out))
	}
	return code, nil
}
