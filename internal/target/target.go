// Package target is the release seam: it takes a built service and makes it
// the one that serves. Two targets implement it: local (processes on the
// Liftoff host behind Liftoff's own proxy, in target/local) and command (the
// user's deployCommand, in this package), which is how Liftoff deploys to
// infrastructure it does not run.
package target

import (
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/internal/redact"

	"github.com/liftoffhq/liftoff/internal/config"
)

// Instance names where a release runs: an environment, or one pull
// request's preview instance of a preview environment. EnvironmentID and
// PRNumber identify it among all projects (environment ids are unique
// across projects); the given ids only make names readable.
type Instance struct {
	ProjectID     string
	EnvironmentID int64
	EnvGivenID    string // "production"
	PRNumber      int    // 0 for a normal environment
}

// Key is the instance's part of host names: "production", or "pr-12.preview".
func (i Instance) Key() string {
	if i.PRNumber > 0 {
		return "pr-" + strconv.Itoa(i.PRNumber) + "." + i.EnvGivenID
	}
	return i.EnvGivenID
}

// HostNames returns the two host names of a service of an instance: the
// short one, <service>.<instance key>.localhost, which only the first
// project to deploy there gets, and the long one, which carries the
// project's slug and is always its own:
// <service>.<instance key>.<slug>.localhost. Both are lowercase.
func HostNames(inst Instance, service, projectSlug string) (short, long string) {
	base := strings.ToLower(service + "." + inst.Key())
	return base + ".localhost", base + "." + strings.ToLower(projectSlug) + ".localhost"
}

// Release is one built service, ready to serve.
type Release struct {
	// ID identifies the release: the id of the service deployment that built it.
	ID       string
	Instance Instance
	// Service is the service's configuration at the deployed commit.
	Service config.Service
	// ServiceRef is the service's id in the store (liftoff.Service.ID),
	// which the records of its runtime name. Empty in tests.
	ServiceRef string
	// Root is the checkout the release was built in. Dir and every path
	// the service configures must resolve inside it, symbolic links
	// included. In a sandbox, Root (and Home) is all the release may
	// write. Empty means Dir.
	Root string
	// Dir is the built tree at the service's basePath: the start command runs
	// here, a static service's outputDirectory is relative to it.
	Dir string
	// Hosts are the host names a web or static service answers at, the
	// one to show people first (see HostNames). Empty for the others.
	Hosts []string
	// Home is HOME of the release's processes in a sandbox: its
	// environment's home. Empty: a HOME that lasts as long as the process.
	// Unsandboxed, HOME is Env's.
	Home string
	// Env is the service's complete environment (KEY=VALUE), without PORT:
	// the target sets PORT itself.
	Env []string
	// Log receives what the release prints until it is healthy (and, for
	// the command target, the deploy command's output).
	Log io.Writer
	// Image is the container image the release runs (a Docker build's, or
	// a prebuilt containerImage); empty for a release of the service's own
	// commands.
	Image string
	// Scrub hides the values of the service's secret variables in what
	// the release prints, wherever it is kept; nil: Liftoff's own secrets
	// only.
	Scrub *redact.Scrubber
	// Origin names what the release was built from, for the images a
	// cluster runs. Empty in tests.
	Origin Origin
}

// Origin names what a release was built from.
type Origin struct {
	ProjectSlug  string
	DeploymentID string // the deployment, of which the release is one service's part
	Commit       string
	// RepoURL is the repository, without credentials.
	RepoURL string
}

// Target releases services.
type Target interface {
	// Deploy makes rel the serving release of its service in its instance:
	// start it, wait until it is healthy, switch traffic to it, then stop the
	// previous release. When it fails the previous release keeps serving.
	Deploy(ctx context.Context, rel Release) error
	// Domain is the URL where the service is reachable for people at the
	// first of hosts, or "" when it is not (workers, private services,
	// command targets).
	Domain(svc config.Service, hosts []string) string
	// StopInstance stops every release of an instance and forgets its routes (a
	// preview instance torn down).
	StopInstance(ctx context.Context, inst Instance) error
}

// Endpoint is where the other services of an instance reach a service.
type Endpoint struct {
	// Port is the service's port at both addresses.
	Port int
	// Host is the address processes on the Liftoff host reach it at.
	Host string
	// ContainerHost is the address containers reach it at; empty when
	// they cannot, with ContainerErr saying why.
	ContainerHost string
	ContainerErr  error
}

// Internal is a Target whose services reach each other at addresses of
// its own (the local target's internal ports).
type Internal interface {
	// InternalAddress is where the other services of inst reach svc, a
	// web or web-private service, from now on and for as long as inst
	// lives, whichever release serves it.
	InternalAddress(ctx context.Context, inst Instance, svc config.Service) (Endpoint, error)
}
