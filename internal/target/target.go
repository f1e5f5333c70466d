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

	"github.com/liftoffhq/liftoff/internal/config"
)

// Instance names where a release runs: an environment, or one pull
// request's preview instance of a preview environment.
type Instance struct {
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

// Release is one built service, ready to serve.
type Release struct {
	// ID identifies the release: the id of the service deployment that built it.
	ID       string
	Instance Instance
	// Service is the service's configuration at the deployed commit.
	Service config.Service
	// Dir is the built tree at the service's basePath: the start command runs
	// here, a static service's outputDirectory is relative to it.
	Dir string
	// Env is the service's complete environment (KEY=VALUE), without PORT:
	// the target sets PORT itself.
	Env []string
	// Log receives what the release prints until it is healthy (and, for
	// the command target, the deploy command's output).
	Log io.Writer
}

// Target releases services.
type Target interface {
	// Deploy makes rel the serving release of its service in its instance:
	// start it, wait until it is healthy, switch traffic to it, then stop the
	// previous release. When it fails the previous release keeps serving.
	Deploy(ctx context.Context, rel Release) error
	// Domain is the URL where the service is reachable for people, or ""
	// when it is not (workers, private services, command targets).
	Domain(inst Instance, svc config.Service) string
	// Stop stops every release of an instance and forgets its routes (a
	// preview instance torn down).
	Stop(ctx context.Context, inst Instance) error
}
