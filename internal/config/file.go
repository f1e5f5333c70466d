package config

import (
	"path"
	"slices"
	"strings"
	"time"
)

// Service types Liftoff runs on its local target (and hands to a command
// target).
const (
	TypeWeb        = "web"         // public HTTP service, reachable through the proxy
	TypeWebPrivate = "web-private" // HTTP service not exposed through the proxy
	TypeWorker     = "worker"      // long-running process without HTTP
	TypeStatic     = "static"      // files built once and served by the proxy
	TypeScheduler  = "scheduler"   // built once; its jobs run on their schedules, no long-running process
)

// Flightcontrol's names for the types above, which Parse reads as them.
const (
	typeFargate          = "fargate"           // Flightcontrol's long-standing name for web
	typeFargateWorker    = "fargate-worker"    // and for worker
	typeFargateScheduler = "fargate-scheduler" // and for scheduler
)

// Build types of Flightcontrol's buildType.
const (
	BuildDocker   = "docker"   // a Dockerfile: built into an image, run as a container
	BuildNixpacks = "nixpacks" // the service's commands, which Liftoff runs natively
	BuildNodejs   = "nodejs"   // the same, Flightcontrol's older name
)

// Target types.
const (
	TargetLocal      = "local"      // run the release on the Liftoff host
	TargetCommand    = "command"    // hand the release to Target.DeployCommand
	TargetKubernetes = "kubernetes" // apply the release to a Kubernetes cluster
)

// Source triggers.
const (
	TriggerPush   = "push"   // deploy on every push, and on deploy hook calls
	TriggerManual = "manual" // deploy only when a person or a hook asks
)

// Defaults applied by Parse to fields the file leaves out.
const (
	DefaultBasePath               = "."
	DefaultPort                   = 3000
	DefaultHealthCheckPath        = "/"
	DefaultHealthCheckTimeoutSecs = 30
	// DefaultHealthCheckIntervalSecs is Flightcontrol's default.
	DefaultHealthCheckIntervalSecs = 10
	DefaultOutputDirectory         = "public"
	DefaultVersionHistoryCount     = 10
	DefaultBuildTimeoutSecs        = 1800
	DefaultJobTimeoutMinutes       = 1440
	DefaultDockerfilePath          = "Dockerfile"
	DefaultDockerContext           = "."
)

// File is a parsed liftoff.json. Parse returns it with every default applied.
// Unknown top-level fields ($schema, Flightcontrol additions) are ignored.
type File struct {
	// EnvVariables apply to every service of every environment; environment
	// and service values override them.
	EnvVariables EnvVars `json:"envVariables,omitempty"`
	// Environments holds at least one environment; ids are unique.
	Environments []Environment `json:"environments"`
}

// Environment finds the environment whose id (the givenId) is givenID.
func (f *File) Environment(givenID string) (*Environment, bool) {
	for i := range f.Environments {
		if f.Environments[i].ID == givenID {
			return &f.Environments[i], true
		}
	}
	return nil, false
}

// Environment is one entry of environments[]: a normal environment deploys a
// branch, a preview environment (Source.PR) deploys pull requests, one preview
// instance per pull request.
type Environment struct {
	// ID is the givenId: lowercase letters, digits, '-' and '_', starting with
	// a letter or digit, at most 63 characters (it appears in host names such
	// as api.production.localhost). Required, unique in the file.
	ID string `json:"id"`
	// Name is shown in API answers and the CLI. Default: ID.
	Name string `json:"name,omitempty"`
	// Region is Flightcontrol's AWS region: accepted, reported as not
	// applicable, and otherwise ignored.
	Region string `json:"region,omitempty"`
	// Source says what the environment deploys. Required.
	Source Source `json:"source"`
	// Services deploy together; ids are unique in the environment.
	Services []Service `json:"services,omitempty"`
	// EnvVariables apply to every service of the environment; they override
	// the file's and are overridden by the service's.
	EnvVariables EnvVars `json:"envVariables,omitempty"`
	// PreviewTTLHours, for a preview environment, tears a preview instance
	// down after that many hours without a deployment. Default 0: a preview
	// instance lives until it is torn down. Ignored (with a warning) on a
	// normal environment.
	PreviewTTLHours int `json:"previewTtlHours,omitempty"`
	// PreviewDomain, for a preview environment, names the host of each web
	// and static service of a preview instance, from a template with
	// {service} (the service's id) and {pr} (the pull request's number):
	// "{service}-pr-{pr}.preview.example.com". A Liftoff extension: the
	// services' "domain" is production's and never used by a preview.
	// Optional: previews keep their .localhost names either way.
	PreviewDomain string `json:"previewDomain,omitempty"`
	// Notifications are the webhooks told of the environment's
	// deployments (a Liftoff extension, package notify). Their signing
	// secrets are never in the file: Liftoff makes them, and shows one
	// when asked (liftoff notifications rotate).
	Notifications []Notification `json:"notifications,omitempty"`
	// Target is the default target of the environment's services: those
	// that set no target of their own (or a Flightcontrol one) use it.
	// Optional.
	Target *Target `json:"target,omitempty"`
}

// Notification is a webhook of an environment.
type Notification struct {
	// URL receives a POST per event: http or https. Required, unique in
	// the environment.
	URL string `json:"url"`
	// Events are the event types it hears ("deployment.succeeded", ...);
	// empty: every type.
	Events []string `json:"events,omitempty"`
	// Format is "json" (the event, signed) or "slack" (a Slack incoming
	// webhook's {"text": ...}). Default json.
	Format string `json:"format,omitempty"`
}

// NotificationEvents returns the event types a notification may name.
func NotificationEvents() []string {
	return []string{"deployment.created", "deployment.started", "deployment.succeeded", "deployment.failed",
		"deployment.cancelled", "deployment.no_change"}
}

// IsPreview reports whether the environment is a preview environment.
func (e *Environment) IsPreview() bool { return e.Source.PR }

// Service finds the service whose id (the givenId) is givenID.
func (e *Environment) Service(givenID string) (*Service, bool) {
	for i := range e.Services {
		if e.Services[i].ID == givenID {
			return &e.Services[i], true
		}
	}
	return nil, false
}

// RunnableServices returns the services Liftoff deploys, in file order:
// those of a type it runs (see Service.Runnable).
func (e *Environment) RunnableServices() []Service {
	var out []Service
	for _, s := range e.Services {
		if s.Runnable() {
			out = append(out, s)
		}
	}
	return out
}

// Deploys reports whether a deployment of the environment does anything
// on a Liftoff that manages the kinds in available: it has a service
// Liftoff runs, or one it makes on a server it was given.
func (e *Environment) Deploys(available map[string]bool) bool {
	for _, s := range e.Services {
		if s.Runnable() || (s.Managed() != "" && s.NotManagedReason(available) == "") {
			return true
		}
	}
	return false
}

// ManagedServices returns the services Liftoff makes on the operator's
// servers (Managed), in file order.
func (e *Environment) ManagedServices() []Service {
	var out []Service
	for _, s := range e.Services {
		if s.Managed() != "" {
			out = append(out, s)
		}
	}
	return out
}

// Source is what an environment deploys: a branch, or pull requests.
type Source struct {
	// Branch is the branch a normal environment deploys. Required unless PR
	// is true; ignored (and cleared by Parse) for preview environments.
	Branch string `json:"branch,omitempty"`
	// Trigger is TriggerPush (the default) or TriggerManual.
	Trigger string `json:"trigger,omitempty"`
	// PR makes the environment a preview environment. Default false.
	PR bool `json:"pr,omitempty"`
	// Filter narrows which pull requests get a preview instance. Preview
	// environments only; ignored (with a warning) on a normal one.
	Filter *Filter `json:"filter,omitempty"`
}

// Filter selects the pull requests of a preview environment. Every non-empty
// list must match; an empty list matches everything.
type Filter struct {
	// ToBranches are the base branches pull requests must target.
	ToBranches []string `json:"toBranches,omitempty"`
	// FromBranches are the head branches pull requests must come from.
	FromBranches []string `json:"fromBranches,omitempty"`
	// Labels: a pull request must carry one of them.
	Labels []string `json:"labels,omitempty"`
	// WatchPaths: a pull request must change a file matching one of these
	// globs (same syntax as Service.WatchPaths).
	WatchPaths []string `json:"watchPaths,omitempty"`
}

// Service is one entry of an environment's services[].
type Service struct {
	// ID is the givenId, with the same rule as Environment.ID. Required,
	// unique in the environment.
	ID string `json:"id"`
	// Name is shown in API answers and the CLI. Default: ID.
	Name string `json:"name,omitempty"`
	// Type is TypeWeb, TypeWebPrivate, TypeWorker, TypeStatic or
	// TypeScheduler, which Liftoff runs, or another Flightcontrol type (rds,
	// s3, ...), which is accepted and not deployed. Flightcontrol's
	// "fargate", "fargate-worker" and "fargate-scheduler" are read as web,
	// worker and scheduler. Required.
	Type string `json:"type"`
	// BuildType is Flightcontrol's: BuildNixpacks or BuildNodejs run the
	// service's commands natively, as no buildType does; BuildDocker
	// builds DockerfilePath into an image with the container CLI instead
	// of the install and build commands (see RunsAsContainer). Optional.
	BuildType string `json:"buildType,omitempty"`
	// DockerfilePath, for a docker build, is the Dockerfile, relative to
	// the repository root. Default "Dockerfile"; it may not leave the
	// repository.
	DockerfilePath string `json:"dockerfilePath,omitempty"`
	// DockerContext, for a docker build, is the build context, relative to
	// the repository root. Default "." (the root); it may not leave the
	// repository. basePath keeps its meaning (where commands run).
	DockerContext string `json:"dockerContext,omitempty"`
	// DockerTarget, for a docker build, is the stage of a multi-stage
	// Dockerfile to build (docker build --target). A Liftoff extension.
	// Default: the last stage.
	DockerTarget string `json:"dockerTarget,omitempty"`
	// InjectEnvVariablesInDockerfile, for a docker build, passes the
	// service's variables as build arguments (ARG; a value a RUN step uses
	// can be read in the image's history). False passes them as build
	// secrets instead, mounted by the RUN steps that ask for them
	// (RUN --mount=type=secret,id=NAME, at /run/secrets/NAME) and kept out
	// of the image. Default true, as on Flightcontrol.
	InjectEnvVariablesInDockerfile *bool `json:"injectEnvVariablesInDockerfile,omitempty"`
	// Engine is, for an rds service, postgres, mysql or mariadb, and for
	// an elasticache service redis (the default). Liftoff manages rds
	// postgres and elasticache services on the operator's servers
	// (Managed); other engines are accepted and not deployed.
	Engine string `json:"engine,omitempty"`
	// SeedFromEnvironment, for an rds postgres service of a preview
	// environment, is the id of the environment whose database of the
	// same service id seeds each new preview's database (a copy made with
	// pg_dump and pg_restore when the preview's database is created). A
	// Liftoff extension. Empty: the preview's database starts empty.
	SeedFromEnvironment string `json:"seedFromEnvironment,omitempty"`
	// ContainerImage is a prebuilt image to run, repository:tag, instead
	// of a build. Optional.
	ContainerImage *ContainerImage `json:"containerImage,omitempty"`
	// Domain is the host name a web or static service answers at besides
	// its .localhost names, Flightcontrol's custom domain: "app.example.com",
	// or a wildcard "*.example.com" (every name one label below it). With
	// HTTPS on (liftoff serve --https-addr), its certificate is obtained
	// automatically. Normal environments only: previews use the
	// environment's PreviewDomain. Parse lowercases it. Optional.
	Domain string `json:"domain,omitempty"`
	// WatchPaths are globs relative to the repository root ('*', '**', '?',
	// '[...]', '{a,b}'; '!' excludes; a leading './' or '/' is ignored). The
	// service deploys only when a changed file matches. Empty: it deploys
	// with every deployment of its environment.
	WatchPaths []string `json:"watchPaths,omitempty"`
	// DependsOn lists ids of services of the same environment that must be
	// deployed before this one. Cycles are errors.
	DependsOn []string `json:"dependsOn,omitempty"`
	// EnvVariables override the environment's and the file's.
	EnvVariables EnvVars `json:"envVariables,omitempty"`
	// IncludeEnvVariablesInBuild, when false, keeps the service's variables
	// (the file's and the API's) from its install and build commands,
	// which then see only the built-in ones. Default true.
	IncludeEnvVariablesInBuild *bool `json:"includeEnvVariablesInBuild,omitempty"`
	// BasePath is the directory, relative to the repository root, in which
	// the commands run. Default "." (the root). Parse cleans it ("./apps/api/"
	// becomes "apps/api"); it may not leave the repository.
	BasePath string `json:"basePath,omitempty"`
	// InstallCommand installs dependencies. Empty: skipped.
	InstallCommand string `json:"installCommand,omitempty"`
	// BuildCommand builds the release. Empty: skipped.
	BuildCommand string `json:"buildCommand,omitempty"`
	// PostBuildCommand runs after BuildCommand. Empty: skipped.
	PostBuildCommand string `json:"postBuildCommand,omitempty"`
	// CacheDirectories are directories, relative to BasePath, kept in the
	// service's build cache from one build to the next, as Netlify's and
	// Vercel's cached directories ("node_modules", ".next/cache"):
	// restored into the checkout before InstallCommand, saved after
	// PostBuildCommand when the build succeeds. A Liftoff extension. Each
	// stays inside the repository; Parse cleans them. Ignored (with a
	// warning) for a docker build or a prebuilt image. Default none (the
	// Go, npm, yarn, pnpm and pip caches are kept anyway).
	CacheDirectories []string `json:"cacheDirectories,omitempty"`
	// PreDeployCommand runs before the new release starts (migrations).
	// Empty: skipped. This and the other deployment commands are a shell
	// line or, in the exec form, an argv run without a shell (Command).
	PreDeployCommand Command `json:"preDeployCommand,omitzero"`
	// StartCommand starts a web, web-private or worker service. Required for
	// those on the local target: Liftoff does not guess it.
	StartCommand Command `json:"startCommand,omitzero"`
	// PostDeployCommand runs after the new release is healthy. Empty: skipped.
	PostDeployCommand Command `json:"postDeployCommand,omitzero"`
	// Port is the port the service listens on, passed to it as PORT.
	// Default 3000; 1 to 65535.
	Port int `json:"port,omitempty"`
	// HealthCheckPath must answer a status from 200 to 399 before a new
	// release takes traffic. Default "/"; starts with '/'.
	HealthCheckPath string `json:"healthCheckPath,omitempty"`
	// HealthCheckTimeoutSecs is how long a new release has to become healthy
	// before the deployment of the service fails. Default 30; 1 to 3600.
	HealthCheckTimeoutSecs int `json:"healthCheckTimeoutSecs,omitempty"`
	// HealthCheckIntervalSecs is the pause between the health checks of a
	// healthy release (HealthCheckPath); after 3 failures in a row it is
	// restarted. Default 10; 1 to 300.
	HealthCheckIntervalSecs int `json:"healthCheckIntervalSecs,omitempty"`
	// OutputDirectory, for a static service, is the directory, relative to
	// BasePath, whose files are served after the build. Default "public"
	// (Flightcontrol's default); it may not leave the repository. For a
	// static site built from a Dockerfile it is a directory in the image
	// instead: absolute, or relative to the image's WORKDIR. Ignored for
	// other types.
	OutputDirectory string `json:"outputDirectory,omitempty"`
	// SinglePageApp, for a static service, answers paths without a file with
	// /index.html. Default false.
	SinglePageApp bool `json:"singlePageApp,omitempty"`
	// VersionHistoryCount is how many releases are kept for rollback.
	// Default 10; 1 to 1000.
	VersionHistoryCount int `json:"versionHistoryCount,omitempty"`
	// BuildTimeoutSecs bounds install, build and post-build together; the
	// build fails when it is exceeded. A Liftoff extension. Default 1800
	// (30 minutes); 1 to 86400.
	BuildTimeoutSecs int `json:"buildTimeoutSecs,omitempty"`
	// Target is where the release goes. Default: the environment's
	// target, else the operator's default.
	Target Target `json:"target"`
	// MinInstances is how many instances of the service run: the
	// replicas of a kubernetes target's Deployment. The local target
	// runs one. Default 1.
	MinInstances int `json:"minInstances,omitempty"`
	// Jobs, for a scheduler service, are its jobs by id (the job's
	// givenId: the same rule as Service.ID). Ignored (with a warning) for
	// other types.
	Jobs map[string]Job `json:"jobs,omitempty"`
}

// Job is one job of a scheduler service: a command run in the service's
// release, with the service's environment, on a schedule or when asked.
type Job struct {
	// StartCommand is what the job runs, a shell line or an argv, in the
	// release's basePath, or in a container of the service's image.
	// Required, but for a service that runs as a container: there, without
	// it, the image's CMD runs.
	StartCommand Command `json:"startCommand,omitzero"`
	// Schedule says when the job runs: five cron fields ("0 3 * * *"),
	// rate(N minutes|hours|days), AWS's cron(...) with six fields, or
	// "manual" (ParseSchedule). Required.
	Schedule string `json:"schedule"`
	// Timezone is the IANA time zone the schedule is read in
	// ("Europe/Paris"). A Liftoff extension. Default UTC.
	Timezone string `json:"timezone,omitempty"`
	// Timeout is how many minutes a run may take before its processes are
	// killed and it ends TIMED_OUT; fractions of a minute are allowed.
	// Default 1440 (a day); at most 10080 (a week).
	Timeout float64 `json:"timeout,omitempty"`
}

// TimeoutDuration is the job's timeout, its default applied.
func (j Job) TimeoutDuration() time.Duration {
	if j.Timeout <= 0 {
		return DefaultJobTimeoutMinutes * time.Minute
	}
	return time.Duration(j.Timeout * float64(time.Minute))
}

// JobIDs returns the ids of the service's jobs, sorted.
func (s Service) JobIDs() []string {
	ids := make([]string, 0, len(s.Jobs))
	for id := range s.Jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// CachedDirectories are the service's cacheDirectories as builds use
// them: clean, each once, none inside another listed one; none for a
// service that runs no build commands (a docker build, a prebuilt image).
func (s Service) CachedDirectories() []string {
	if s.BuildType == BuildDocker || s.ContainerImage != nil {
		return nil
	}
	var out []string
	for _, d := range s.CacheDirectories {
		d = path.Clean(d)
		if d == "" || d == "." || path.IsAbs(d) || slices.Contains(out, d) {
			continue
		}
		out = append(out, d)
	}
	return slices.DeleteFunc(out, func(d string) bool {
		return slices.ContainsFunc(out, func(other string) bool { return strings.HasPrefix(d, other+"/") })
	})
}

// BuildGetsVariables reports whether the install and build commands see
// the service's variables (IncludeEnvVariablesInBuild).
func (s Service) BuildGetsVariables() bool {
	return s.IncludeEnvVariablesInBuild == nil || *s.IncludeEnvVariablesInBuild
}

// InjectsVariablesAsBuildArgs reports whether a docker build gets the
// service's variables as build arguments rather than build secrets
// (InjectEnvVariablesInDockerfile).
func (s Service) InjectsVariablesAsBuildArgs() bool {
	return s.InjectEnvVariablesInDockerfile == nil || *s.InjectEnvVariablesInDockerfile
}

// ContainerImage names a prebuilt image, as Flightcontrol's containerImage
// does.
type ContainerImage struct {
	Repository string `json:"repository,omitempty"`
	Tag        string `json:"tag,omitempty"`
}

// Ref is the image reference: repository:tag, the tag "latest" when
// none is given.
func (c ContainerImage) Ref() string {
	tag := c.Tag
	if tag == "" {
		tag = "latest"
	}
	return c.Repository + ":" + tag
}

// Target is where a service's release goes.
type Target struct {
	// Type is TargetLocal, TargetCommand or TargetKubernetes. Left out,
	// or Flightcontrol's "fargate" and "ecs-ec2" (which Parse makes
	// empty), it is the operator's default target (IsDefault): TargetLocal
	// unless Liftoff runs with a default Kubernetes cluster.
	Type string `json:"type"`
	// DeployCommand deploys the built release. Required when Type is
	// TargetCommand, ignored (with a warning) otherwise.
	DeployCommand string `json:"deployCommand,omitempty"`
	// Namespace, Context, Registry and IngressClass are a kubernetes
	// target's: the namespace the service's objects go to, the context of
	// the operator's kubeconfig that names the cluster, the registry its
	// images are pushed to, and the class of its Ingress. Each left out
	// is the operator's default. Ignored (with a warning) by the other
	// types.
	Namespace    string `json:"namespace,omitempty"`
	Context      string `json:"context,omitempty"`
	Registry     string `json:"registry,omitempty"`
	IngressClass string `json:"ingressClass,omitempty"`
	// BaseImage, on a kubernetes target, is the image a service built
	// from its commands is packed on (it must have /bin/sh and what the
	// start command runs). Default: the operator's.
	BaseImage string `json:"baseImage,omitempty"`
}

// IsKubernetes reports whether the target names a Kubernetes cluster.
func (t Target) IsKubernetes() bool { return t.Type == TargetKubernetes }

// IsDefault reports whether the file left the target to the operator's
// default.
func (t Target) IsDefault() bool { return t.Type == "" }
