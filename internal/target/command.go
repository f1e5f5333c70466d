package target

import (
	"context"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/sandbox"
	"github.com/liftoffhq/liftoff/internal/steps"
)

// Command is the command target: it hands the built release to the
// service's deployCommand (kubectl, helm, flyctl, rsync ...), run in the
// release directory with the service's environment plus
// LIFTOFF_RELEASE_DIR, in Sandbox like a build step. Liftoff runs nothing
// itself, so there is nothing to route, stop or restore.
type Command struct {
	// Sandbox runs the deploy command. Nil runs it unsandboxed.
	Sandbox *sandbox.Sandbox
}

// Deploy runs the deploy command; its exit status decides.
func (c Command) Deploy(ctx context.Context, rel Release) error {
	if rel.Service.Target.DeployCommand == "" {
		return fmt.Errorf("service %q has target type command but no deployCommand", rel.Service.ID)
	}
	env := append(append([]string(nil), rel.Env...), "LIFTOFF_RELEASE_DIR="+rel.Dir)
	return steps.Run(ctx, steps.Spec{
		Dir:     rel.Dir,
		Root:    rel.Root,
		Sandbox: c.Sandbox,
		Home:    rel.Home,
		Env:     env,
		Steps:   []steps.Step{{Name: "deployCommand", Command: rel.Service.Target.DeployCommand}},
		Output:  rel.Log,
	})
}

// Domain is empty: the command target does not know where the release lands.
func (Command) Domain(config.Service, []string) string { return "" }

// StopInstance does nothing: what a deploy command started is the user's
// to stop.
func (Command) StopInstance(context.Context, Instance) error { return nil }
