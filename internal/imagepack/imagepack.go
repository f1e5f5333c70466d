// Package imagepack turns each kind of built service into a container
// image in a registry, for a target that runs images (Kubernetes), and
// returns the image's digest reference, so that the target deploys
// exactly what was built and a rollback re-applies it without a build:
//
//   - a service of build and start commands (Process): its build
//     directory is appended as one layer at /app to a base image pulled
//     from a registry, the way ko packs Go programs, with no container
//     daemon: the start command becomes the entrypoint (/bin/sh -c, so the
//     base needs a shell);
//   - a static site (Static): the site at /site and the running liftoff
//     binary at /liftoff on an empty base, running `liftoff serve-static`;
//   - a Dockerfile service (PushLocal): the image the container CLI
//     built, pushed by the CLI.
//
// Layers are reproducible: entries sorted, times fixed, owners fixed, so
// the same build output is the same layer, stored and sent once; an
// image's digest changes only with its layers, its base or its labels.
// The images carry no variable of the service: the target gives them
// their environment (its secrets in a Kubernetes Secret), and only PORT,
// which is no secret, is set in the image.
//
// Images are named <Config.Registry>/<project slug>/<service id> and
// tagged with the deployment's id.
package imagepack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/liftoffhq/liftoff/internal/container"
)

// DefaultBaseImage is the base of process services' images when neither
// the pack nor the Config names one: Debian, as the Liftoff host the
// builds ran on, with /bin/sh. A service whose start command needs a
// runtime (node, python, java) names a base that has it.
const DefaultBaseImage = "docker.io/library/debian:bookworm-slim"

// DefaultUser is the uid:gid that owns /app and runs a process service
// (65532, ko's and distroless' "nonroot"), on no base's list of users.
const DefaultUser = "65532:65532"

// StaticPort is the port a static site's image listens on.
const StaticPort = 8080

// Config says where images go and what they are made of. Built once and
// passed to New.
type Config struct {
	// Registry is where images are pushed: a host, with a port and a path
	// if need be (registry.example.com, 127.0.0.1:5000/liftoff). Required.
	Registry string
	// Insecure reaches Registry over plain HTTP, or over HTTPS without
	// verifying its certificate: a registry on loopback, a private one.
	// Loopback and private addresses (127.0.0.1, 10.x, 192.168.x,
	// localhost) are reached over plain HTTP without it. Default false.
	Insecure bool
	// Username and Password sign in to Registry. Empty: Keychain.
	Username, Password string
	// Keychain finds credentials for the base images' registries, and for
	// Registry without Username. Default authn.DefaultKeychain: the
	// docker and podman auth files (docker login, podman login).
	Keychain authn.Keychain
	// BaseImage is the base of process services' images when a pack
	// names none: a reference in a registry, which must have /bin/sh and
	// what the start command runs. Default DefaultBaseImage.
	BaseImage string
	// Platform is the images' os/architecture, and the one picked from
	// a multi-platform base. Default linux/<the architecture Liftoff runs on>.
	Platform string
	// User is the numeric uid:gid that owns a process service's /app and
	// runs it. Default DefaultUser.
	User string
	// ServerBinary is the liftoff binary a static site's image runs: a
	// static executable (CGO_ENABLED=0) for Platform. Default: the running
	// program (os.Executable).
	ServerBinary string
	// Containers is the container CLI that built Dockerfile services'
	// images; nil: PushLocal fails, saying so.
	Containers *container.CLI
	// TempDir holds layers while they are pushed. Default os.TempDir().
	TempDir string
}

// Packer makes images and pushes them. Safe for concurrent use.
type Packer struct {
	cfg      Config
	registry name.Registry
	prefix   string // Registry's path, "" or "team/"
	platform v1.Platform
	uid, gid int
	keychain authn.Keychain
	// insecure reaches Registry when Config.Insecure; nil otherwise.
	insecure http.RoundTripper

	// The server binary's layer, made once (see Static).
	binMu  sync.Mutex
	binary *fileLayer
}

// New checks cfg and returns a Packer. It reaches no registry.
func New(cfg Config) (*Packer, error) {
	if cfg.Registry == "" {
		return nil, errors.New("imagepack: no registry: name where images are pushed (registry.example.com, or host:port/path)")
	}
	host, path, _ := strings.Cut(strings.TrimSuffix(cfg.Registry, "/"), "/")
	var opts []name.Option
	if cfg.Insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, append(opts, name.StrictValidation)...)
	if err != nil {
		return nil, fmt.Errorf("imagepack: registry %q: %w (give a host, with a port and a path if need be: registry.example.com/team)", cfg.Registry, err)
	}
	p := &Packer{cfg: cfg, registry: reg}
	if path != "" {
		if _, err := name.NewRepository(host+"/"+path+"/x", opts...); err != nil || strings.ToLower(path) != path {
			return nil, fmt.Errorf("imagepack: registry %q: its path %q must be lowercase letters, digits, '.', '_', '-' and '/'", cfg.Registry, path)
		}
		p.prefix = path + "/"
	}
	if p.cfg.BaseImage == "" {
		p.cfg.BaseImage = DefaultBaseImage
	}
	if _, err := name.ParseReference(p.cfg.BaseImage); err != nil {
		return nil, fmt.Errorf("imagepack: base image %q: %w", p.cfg.BaseImage, err)
	}
	if p.cfg.Platform == "" {
		p.cfg.Platform = "linux/" + runtime.GOARCH
	}
	plat, err := v1.ParsePlatform(p.cfg.Platform)
	if err != nil || plat.OS != "linux" || plat.Architecture == "" {
		return nil, fmt.Errorf("imagepack: platform %q: want linux/<architecture>, e.g. linux/amd64", p.cfg.Platform)
	}
	p.platform = *plat
	if p.cfg.User == "" {
		p.cfg.User = DefaultUser
	}
	if p.uid, p.gid, err = parseUser(p.cfg.User); err != nil {
		return nil, err
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, fmt.Errorf("imagepack: registry %s: give both a username and a password, or neither", cfg.Registry)
	}
	p.keychain = cfg.Keychain
	if p.keychain == nil {
		p.keychain = authn.DefaultKeychain
	}
	if cfg.Username != "" {
		p.keychain = authn.NewMultiKeychain(registryLogin{registry: reg.RegistryStr(),
			auth: authn.FromConfig(authn.AuthConfig{Username: cfg.Username, Password: cfg.Password})}, p.keychain)
	}
	if cfg.Insecure {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // what Config.Insecure asks for
		p.insecure = t
	}
	return p, nil
}

// Close removes what the Packer keeps between packs (the server binary's
// layer), once no pack runs.
func (p *Packer) Close() error {
	p.binMu.Lock()
	defer p.binMu.Unlock()
	if p.binary == nil {
		return nil
	}
	err := os.Remove(p.binary.path)
	p.binary = nil
	return err
}

// parseUser reads a numeric uid:gid.
func parseUser(s string) (uid, gid int, err error) {
	u, g, ok := strings.Cut(s, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		return 0, 0, fmt.Errorf("imagepack: user %q: want a numeric uid:gid, e.g. %s", s, DefaultUser)
	}
	return uid, gid, nil
}

// registryLogin gives one registry's credentials.
type registryLogin struct {
	registry string
	auth     authn.Authenticator
}

func (r registryLogin) Resolve(res authn.Resource) (authn.Authenticator, error) {
	if res.RegistryStr() == r.registry {
		return r.auth, nil
	}
	return authn.Anonymous, nil
}

// Origin says what an image is of: the names of its repository and tag,
// and its labels.
type Origin struct {
	// ProjectID is the project's id; ProjectSlug names the repository
	// (the id without one).
	ProjectID, ProjectSlug string
	// Environment is the environment's given id ("production").
	Environment string
	// PRNumber is the preview's pull request; 0 for an environment.
	PRNumber int
	// ServiceID is the service's id in the config. Required.
	ServiceID string
	// DeploymentID tags the image. Required.
	DeploymentID string
	// ServiceDeploymentID is the service deployment that built it.
	ServiceDeploymentID string
	// Commit is the commit built (org.opencontainers.image.revision).
	Commit string
	// Source is the repository's URL (org.opencontainers.image.source);
	// credentials and a query in it are left out.
	Source string
}

// Labels of the images, the same the local target's images carry, and
// the OCI ones.
const (
	LabelProject           = "liftoff.project"
	LabelEnvironment       = "liftoff.environment"
	LabelPR                = "liftoff.pr"
	LabelService           = "liftoff.service"
	LabelDeployment        = "liftoff.deployment"
	LabelServiceDeployment = "liftoff.service-deployment"
	LabelRevision          = "org.opencontainers.image.revision"
	LabelSource            = "org.opencontainers.image.source"
	LabelBaseName          = "org.opencontainers.image.base.name"
	LabelBaseDigest        = "org.opencontainers.image.base.digest"
)

// labels are o's labels; those without a value are left out.
func (o Origin) labels() map[string]string {
	l := map[string]string{LabelProject: o.ProjectID, LabelEnvironment: o.Environment, LabelService: o.ServiceID,
		LabelDeployment: o.DeploymentID, LabelServiceDeployment: o.ServiceDeploymentID, LabelRevision: o.Commit,
		LabelSource: safeSource(o.Source)}
	if o.Environment != "" {
		l[LabelPR] = strconv.Itoa(o.PRNumber)
	}
	for k, v := range l {
		if v == "" {
			delete(l, k)
		}
	}
	return l
}

// safeSource is a repository URL without credentials or a query (a token
// in https://x-access-token:TOKEN@github.com/...); a local path or
// scp-like address stays as it is, without a user.
func safeSource(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		u.User, u.RawQuery, u.Fragment = nil, "", ""
		return u.String()
	}
	if at := strings.IndexByte(s, '@'); at >= 0 && !strings.Contains(s[:at], "/") {
		return s[at+1:] // git@github.com:o/r.git
	}
	return s
}

// Image is an image in the registry.
type Image struct {
	// Ref is the digest reference to deploy: repository@sha256:...
	Ref string
	// Repository is registry/project/service.
	Repository string
	// Tag is the deployment's id: Repository:Tag names the same image
	// until it is pushed again.
	Tag string
	// Digest is the manifest's digest, sha256:...
	Digest string
	// Port is the port the image's process listens on (PORT in its
	// environment): the service's port, StaticPort for a static site; 0
	// when the image does not say (a Dockerfile's).
	Port int
}

// Repository is where o's images go: <registry>/<project slug>/<service>,
// every part made a valid, lowercase name.
func (p *Packer) Repository(o Origin) (string, error) {
	if o.ServiceID == "" {
		return "", errors.New("imagepack: the image has no service id")
	}
	project := o.ProjectSlug
	if project == "" {
		project = o.ProjectID
	}
	if project == "" {
		return "", errors.New("imagepack: the image has no project slug or id")
	}
	return p.registry.RegistryStr() + "/" + p.prefix + refPart(project) + "/" + refPart(o.ServiceID), nil
}

// tagged is o's tag reference.
func (p *Packer) tagged(o Origin) (name.Tag, error) {
	repo, err := p.Repository(o)
	if err != nil {
		return name.Tag{}, err
	}
	if o.DeploymentID == "" {
		return name.Tag{}, errors.New("imagepack: the image has no deployment id to tag it with")
	}
	tag, err := name.NewTag(repo+":"+tagPart(o.DeploymentID), p.nameOptions()...)
	if err != nil {
		return name.Tag{}, fmt.Errorf("imagepack: %w", err)
	}
	return tag, nil
}

func (p *Packer) nameOptions() []name.Option {
	if p.cfg.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

var (
	refInvalid = regexp.MustCompile(`[^a-z0-9]+`)
	tagInvalid = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

// refPart makes s a component of a repository name: lowercase letters
// and digits, other runs of characters made one '-'.
func refPart(s string) string {
	p := strings.Trim(refInvalid.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if p == "" {
		return "x"
	}
	return p
}

// tagPart makes s a tag: at most 128 of [A-Za-z0-9_.-], not starting
// with '.' or '-'.
func tagPart(s string) string {
	t := strings.TrimLeft(tagInvalid.ReplaceAllString(s, "-"), ".-")
	if t == "" {
		t = "x"
	}
	return t[:min(len(t), 128)]
}

// remoteOptions are the options of a registry call on ref: the context,
// credentials, the platform, and for Registry, Insecure's transport.
func (p *Packer) remoteOptions(ctx context.Context, ref name.Reference) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(p.keychain), remote.WithPlatform(p.platform)}
	if p.insecure != nil && ref.Context().RegistryStr() == p.registry.RegistryStr() {
		opts = append(opts, remote.WithTransport(p.insecure))
	}
	return opts
}

// push writes img under tag and returns it as an Image.
func (p *Packer) push(ctx context.Context, tag name.Tag, img v1.Image, port int) (Image, error) {
	if err := remote.Write(tag, img, p.remoteOptions(ctx, tag)...); err != nil {
		return Image{}, fmt.Errorf("push %s: %w", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		return Image{}, err
	}
	repo := tag.Context().Name()
	return Image{Ref: repo + "@" + d.String(), Repository: repo, Tag: tag.TagStr(), Digest: d.String(), Port: port}, nil
}
