package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/steps"
	"github.com/liftoffhq/liftoff/internal/target"
)

// serverImage is an image of testdata/server, built once per test process:
// FROM scratch with the static binary, listening on 0.0.0.0:$PORT.
var serverImage struct {
	once sync.Once
	ref  string
	err  error
}

func containerServer(t *testing.T) (*container.CLI, string) {
	t.Helper()
	cli := containertest.CLI(t)
	serverImage.once.Do(func() {
		dir, err := os.MkdirTemp("", "liftoff-local-image-")
		if err != nil {
			serverImage.err = err
			return
		}
		defer os.RemoveAll(dir)
		build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "server"), "./testdata/server")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			serverImage.err = fmt.Errorf("build the static server: %v\n%s", err, out)
			return
		}
		df := "FROM scratch\nCOPY server /server\nENV HOST=0.0.0.0\nLABEL liftoff-test=local\nCMD [\"/server\"]\n"
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			serverImage.err = err
			return
		}
		ref := "localhost/liftoff-test/local-server:1"
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		serverImage.err = cli.Build(ctx, container.BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
			Tags: []string{ref}, Output: &lockedBuffer{}})
		serverImage.ref = ref
	})
	if serverImage.err != nil {
		t.Fatal(serverImage.err)
	}
	return cli, serverImage.ref
}

// containerRelease is a web release of the server image answering body.
func containerRelease(inst target.Instance, service, body, image string, env ...string) target.Release {
	return target.Release{
		ID:       strings.ToLower(service + "-" + body + "-" + fmt.Sprint(time.Now().UnixNano())),
		Instance: inst,
		Hosts:    hostsOf(inst, service),
		Service: config.Service{ID: service, Type: config.TypeWeb, Port: 3000, HealthCheckPath: "/health",
			HealthCheckTimeoutSecs: 30},
		Image: image,
		Env:   append(append(steps.BaseEnv(), "BODY="+body), env...),
		Log:   &lockedBuffer{},
	}
}

// containersOf lists the running containers of an instance's service.
func containersOf(t *testing.T, cli *container.CLI, inst target.Instance) []container.State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	states, err := cli.List(ctx, map[string]string{labelInstance: inst.Key(), labelProject: inst.ProjectID})
	if err != nil {
		t.Fatal(err)
	}
	var running []container.State
	for _, s := range states {
		if s.Running {
			running = append(running, s)
		}
	}
	return running
}

// TestContainerReleases: a container release answers through the proxy
// with PORT its service's port; a redeploy switches with both releases
// listening on 3000, and the old container is removed; a container that
// crashes after it was healthy is restarted; teardown removes them all.
func TestContainerReleases(t *testing.T) {
	t.Parallel()
	cli, image := containerServer(t)
	inst := target.Instance{ProjectID: "ctest-" + fmt.Sprint(time.Now().UnixNano()), EnvironmentID: 71, EnvGivenID: "production"}
	t.Cleanup(func() { _ = removeAll(cli, inst) })
	h := newHarness(t, func(c *Config) {
		c.Containers, c.RestartBackoff, c.RestartBackoffMax = cli, 10*time.Millisecond, 20*time.Millisecond
	})
	host := hostsOf(inst, "web")[0]

	h.deploy(containerRelease(inst, "web", "v1", image))
	h.expectBody(host, "v1")
	if _, port := h.mustGet(host, "/env?name=PORT"); port != "3000" {
		t.Errorf("PORT in the container = %q, want the service's port 3000", port)
	}

	first := containersOf(t, cli, inst)
	if len(first) != 1 {
		t.Fatalf("%d containers after the first deploy, want 1", len(first))
	}

	h.deploy(containerRelease(inst, "web", "v2", image))
	h.expectBody(host, "v2")
	now := containersOf(t, cli, inst)
	if len(now) != 1 || now[0].Name == first[0].Name {
		t.Fatalf("containers after the redeploy: %v, want only the new one", names(now))
	}

	// A crash after it was healthy: restarted, a new container serves.
	_, _, _ = h.get(host, "/crash?code=3")
	eventually(t, "the crashed container to be replaced", func() bool {
		cs := containersOf(t, cli, inst)
		status, body, err := h.get(host, "/")
		return err == nil && status == 200 && body == "v2" && len(cs) == 1 && cs[0].Name != now[0].Name
	})

	if err := h.tg.StopInstance(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	if left := containersOf(t, cli, inst); len(left) != 0 {
		t.Fatalf("containers left after the instance stopped: %v", names(left))
	}
}

// TestContainersAreAdopted: Liftoff shutting down leaves a container
// release running; a new Target restoring the release adopts it (the same
// container serves, none is added), and removes a container of no live
// release.
func TestContainersAreAdopted(t *testing.T) {
	t.Parallel()
	cli, image := containerServer(t)
	inst := target.Instance{ProjectID: "cadopt-" + fmt.Sprint(time.Now().UnixNano()), EnvironmentID: 72, EnvGivenID: "production"}
	t.Cleanup(func() { _ = removeAll(cli, inst) })
	dir := t.TempDir()
	rel := containerRelease(inst, "web", "kept", image)
	orphan := containerRelease(inst, "worker", "orphan", image)
	orphan.Service.Type = config.TypeWorker

	first := newHarness(t, func(c *Config) { c.Dir, c.Containers = dir, cli })
	first.deploy(rel)
	first.deploy(orphan)
	before := containersOf(t, cli, inst)
	if len(before) != 2 {
		t.Fatalf("%d containers, want 2", len(before))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := first.tg.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if left := containersOf(t, cli, inst); len(left) != 2 {
		t.Fatalf("after Close %d containers run, want both left running", len(left))
	}

	second := newHarness(t, func(c *Config) { c.Dir, c.Containers = dir, cli })
	if err := second.tg.Restore(ctx, []target.Release{rel}); err != nil {
		t.Fatal(err)
	}
	second.expectBody(hostsOf(inst, "web")[0], "kept")
	after := containersOf(t, cli, inst)
	if len(after) != 1 || after[0].Name != before[0].Name && after[0].Name != before[1].Name || after[0].Labels[labelRelease] != rel.ID {
		t.Fatalf("after the restore: %v, want the web release's container adopted and the orphan removed (before: %v)", names(after), names(before))
	}
}

func names(states []container.State) []string {
	var out []string
	for _, s := range states {
		out = append(out, s.Name)
	}
	return out
}

// removeAll removes every container of inst, for a test's cleanup.
func removeAll(cli *container.CLI, inst target.Instance) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	states, err := cli.List(ctx, map[string]string{labelProject: inst.ProjectID})
	if err != nil {
		return err
	}
	for _, s := range states {
		_ = cli.Remove(ctx, s.Name)
	}
	return nil
}
