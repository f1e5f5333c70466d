package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/steps"
	"github.com/liftoffhq/liftoff/internal/target"
)

// Labels of the containers the local target runs: a restarted Liftoff
// finds its containers by them (adoption), and a torn down preview's.
const (
	labelManaged     = "liftoff.local"       // the Target's id (runtimeID): whose container it is
	labelRelease     = "liftoff.release"     // the release's id (its service deployment's)
	labelProject     = "liftoff.project"     // the project's id
	labelInstance    = "liftoff.instance"    // the environment instance's key: 3, or 4/pr-12
	labelServiceName = "liftoff.service"     // the service's id in the config
	labelPort        = "liftoff.port"        // the host port its service port is published on
	labelStarted     = "liftoff.startedUnix" // when Liftoff started it, in Unix seconds
)

// containerInstance is one running copy of a container release: a
// container the CLI started (or a restarted Liftoff adopted), its service
// port published on a loopback port of its own, so that two releases of
// one service can both listen on the service's port during a switch.
type containerInstance struct {
	cli   *container.CLI
	name  string
	port  int
	grace time.Duration

	exited chan struct{} // closed when the container has ended
	copied chan struct{} // closed when its output is copied

	stopOnce sync.Once
	exit     Exit
	detach   context.CancelFunc // ends the watchers, leaving the container
}

// isContainer reports whether rel runs as a container: it has an image.
func isContainer(rel target.Release) bool { return rel.Image != "" }

// launchContainer starts rel's image, or adopts a container a previous
// Liftoff left running for it, and follows its output into out.
func (t *Target) launchContainer(rel target.Release, out *output) (instance, error) {
	cli := t.cfg.Containers
	if cli == nil {
		return nil, fmt.Errorf("service %s runs as a container, and this Liftoff has no container CLI: install podman, or name one with liftoff serve --container-cli", rel.Service.ID)
	}
	if c, err := t.adopt(rel); err != nil || c != nil {
		if c != nil {
			fmt.Fprintf(out, "==> %s: adopted container %s of release %s (port %d)\n", time.Now().UTC().Format(time.RFC3339), c.name, rel.ID, c.port)
			t.watchContainer(c, out, time.Now())
		}
		return c, err
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	svcPort := rel.Service.Port
	if svcPort == 0 {
		svcPort = config.DefaultPort
	}
	env := steps.ContainerEnv(rel.Env)
	env["PORT"], env[releaseIDVar] = strconv.Itoa(svcPort), rel.ID
	name := containerName(rel.ID, t.seq.Add(1))
	labels := map[string]string{labelManaged: t.runtimeID, labelRelease: rel.ID, labelProject: rel.Instance.ProjectID,
		labelInstance: rel.Instance.Key(), labelServiceName: rel.Service.ID, labelPort: strconv.Itoa(port),
		labelStarted: strconv.FormatInt(time.Now().Unix(), 10)}
	var cmd []string
	if c := rel.Service.StartCommand; !c.IsBlank() {
		cmd = c.Argv(shell)
	}
	fmt.Fprintf(out, "==> %s: starting release %s: container %s of %s (PORT=%d, published on 127.0.0.1:%d)\n",
		time.Now().UTC().Format(time.RFC3339), rel.ID, name, rel.Image, svcPort, port)
	since := time.Now()
	// Run pulls a containerImage the host does not have: that may take a while.
	ctx, cancel := context.WithTimeout(t.life, containerRunTimeout)
	defer cancel()
	if _, err := cli.Run(ctx, container.RunSpec{Name: name, Image: rel.Image, Command: cmd, Labels: labels, Env: env,
		Publish: []container.Port{{HostPort: port, ContainerPort: svcPort}}, TempDir: t.cfg.Dir}); err != nil {
		_ = cli.Remove(context.WithoutCancel(ctx), name)
		return nil, fmt.Errorf("start the container of %s: %w", rel.Image, err)
	}
	c := &containerInstance{cli: cli, name: name, port: port, grace: t.cfg.StopGrace}
	t.watchContainer(c, out, since)
	return c, nil
}

// containerCommandTimeout bounds one CLI command that should be quick
// (inspect, list, stop beyond its grace, remove); containerRunTimeout
// bounds a run, which may pull its image first.
const (
	containerCommandTimeout = 2 * time.Minute
	containerRunTimeout     = 15 * time.Minute
)

// containerName names a release's container; n tells its restarts apart.
func containerName(releaseID string, n int64) string {
	return "liftoff-" + strings.ToLower(releaseID) + "-" + strconv.FormatInt(n, 36)
}

// adopt finds a running container of rel that a previous Liftoff started
// (a restart, kill -9 included, leaves them running) and returns it; it
// removes the others of rel that have ended. Nil when there is none.
func (t *Target) adopt(rel target.Release) (*containerInstance, error) {
	ctx, cancel := context.WithTimeout(t.life, containerCommandTimeout)
	defer cancel()
	states, err := t.cfg.Containers.List(ctx, map[string]string{labelManaged: t.runtimeID, labelRelease: rel.ID})
	if err != nil {
		return nil, fmt.Errorf("look for the containers of release %s: %w", rel.ID, err)
	}
	var found *containerInstance
	for _, st := range states {
		port, perr := strconv.Atoi(st.Labels[labelPort])
		if st.Running && found == nil && perr == nil && port > 0 {
			found = &containerInstance{cli: t.cfg.Containers, name: st.Name, port: port, grace: t.cfg.StopGrace}
			continue
		}
		if err := t.cfg.Containers.Remove(ctx, st.Name); err != nil {
			t.log.Warn("local target: remove a leftover container", "container", st.Name, "err", err)
		}
	}
	return found, nil
}

// watchContainer follows c's output into out from since, and closes
// c.exited when the container ends.
func (t *Target) watchContainer(c *containerInstance, out *output, since time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	c.detach, c.exited, c.copied = cancel, make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.copied)
		// Ends when the container does (or is detached); one reconnect
		// covers a follow that the engine cut while the container runs.
		for range 2 {
			_ = c.cli.Logs(ctx, c.name, container.LogsSpec{Follow: true, Since: since}, out)
			if ctx.Err() != nil {
				return
			}
			select {
			case <-c.exited:
				return
			default:
				since = time.Now()
			}
		}
	}()
	go func() {
		code, err := c.cli.Wait(ctx, c.name)
		if ctx.Err() != nil {
			return // detached: the container goes on
		}
		c.exit = Exit{Code: code, Text: fmt.Sprintf("exited with status %d", code)}
		if err != nil {
			c.exit = Exit{Code: -1, Text: "ended (" + err.Error() + ")"}
		}
		close(c.exited)
	}()
}

// Port, Exited and Stop make a container an instance.
func (c *containerInstance) Port() int               { return c.port }
func (c *containerInstance) Exited() <-chan struct{} { return c.exited }

// Stop stops the container (its stop signal, then SIGKILL after the
// grace, at once when ctx ends), removes it and waits for its output.
func (c *containerInstance) Stop(ctx context.Context) (Exit, bool) {
	hurried := false
	c.stopOnce.Do(func() {
		grace := c.grace
		if ctx.Err() != nil {
			grace, hurried = 0, true
		}
		cmdCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace+containerCommandTimeout)
		defer cancel()
		select {
		case <-c.exited:
		default:
			stopped := make(chan error, 1)
			go func() { stopped <- c.cli.Stop(cmdCtx, c.name, grace) }()
			select {
			case <-stopped:
			case <-ctx.Done():
				hurried = true
				_ = c.cli.Remove(cmdCtx, c.name) // kills it
			}
			<-c.exited
		}
		<-c.copied
		_ = c.cli.Remove(cmdCtx, c.name)
	})
	return c.exit, hurried
}

// Detach leaves the container running and stops following it: Liftoff is
// shutting down, and its next start adopts the container.
func (c *containerInstance) Detach() {
	c.detach()
	<-c.copied
}

var _ instance = (*containerInstance)(nil)

// runtimeIDOf names a Target by its directory: the containers of two
// Liftoffs on one host (two data directories) are never each other's.
func runtimeIDOf(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:8])
}

// removeOrphans removes the containers of the local target that belong to
// no release in keep (a Liftoff killed while it was starting a release
// leaves one). It runs after Restore, before anything else deploys.
func (t *Target) removeOrphans(ctx context.Context, keep map[string]bool) error {
	if t.cfg.Containers == nil {
		return nil
	}
	states, err := t.cfg.Containers.List(ctx, map[string]string{labelManaged: t.runtimeID})
	if err != nil {
		return fmt.Errorf("list the containers left running: %w", err)
	}
	var errs []error
	for _, st := range states {
		if keep[st.Labels[labelRelease]] {
			continue
		}
		t.log.Info("local target: removing a container of no live release", "container", st.Name, "release", st.Labels[labelRelease])
		if err := t.cfg.Containers.Remove(ctx, st.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeInstanceContainers removes every container of an environment
// instance (a preview torn down), served or left over.
func (t *Target) removeInstanceContainers(ctx context.Context, inst target.Instance) error {
	if t.cfg.Containers == nil {
		return nil
	}
	states, err := t.cfg.Containers.List(ctx, map[string]string{labelManaged: t.runtimeID, labelInstance: inst.Key()})
	if err != nil {
		return err
	}
	var errs []error
	for _, st := range states {
		if inst.ProjectID != "" && st.Labels[labelProject] != inst.ProjectID {
			continue
		}
		if err := t.cfg.Containers.Remove(ctx, st.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
