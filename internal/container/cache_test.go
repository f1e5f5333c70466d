package container_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
)

// TestBuildCacheMountsLiveInCacheDir: on podman, the cache mounts of a
// Dockerfile's RUN steps are kept under BuildSpec.CacheDir, so that each
// service's are its own: a second build with another CacheDir starts with
// an empty mount, one with the same finds what the first left, even with
// NoCache (which skips the layer cache, not the mounts).
func TestBuildCacheMountsLiveInCacheDir(t *testing.T) {
	cli := containertest.CLI(t)
	if cli.Kind() != container.Podman {
		t.Skip("docker keeps cache mounts in BuildKit's daemon")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := "t" + rand.Text()[:10]
	containertest.Cleanup(t, cli, "liftoff.test", run)
	dir := t.TempDir()
	df := "FROM " + containertest.BaseImage + "\nARG RUN\n" +
		"RUN --mount=type=cache,target=/cache sh -c 'ls /cache; echo $RUN > /cache/seen-$RUN'\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(cacheDir, arg string, noCache bool) string {
		t.Helper()
		var out bytes.Buffer
		err := cli.Build(ctx, container.BuildSpec{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Args: map[string]string{"RUN": arg},
			CacheDir: cacheDir, NoCache: noCache, Labels: map[string]string{"liftoff.test": run},
			Tags: []string{"localhost/liftoff-test/cache:" + strings.ToLower(run+arg)}, Output: &out})
		if err != nil {
			t.Fatalf("build %s: %v\n%s", arg, err, out.String())
		}
		return out.String()
	}
	a, b := t.TempDir(), t.TempDir()
	build(a, "one", false)
	if out := build(b, "two", false); strings.Contains(out, "seen-one") {
		t.Errorf("another cache dir's build saw the first one's mount:\n%s", out)
	}
	if out := build(a, "three", true); !strings.Contains(out, "seen-one") {
		t.Errorf("the same cache dir's build did not see the first one's mount:\n%s", out)
	}
	found, _ := filepath.Glob(filepath.Join(a, "buildah-cache*"))
	if len(found) == 0 {
		t.Errorf("no buildah-cache in the cache dir %s", a)
	}
}

// TestBuildArguments: podman builds always read the layer cache (--layers,
// whatever BUILDAH_LAYERS says) unless NoCache, and get CacheDir as TMPDIR.
// A stand-in CLI records what it was given: what the real one does with
// them is TestBuildCacheMountsLiveInCacheDir's.
func TestBuildArguments(t *testing.T) {
	t.Setenv("BUILDAH_LAYERS", "false")
	for _, c := range []struct {
		name     string
		spec     container.BuildSpec
		want     []string
		not      []string
		wantTemp string
	}{
		{"default", container.BuildSpec{}, []string{" --layers "}, []string{"--no-cache"}, ""},
		{"no cache, cache dir", container.BuildSpec{NoCache: true, CacheDir: "/srv/cache/work/buildah"},
			[]string{" --layers ", " --no-cache "}, nil, "/srv/cache/work/buildah"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			script := "#!/bin/sh\necho \"$@\" > " + dir + "/args\necho \"$TMPDIR\" > " + dir + "/tmpdir\n"
			path := filepath.Join(dir, "podman")
			if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			cli, err := container.New(container.Config{CLI: path, Ulimits: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			spec := c.spec
			spec.Context, spec.Dockerfile, spec.Tags = dir, "Dockerfile", []string{"x:1"}
			if err := cli.Build(context.Background(), spec); err != nil {
				t.Fatal(err)
			}
			args, _ := os.ReadFile(filepath.Join(dir, "args"))
			for _, w := range c.want {
				if !strings.Contains(string(args), w) {
					t.Errorf("args %q lack %q", args, w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(string(args), n) {
					t.Errorf("args %q have %q", args, n)
				}
			}
			tmp, _ := os.ReadFile(filepath.Join(dir, "tmpdir"))
			if got := strings.TrimSpace(string(tmp)); c.wantTemp != "" && got != c.wantTemp {
				t.Errorf("TMPDIR = %q, want %q", got, c.wantTemp)
			}
		})
	}
}
