package container_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
)

// onceImage builds, from the busybox base, an image whose CMD prints a
// line and whose working directory /app holds a site in public/ and a
// file; it returns its reference and the labels of the test's objects.
func onceImage(t *testing.T, cli *container.CLI) (string, map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := "t" + rand.Text()[:10]
	containertest.Cleanup(t, cli, "liftoff.test", run)
	dir := t.TempDir()
	df := "FROM " + containertest.BaseImage + "\nWORKDIR /app\n" +
		"RUN mkdir -p public/sub && echo '<h1>" + run + "</h1>' > public/index.html && echo a > public/sub/a.txt && echo f > file.txt\n" +
		`CMD ["/bin/sh", "-c", "echo from the image CMD"]` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "localhost/liftoff-test/once:" + strings.ToLower(run)
	labels := map[string]string{"liftoff.test": run}
	var out bytes.Buffer
	if err := cli.Build(ctx, container.BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Labels: labels,
		Tags: []string{ref}, Output: &out}); err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	return ref, labels
}

// TestRunOnce: a one-off container runs its command, or the image's CMD
// without one, with its variables; a non-zero exit is an ExitError with
// the status; a run whose context ends is killed and removed at once, and
// no container of the test is left.
func TestRunOnce(t *testing.T) {
	cli := containertest.CLI(t)
	ref, labels := onceImage(t, cli)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var out bytes.Buffer
	if err := cli.RunOnce(ctx, container.RunSpec{Image: ref, Labels: labels}, &out); err != nil || !strings.Contains(out.String(), "from the image CMD") {
		t.Errorf("run of the image's CMD: %v, output %q", err, out.String())
	}
	out.Reset()
	err := cli.RunOnce(ctx, container.RunSpec{Image: ref, Labels: labels, Env: map[string]string{"WHO": "job"},
		Command: []string{"/bin/sh", "-c", `echo "hello $WHO in $(pwd)"; exit 3`}}, &out)
	var ee *container.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Errorf("a command exiting 3: %v, want an ExitError with code 3", err)
	}
	if !strings.Contains(out.String(), "hello job in /app") {
		t.Errorf("output %q lacks the command's line", out.String())
	}

	// Stopped by its context: the container goes at once, not at its end.
	short, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	started := time.Now()
	err = cli.RunOnce(short, container.RunSpec{Image: ref, Labels: labels, Name: "liftoff-test-once-" + labels["liftoff.test"],
		Command: []string{"/bin/sh", "-c", "echo sleeping; sleep 300"}}, &out)
	if err == nil || errors.As(err, &ee) {
		t.Errorf("a run past its context: %v, want the context's error", err)
	}
	if took := time.Since(started); took > 2*time.Minute {
		t.Errorf("the stopped run returned after %s", took)
	}
	if left, err := cli.List(ctx, labels); err != nil || len(left) != 0 {
		t.Errorf("containers left after the runs: %+v, %v", left, err)
	}
}

// TestCopyFromImage: a directory of an image, named absolute or relative
// to its WORKDIR, is copied to the host; a missing path or a file is
// ErrNoDirectory; the container the copy is made from is removed.
func TestCopyFromImage(t *testing.T) {
	cli := containertest.CLI(t)
	ref, labels := onceImage(t, cli)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, p := range []string{"public", "/app/public", "./public/"} {
		dest := filepath.Join(t.TempDir(), "site")
		src, err := cli.CopyFromImage(ctx, container.CopySpec{Image: ref, Path: p, Dest: dest, Labels: labels})
		if err != nil || src != "/app/public" {
			t.Fatalf("copy %q: %q, %v", p, src, err)
		}
		index, err := os.ReadFile(filepath.Join(dest, "index.html"))
		if err != nil || !strings.Contains(string(index), labels["liftoff.test"]) {
			t.Errorf("copy %q: index.html = %q, %v", p, index, err)
		}
		if b, err := os.ReadFile(filepath.Join(dest, "sub", "a.txt")); err != nil || string(b) != "a\n" {
			t.Errorf("copy %q: sub/a.txt = %q, %v", p, b, err)
		}
	}
	for _, p := range []string{"dist", "/app/file.txt"} {
		dest := filepath.Join(t.TempDir(), "site")
		if _, err := cli.CopyFromImage(ctx, container.CopySpec{Image: ref, Path: p, Dest: dest, Labels: labels}); !errors.Is(err, container.ErrNoDirectory) {
			t.Errorf("copy of %q: %v, want ErrNoDirectory", p, err)
		}
	}
	if left, err := cli.List(ctx, labels); err != nil || len(left) != 0 {
		t.Errorf("containers left after the copies: %+v, %v", left, err)
	}
}
