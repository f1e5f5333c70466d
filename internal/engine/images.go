package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/buildcache"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/confine"
	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/steps"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
)

// Labels of the images (and, later, containers) Liftoff makes: a service
// instance's images are found by them, to prune and to adopt.
const (
	LabelProject           = "liftoff.project"
	LabelEnvironment       = "liftoff.environment"
	LabelPR                = "liftoff.pr"
	LabelService           = "liftoff.service"
	LabelDeployment        = "liftoff.deployment"
	LabelServiceDeployment = "liftoff.service-deployment"
)

// noContainerCLI is why a docker build is not deployed on a host without
// a container CLI.
const noContainerCLI = "not deployed: Liftoff found no container CLI (podman or docker) to build and run its image; install podman, or name one with liftoff serve --container-cli"

// buildImage builds the service's Dockerfile from the checkout dir, tags
// and labels the image, records its reference on the service deployment
// and prunes the service's images beyond versionHistoryCount.
func (r *deployment) buildImage(ctx context.Context, u *unit, dir string, log *logstream.Writer) error {
	cli := r.e.Containers
	if cli == nil {
		return errors.New("no container CLI on this host")
	}
	contextDir, err := confine.Resolve(dir, u.svc.DockerContext)
	if err != nil {
		return fmt.Errorf("dockerContext %q is not a directory inside the checkout", u.svc.DockerContext)
	}
	dockerfile, err := confine.Resolve(dir, u.svc.DockerfilePath)
	if err != nil {
		return fmt.Errorf("dockerfilePath %q is not a file inside the checkout", u.svc.DockerfilePath)
	}
	ref := r.imageRef(u)
	spec := container.BuildSpec{Context: contextDir, Dockerfile: dockerfile, Target: u.svc.DockerTarget,
		Labels: r.imageLabels(u), Tags: []string{ref}, Output: log, TempDir: r.e.cfg.DataDir}
	vars := steps.ContainerEnv(r.environ(u.svc, u.hosts, u.vars, true))
	if !u.svc.BuildGetsVariables() {
		vars = steps.ContainerEnv(r.environ(u.svc, u.hosts, nil, true))
	}
	declared, err := declaredArgs(dockerfile)
	if err != nil {
		return fmt.Errorf("read dockerfilePath %q: %w", u.svc.DockerfilePath, err)
	}
	spec.Args, spec.Secrets = splitBuildVariables(vars, u.secretNames, declared, u.svc.InjectsVariablesAsBuildArgs())
	spec.NoCache = r.d.ClearCache
	// Under podman the Dockerfile's cache mounts live in the service's
	// build cache (docker keeps them in its daemon).
	var cache *buildcache.Lease
	if cli.Kind() == container.Podman {
		if cache = r.openCache(ctx, u, log); cache != nil {
			if spec.CacheDir, err = cache.ContainerTempDir(); err != nil {
				log.Printf("==> Build cache of %s unavailable (%v): building without it", u.svc.ID, err)
				cache.Close()
				cache, spec.CacheDir = nil, ""
			}
		}
	}
	timeout := time.Duration(u.svc.BuildTimeoutSecs) * time.Second
	bctx, cancel := context.WithTimeoutCause(ctx, timeout, errBuildTimeout)
	defer cancel()
	log.Printf("==> Building image %s (%s, context %s)", ref, u.svc.DockerfilePath, u.svc.DockerContext)
	start := time.Now()
	r.e.images.RLock()
	err = cli.Build(bctx, spec)
	r.e.images.RUnlock()
	if err == nil && cache != nil {
		if kerr := cache.KeepContainerCache(); kerr != nil {
			log.Printf("==> Build cache of %s: podman's temporary files could not be removed: %v", u.svc.ID, kerr)
		}
		saveCache(ctx, cache)
	}
	closeCache(ctx, cache, err, log)
	if err != nil {
		if errors.Is(context.Cause(bctx), errBuildTimeout) && ctx.Err() == nil {
			return fmt.Errorf("the image build exceeded buildTimeoutSecs (%d)", u.svc.BuildTimeoutSecs)
		}
		return fmt.Errorf("image build failed: %w", err)
	}
	log.Printf("==> Built image %s in %s", ref, time.Since(start).Round(time.Millisecond))
	if err := r.e.Store.UpdateServiceDeployment(ctx, store.UpdateServiceDeploymentParams{ID: u.row.ID, Image: ref}); err != nil {
		return err
	}
	r.e.pruneImages(context.WithoutCancel(ctx), r.imageInstanceLabels(u), repositoryOf(r.imageRef(u)), u.svc.VersionHistoryCount)
	return nil
}

var errBuildTimeout = errors.New("build timeout")

// argLine matches a Dockerfile's ARG instruction and its first name.
var argLine = regexp.MustCompile(`(?im)^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)`)

// declaredArgs are the names a Dockerfile declares with ARG, in any stage.
func declaredArgs(dockerfile string) (map[string]bool, error) {
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range argLine.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	return out, nil
}

// splitBuildVariables says how a build gets each variable. Every one is a
// build secret (RUN --mount=type=secret,id=NAME reads it, and it stays out
// of the image). With injectEnvVariablesInDockerfile (asArgs) a variable
// is also a build argument, but a secret one only when the Dockerfile
// declares its ARG: a secret value reaches the image's history only when
// the Dockerfile asks for it by name.
func splitBuildVariables(vars map[string]string, secret, declared map[string]bool, asArgs bool) (args, secrets map[string]string) {
	args, secrets = map[string]string{}, map[string]string{}
	for k, v := range vars {
		secrets[k] = v
		if asArgs && (!secret[k] || declared[k]) {
			args[k] = v
		}
	}
	return args, secrets
}

// imageRef is the image's reference:
// localhost/liftoff/<project>/<env>[-pr-N]/<service>:<service deployment>,
// every part made a valid, lowercase name.
func (r *deployment) imageRef(u *unit) string {
	return instanceImages(r.project, r.env.GivenID, r.d.PRNumber) + refPart(u.svc.ID) + ":" + refPart(u.row.ID)
}

// instanceImages is the start of the references of an environment
// instance's images: localhost/liftoff/<project>/<env>[-pr-N]/.
func instanceImages(p liftoff.Project, envGivenID string, pr int) string {
	env := envGivenID
	if pr > 0 {
		env += "-pr-" + strconv.Itoa(pr)
	}
	return projectImages(p) + refPart(env) + "/"
}

// projectImages is the start of the references of all of a project's
// images: localhost/liftoff/<project slug, or id without one>/.
func projectImages(p liftoff.Project) string {
	project := p.Slug
	if project == "" {
		project = p.ID
	}
	return "localhost/liftoff/" + refPart(project) + "/"
}

// removeInstanceImages removes the image tags of a torn down preview
// (an image goes with its last tag). Tags, not labels, say whose an image
// is: the layer cache labels an image by its first build.
func (e *Engine) removeInstanceImages(ctx context.Context, p liftoff.Project, envGivenID string, pr int) (int, error) {
	return e.removeImageTags(ctx, instanceImages(p, envGivenID, pr))
}

// removeImageTags removes every image tag that starts with prefix, and
// returns how many it removed. Without a container CLI there is none.
func (e *Engine) removeImageTags(ctx context.Context, prefix string) (int, error) {
	if e.Containers == nil {
		return 0, nil
	}
	e.images.Lock()
	defer e.images.Unlock()
	images, err := e.Containers.ListImages(ctx, nil)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, im := range images {
		for _, tag := range im.Tags {
			if !strings.HasPrefix(tag, prefix) {
				continue
			}
			if err := e.Containers.RemoveImage(ctx, tag); err != nil && !errors.Is(err, container.ErrNotFound) {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

var refInvalid = regexp.MustCompile(`[^a-z0-9]+`)

// refPart makes s a component of an image reference: lowercase letters
// and digits, other runs of characters made one '-'.
func refPart(s string) string {
	p := strings.Trim(refInvalid.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if p == "" {
		return "x"
	}
	return p
}

// imageInstanceLabels name the service instance an image belongs to.
func (r *deployment) imageInstanceLabels(u *unit) map[string]string {
	return map[string]string{LabelProject: r.project.ID, LabelEnvironment: r.env.GivenID,
		LabelPR: strconv.Itoa(r.d.PRNumber), LabelService: u.svc.ID}
}

func (r *deployment) imageLabels(u *unit) map[string]string {
	l := r.imageInstanceLabels(u)
	l[LabelDeployment], l[LabelServiceDeployment] = r.d.ID, u.row.ID
	return l
}

// pruneImages keeps the newest keep image tags of a service instance
// (versionHistoryCount) and removes older ones. Tags, not images, are
// counted: a build that changed nothing makes the same image under a new
// tag. An image found by the instance's labels may carry other instances'
// tags too (the CLI's layer cache gives identical builds of two previews,
// or two projects, one image, labelled by the first), so only the tags of
// the instance's own repository count. A tag ends with its service
// deployment's id, and ids sort in the order they were made (cuid), so the
// greatest tags are the newest. An image a container still uses is
// refused by the CLI and stays, with a warning.
func (e *Engine) pruneImages(ctx context.Context, labels map[string]string, repository string, keep int) {
	e.images.Lock()
	defer e.images.Unlock()
	images, err := e.Containers.ListImages(ctx, labels)
	if err != nil {
		e.Log.Error("list images to prune", "labels", labels, "err", err)
		return
	}
	var tags []string
	for _, im := range images {
		tags = append(tags, im.Tags...) // none for a stage of a multi-stage build: the layer cache
	}
	for _, tag := range staleTags(tags, repository, keep) {
		if err := e.Containers.RemoveImage(ctx, tag); err != nil && !errors.Is(err, container.ErrNotFound) {
			e.Log.Warn("remove old image", "image", tag, "err", err)
		}
	}
}

// staleTags are the tags of repository beyond the newest keep (at least
// one is kept); tags of other repositories are never stale here.
func staleTags(tags []string, repository string, keep int) []string {
	keep = max(keep, 1)
	var own []string
	for _, t := range tags {
		if repositoryOf(t) == repository {
			own = append(own, t)
		}
	}
	slices.SortFunc(own, func(a, b string) int { return strings.Compare(tagOf(b), tagOf(a)) })
	own = slices.Compact(own)
	return own[min(keep, len(own)):]
}

// repositoryOf is an image reference without its tag.
func repositoryOf(ref string) string {
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[:i]
	}
	return ref
}

// tagOf is the tag of an image reference.
func tagOf(ref string) string {
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[i+1:]
	}
	return ""
}

// imageOf is what a container release of u runs: the redeployed build's
// image, the image built for this deployment, or the prebuilt one.
func (r *deployment) imageOf(u *unit) string {
	switch {
	case u.prebuilt != "":
		if u.svc.ContainerImage != nil {
			return u.svc.ContainerImage.Ref()
		}
		return u.prebuiltImage
	case u.svc.ContainerImage != nil:
		return u.svc.ContainerImage.Ref()
	}
	return r.imageRef(u)
}

// imageSiteDir is where a static site built from a Dockerfile is copied
// out of its image: a directory of its build, which is kept (and pruned)
// with it, so that a restart or a redeploy serves it again.
const imageSiteDir = ".liftoff-image-site"

// copySite copies a static site's outputDirectory out of the image its
// Dockerfile built into its build directory (imageSiteDir), for the proxy
// to serve as it serves any static site.
func (r *deployment) copySite(ctx context.Context, u *unit, dir string, log *logstream.Writer) error {
	dest := filepath.Join(dir, imageSiteDir)
	if err := os.RemoveAll(dest); err != nil { // the repository's, if it has one
		return fmt.Errorf("make room for the site: %w", err)
	}
	ref := r.imageRef(u)
	log.Printf("==> Copying outputDirectory %s out of image %s", u.svc.OutputDirectory, ref)
	src, err := r.e.Containers.CopyFromImage(ctx, container.CopySpec{Image: ref, Path: u.svc.OutputDirectory, Dest: dest,
		Labels: r.e.oneOffLabels(r.imageLabels(u), "copy")})
	switch {
	case errors.Is(err, container.ErrNoDirectory):
		return fmt.Errorf("outputDirectory %q is not a directory in the image (%s): the Dockerfile must leave the site there, "+
			"or outputDirectory must name where it is (absolute, or relative to the image's WORKDIR)", u.svc.OutputDirectory, src)
	case err != nil:
		return fmt.Errorf("copy outputDirectory %q out of the image: %w", u.svc.OutputDirectory, err)
	}
	log.Printf("==> Copied %s out of the image", src)
	return nil
}

// siteRelease makes the release of a static site built from a Dockerfile
// serve the site copied out of its image (copySite), the whole directory;
// other releases are returned as they are. Such a site runs no container:
// its release has no image.
func siteRelease(rel target.Release) target.Release {
	if rel.Service.Type != config.TypeStatic || !rel.Service.RunsAsContainer() {
		return rel
	}
	rel.Dir = filepath.Join(rel.Root, imageSiteDir)
	rel.Service.OutputDirectory = "."
	rel.Image = ""
	return rel
}
