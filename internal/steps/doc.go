// Package steps runs a service's commands from liftoff.json: the build steps
// (installCommand, buildCommand, postBuildCommand) and, for the deployment
// engine, preDeployCommand, postDeployCommand and the command target's
// deployCommand.
//
// Each command is a shell command line run with /bin/sh -c, or an argv (the
// exec form) run directly without a shell, in the service's working
// directory, with exactly the environment the caller passes (nothing
// is inherited from Liftoff's own environment, which holds its secrets; see
// BaseEnv for a starting point), stdin from /dev/null, and stdout and stderr
// merged, in the order they were written, into one live output stream.
//
// A command runs in its own process group, so everything it starts can be
// stopped together: when the context ends or the time limit passes, the
// group gets SIGTERM and, after a grace period, SIGKILL. When a command
// exits on its own, whatever it left running in the background is killed
// too, so a step never outlives itself and never holds the output open.
//
// With a Spec.Sandbox in mode bwrap each command runs in a bubblewrap
// sandbox (see package sandbox): it sees the system, its checkout and its
// home, nothing of Liftoff's data dir, processes or environment,
// and the kernel kills everything it started, daemons that left the group
// included, when it ends.
//
// This package is Linux-only: it relies on process groups, the parent-death
// signal and waitid(2) (through packages procgroup and sandbox).
package steps
