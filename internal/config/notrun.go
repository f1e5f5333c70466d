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

// Kinds of managed resources: what Managed returns.
const (
	// ManagedPostgres is a database and a role of their own on the
	// operator's PostgreSQL server: an rds service with engine postgres.
	ManagedPostgres = "postgres"
	// ManagedRedis is an ACL user and a key prefix of their own on the
	// operator's Redis server: an elasticache service.
	ManagedRedis = "redis"
)

// Managed says which resource Liftoff makes for the service on a server
// the operator runs, for each environment and each preview instance:
// ManagedPostgres for an rds service whose engine is postgres,
// ManagedRedis for an elasticache service (engine redis, the default),
// "" for the others. Whether the operator gave Liftoff such a server is
// the engine's to know: see NotManagedReason.
func (s Service) Managed() string {
	switch {
	case s.Type == "rds" && s.Engine == "postgres":
		return ManagedPostgres
	case s.Type == "elasticache" && (s.Engine == "" || s.Engine == "redis"):
		return ManagedRedis
	}
	return ""
}

// NotManagedReason says why a service of a managed kind is not made on
// this Liftoff, whose operator configured the kinds in available ("" when
// it is made): the server it needs was not given.
func (s Service) NotManagedReason(available map[string]bool) string {
	switch kind := s.Managed(); {
	case kind == "" || available[kind]:
		return ""
	case kind == ManagedPostgres:
		return "no managed PostgreSQL configured (liftoff serve --managed-postgres-url)"
	default:
		return "no managed Redis configured (liftoff serve --managed-redis-url)"
	}
}

// NotRunReason says why Liftoff does not deploy the service ("type rds does
// not run on Liftoff"), or "" when it does. A managed resource (Managed)
// is not run either: it is made, when the operator configured its kind.
func (s Service) NotRunReason() string {
	switch {
	case s.Managed() == ManagedPostgres:
		return "a managed PostgreSQL database, made when Liftoff has a server to manage (liftoff serve --managed-postgres-url)"
	case s.Managed() == ManagedRedis:
		return "a managed Redis user and key prefix, made when Liftoff has a server to manage (liftoff serve --managed-redis-url)"
	case s.Type == "rds" && s.Engine != "":
		return fmt.Sprintf("engine %s: Liftoff manages PostgreSQL databases only (engine postgres)", s.Engine)
	case s.Type == "elasticache" && s.Engine != "":
		return fmt.Sprintf("engine %s: Liftoff manages Redis only (engine redis)", s.Engine)
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
