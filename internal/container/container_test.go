package container_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
)

// server answers with the greeting baked into its image at build time and
// the variables it was started with; it ends at SIGTERM with status 0.
const server = `package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	greeting, _ := os.ReadFile("/greeting")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: ":3000", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s|%s", greeting, os.Getenv("MESSAGE"), os.Getenv("MULTI"))
	})}
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Println("listening on 3000")
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Println(err)
		os.Exit(1)
	}
}
`

// dockerfile is two stages: the first, from the busybox base, checks the
// build secret and writes the build argument; the second, FROM scratch,
// holds the static server alone.
const dockerfile = `FROM ` + containertest.BaseImage + ` AS prepare
ARG GREETING
COPY server /server
RUN --mount=type=secret,id=TOKEN test "$(cat /run/secrets/TOKEN)" = "s3cret" && echo "greeting=$GREETING" > /greeting && echo "secret checked"

FROM scratch
COPY --from=prepare /server /server
COPY --from=prepare /greeting /greeting
ENTRYPOINT ["/server"]
`

func TestBuildRunInspectStopRemove(t *testing.T) {
	cli := containertest.CLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := "t" + rand.Text()[:10]
	containertest.Cleanup(t, cli, "liftoff.test", run)

	dir := t.TempDir()
	containertest.GoProgram(t, dir, "server", server)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile.web"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "localhost/liftoff-test/web:" + strings.ToLower(run)
	labels := map[string]string{"liftoff.test": run, "liftoff.service": "web"}
	var out bytes.Buffer
	secretsDir := t.TempDir()
	err := cli.Build(ctx, container.BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile.web"),
		Args: map[string]string{"GREETING": "hello"}, Secrets: map[string]string{"TOKEN": "s3cret"},
		Labels: labels, Tags: []string{ref}, Output: &out, TempDir: secretsDir})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "secret checked") {
		t.Errorf("the build's output was not streamed:\n%s", out.String())
	}
	if left, _ := os.ReadDir(secretsDir); len(left) != 0 {
		t.Errorf("the build secrets' directory was left: %v", left)
	}
	images, err := cli.ListImages(ctx, map[string]string{"liftoff.test": run})
	if err != nil {
		t.Fatal(err)
	}
	images = slices.DeleteFunc(images, func(im container.Image) bool { return len(im.Tags) == 0 }) // a stage's
	if len(images) != 1 || !slices.Contains(images[0].Tags, ref) || images[0].Labels["liftoff.service"] != "web" || images[0].Created.IsZero() {
		t.Fatalf("tagged images labelled %s = %+v, want one tagged %s with its labels", run, images, ref)
	}

	port := freePort(t)
	envDir := t.TempDir()
	name := "liftoff-test-" + strings.ToLower(run)
	id, err := cli.Run(ctx, container.RunSpec{Name: name, Image: ref, Labels: labels, TempDir: envDir,
		Env:     map[string]string{"MESSAGE": "hi there = yes", "MULTI": "line1\nline2"},
		Publish: []container.Port{{HostPort: port, ContainerPort: 3000}}})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if id == "" {
		t.Error("run returned no id")
	}
	if left, _ := os.ReadDir(envDir); len(left) != 0 {
		t.Errorf("the env file's directory was left: %v", left)
	}
	body := getUntil(t, ctx, fmt.Sprintf("http://127.0.0.1:%d/", port))
	if want := "greeting=hello\n|hi there = yes|line1\nline2"; body != want {
		t.Errorf("the container answered %q, want %q", body, want)
	}

	st, err := cli.Inspect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running || st.Status != "running" || st.Name != name || st.Image != ref || st.Labels["liftoff.test"] != run ||
		st.StartedAt.IsZero() || !st.FinishedAt.IsZero() {
		t.Errorf("inspect = %+v, want running, named %s, from %s, labelled", st, name, ref)
	}
	listed, err := cli.List(ctx, map[string]string{"liftoff.test": run, "liftoff.service": "web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].Name != name {
		t.Errorf("list by labels = %+v, want %s", listed, name)
	}
	if none, err := cli.List(ctx, map[string]string{"liftoff.test": run, "liftoff.service": "other"}); err != nil || len(none) != 0 {
		t.Errorf("list by other labels = %+v, %v; want none", none, err)
	}

	var logs bytes.Buffer
	if err := cli.Logs(ctx, name, container.LogsSpec{}, &logs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "listening on 3000") {
		t.Errorf("logs = %q, want the server's first line", logs.String())
	}

	if err := cli.Stop(ctx, name, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	st, err = cli.Inspect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Running || st.ExitCode != 0 || st.FinishedAt.IsZero() {
		t.Errorf("after stop: %+v, want ended with status 0", st)
	}
	if err := cli.Stop(ctx, name, time.Second); err != nil {
		t.Errorf("stopping a stopped container: %v", err)
	}
	if err := cli.RemoveImage(ctx, ref); err == nil {
		t.Error("removing the image of an existing container succeeded")
	}
	if err := cli.Remove(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Inspect(ctx, name); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("inspect after remove: %v, want ErrNotFound", err)
	}
	if err := cli.Remove(ctx, name); err != nil {
		t.Errorf("remove twice: %v, want no error", err)
	}
	if err := cli.RemoveImage(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if images, err := cli.ListImages(ctx, map[string]string{"liftoff.test": run}); err != nil || slices.ContainsFunc(images, func(im container.Image) bool { return len(im.Tags) > 0 }) {
		t.Errorf("images after remove = %+v, %v; want no tagged one", images, err)
	}
	if err := cli.RemoveImage(ctx, ref); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("remove image twice: %v, want ErrNotFound", err)
	}
}

func TestBuildFailure(t *testing.T) {
	cli := containertest.CLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := "t" + rand.Text()[:10]
	containertest.Cleanup(t, cli, "liftoff.test", run)
	dir := t.TempDir()
	df := "FROM " + containertest.BaseImage + "\nRUN echo about to fail && false\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := cli.Build(ctx, container.BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
		Args:   map[string]string{"PATH": "/nowhere"},
		Labels: map[string]string{"liftoff.test": run}, Tags: []string{"localhost/liftoff-test/fail:" + strings.ToLower(run)}, Output: &out})
	if err == nil {
		t.Fatal("a failing RUN step built")
	}
	if !strings.Contains(err.Error(), "build -f") || !strings.Contains(out.String(), "about to fail") {
		t.Errorf("error %q, output %q: want the command in the error and the step's output", err, out.String())
	}
	if !strings.Contains(out.String(), "Build argument PATH is not passed") {
		t.Errorf("output %q does not say that PATH was left out", out.String())
	}
}

func TestImportMissingArchive(t *testing.T) {
	cli := containertest.CLI(t)
	err := cli.Import(t.Context(), filepath.Join(t.TempDir(), "none.tar"), "localhost/liftoff-test/none:1")
	if err == nil || !strings.Contains(err.Error(), "import") {
		t.Errorf("import of a missing archive: %v, want an error naming the command", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// getUntil asks url until it answers 200, and returns the body.
func getUntil(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never answered: %v", url, err)
		case <-tick.C:
		}
	}
}
