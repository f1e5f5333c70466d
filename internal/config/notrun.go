package config

import (
	"fmt"
	"strings"
)

// Which services Liftoff runs, and why it does not run the others, is
// decided here and only here: the engine deploys the services it runs, the
// environment and deployment views show the others as not deployed with
// NotRunReason, and a deploy hook whose environment has none to run says
// why with NotRunSummary. Running a new type (managed databases, say)
// changes this file and nothing else.

// Runnable reports whether Liftoff builds and deploys the service: true for
// the types web, web-private, worker, static and scheduler whose commands
// it can run; for web, web-private, worker and scheduler services from a
// Dockerfile or a prebuilt image, which run as containers (a scheduler's
// jobs each in a container of its own); and for static sites built from a
// Dockerfile, whose outputDirectory is copied out of the image. Services
// of other Flightcontrol types (rds, s3, ...), a static site from a
// prebuilt image, and a service without the startCommand it needs are
// accepted in the file and skipped, each with its reason: one service
// Liftoff cannot run never refuses the others.
func (s Service) Runnable() bool { return s.NotRunReason() == "" }

// RunsAsContainer reports whether the service is built or run as an image:
// one built from its Dockerfile, or a prebuilt one. Its release is a
// container of that image, but for a scheduler (its jobs run in containers
// of it) and a static site (the proxy serves its outputDirectory, copied
// out of it).
func (s Service) RunsAsContainer() bool {
	return s.BuildType == BuildDocker || s.ContainerImage != nil
}

// NotRunReason says why Liftoff does not deploy the service ("type rds does
// not run on Liftoff"), or "" when it does.
func (s Service) NotRunReason() string {
	switch {
	case !isRunnableType(s.Type):
		return fmt.Sprintf("type %s does not run on Liftoff", s.Type)
	case s.Type == TypeStatic && s.ContainerImage != nil:
		return `a static site is built from its commands or from its Dockerfile ("buildType": "docker"); a prebuilt ` +
			`containerImage is for web, web-private, worker and scheduler services`
	case s.RunsAsContainer() && s.Target.Type == TargetCommand:
		return "a container image is released by the local target only (target command hands a build directory to deployCommand)"
	case s.RunsAsContainer():
		// The image says what runs.
	case s.Type != TypeStatic && s.Type != TypeScheduler && s.Target.Type != TargetCommand && s.StartCommand.IsBlank():
		return `it has no "startCommand": Liftoff runs a ` + s.Type + ` service's own commands and does not detect them ` +
			`as Flightcontrol's nixpacks builds do; add "startCommand" (and "installCommand" and "buildCommand" if the ` +
			`service needs them)`
	}
	return ""
}

// NotRunSummary says in a few words why Liftoff runs none of services, for
// a sentence such as "Environment 3 (data) has no services Liftoff runs:
// db is rds, cache is elasticache (not run by Liftoff)". It names only the
// services Liftoff does not run.
func NotRunSummary(services []Service) string {
	var parts []string
	for _, s := range services {
		switch {
		case !isRunnableType(s.Type):
			parts = append(parts, fmt.Sprintf("%s is %s", s.ID, s.Type))
		case !s.Runnable():
			parts = append(parts, fmt.Sprintf("%s is not deployed (%s)", s.ID, s.NotRunReason()))
		}
	}
	if len(parts) == 0 {
		return "its config lists no services"
	}
	return strings.Join(parts, ", ") + " (not run by Liftoff)"
}

// runnableTypeList names the runnable types for messages.
const runnableTypeList = "web, web-private, worker, static, scheduler"

func isRunnableType(t string) bool {
	switch t {
	case TypeWeb, TypeWebPrivate, TypeWorker, TypeStatic, TypeScheduler:
		return true
	}
	return false
}
