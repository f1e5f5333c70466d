package config

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// check applies the rules the schema cannot express to a decoded file. It
// reads the model as far as decoding got: values the schema rejected are
// zero here, and the checks stay quiet about zero values so that one mistake
// is reported once.
// previewKey is the shape of the label a preview instance adds to host
// names (pr-12): an environment with such an id would give host names that
// another project's previews may need.
var previewKey = regexp.MustCompile(`^pr-[0-9]+$`)

func check(f *File, ps *problems) {
	// Environments whose services the schema rejected: their lack of a
	// runnable service is no news.
	rejected := make(map[string]bool)
	for _, p := range *ps {
		if tok := splitPointer(p.Path); p.Severity == SeverityError && len(tok) >= 3 && tok[0] == "environments" && tok[2] == "services" {
			rejected["/environments/"+tok[1]] = true
		}
	}
	seen := make(map[string]int)
	for i := range f.Environments {
		env := &f.Environments[i]
		ep := pointer("environments", i)
		if env.ID != "" {
			if previewKey.MatchString(strings.ToLower(env.ID)) {
				ps.errorf(child(ep, "id"), "environment id %q is reserved: preview instances' host names use pr-<number> (<service>.pr-7.<environment>.localhost); rename the environment", env.ID)
			}
			if first, dup := seen[strings.ToLower(env.ID)]; dup {
				if other := f.Environments[first].ID; other != env.ID {
					ps.errorf(child(ep, "id"), "environment ids %q and %q (environment %d) differ only in case: host names are lowercase, so they would be the same; rename one", env.ID, other, first)
				} else {
					ps.errorf(child(ep, "id"), "duplicate environment id %q: environment %d has it too", env.ID, first)
				}
			} else {
				seen[strings.ToLower(env.ID)] = i
			}
		}
		checkEnvironment(env, ep, rejected[ep], ps)
	}
	for i := range f.Environments {
		checkSeeds(f, i, ps)
	}
}

// checkSeeds checks the seedFromEnvironment of the services of
// environment i: a preview's rds postgres database copied from the
// database of the same service id of a normal environment of the file.
func checkSeeds(f *File, i int, ps *problems) {
	env := &f.Environments[i]
	for j, s := range env.Services {
		if s.SeedFromEnvironment == "" {
			continue
		}
		at := child(pointer("environments", i), "services", j, "seedFromEnvironment")
		if s.Managed() != ManagedPostgres {
			ps.errorf(at, `only an rds service with "engine": "postgres" is seeded; remove it from %s`, named("service", s.ID))
			continue
		}
		if !env.IsPreview() {
			ps.errorf(at, `only a preview environment's database is seeded (from %q); %s is not one`, s.SeedFromEnvironment, named("environment", env.ID))
			continue
		}
		base, ok := f.Environment(s.SeedFromEnvironment)
		switch {
		case !ok:
			ps.errorf(at, "%q is not an environment of this file", s.SeedFromEnvironment)
		case base.IsPreview():
			ps.errorf(at, "%q is a preview environment: seed from a normal environment's database", s.SeedFromEnvironment)
		default:
			if other, ok := base.Service(s.ID); !ok || other.Managed() != ManagedPostgres {
				ps.errorf(at, `environment %q has no rds postgres service %q to copy the database of`, s.SeedFromEnvironment, s.ID)
			}
		}
	}
}

// checkEnvironment checks one environment; servicesRejected says the schema
// found errors in its services.
func checkEnvironment(env *Environment, ep string, servicesRejected bool, ps *problems) {
	src := env.Source
	sp := child(ep, "source")
	if src.PR {
		if src.Branch != "" {
			ps.warnf(child(sp, "branch"), `ignored for a preview environment, which deploys pull requests (use "filter": {"toBranches": [...]} to choose them by base branch)`)
		}
	} else {
		if src.Filter != nil {
			ps.warnf(child(sp, "filter"), `only applies to preview environments ("pr": true); ignored`)
		}
		if env.PreviewTTLHours != 0 {
			ps.warnf(child(ep, "previewTtlHours"), `only applies to preview environments ("pr": true); ignored`)
		}
		if env.PreviewDomain != "" {
			ps.warnf(child(ep, "previewDomain"), `only applies to preview environments ("pr": true); ignored`)
		}
	}
	if src.PR && env.PreviewDomain != "" {
		if why := checkPreviewDomain(env.PreviewDomain); why != "" {
			ps.errorf(child(ep, "previewDomain"), "%q %s", env.PreviewDomain, why)
		}
	}
	urls := make(map[string]int)
	for j, n := range env.Notifications {
		if first, dup := urls[n.URL]; dup {
			ps.errorf(child(ep, "notifications", j, "url"), "%q is notification %d's URL too: each URL once per environment (list every event it hears in one)", n.URL, first)
		} else {
			urls[n.URL] = j
		}
	}
	if src.Filter != nil {
		checkGlobs(src.Filter.WatchPaths, child(sp, "filter", "watchPaths"), ps)
		checkBranchGlobs(src.Filter.ToBranches, child(sp, "filter", "toBranches"), ps)
		checkBranchGlobs(src.Filter.FromBranches, child(sp, "filter", "fromBranches"), ps)
	}

	// byID maps each service id to the index of its first service.
	byID := make(map[string]int)
	byLower := make(map[string]int) // host names are lowercase
	for j := range env.Services {
		s := &env.Services[j]
		svp := child(ep, "services", j)
		if s.ID != "" {
			if first, dup := byID[s.ID]; dup {
				ps.errorf(child(svp, "id"), "duplicate service id %q in %s: service %d has it too", s.ID, named("environment", env.ID), first)
			} else if first, dup := byLower[strings.ToLower(s.ID)]; dup {
				ps.errorf(child(svp, "id"), "service ids %q and %q (service %d) differ only in case: host names are lowercase, so they would be the same; rename one",
					s.ID, env.Services[first].ID, first)
			} else {
				byID[s.ID] = j
				byLower[strings.ToLower(s.ID)] = j
			}
		}
		checkService(s, svp, ps)
	}
	for j := range env.Services {
		checkDependsOn(env, j, byID, child(ep, "services", j), ps)
	}
	checkDomains(env, ep, ps)
	checkCycles(env, byID, ep, ps)

	if !servicesRejected && !slices.ContainsFunc(env.Services, Service.Runnable) {
		where := ep
		if len(env.Services) > 0 {
			where = child(ep, "services")
		}
		ps.warnf(where, "%s has no service Liftoff runs (%s); deploying it does nothing", named("environment", env.ID), runnableTypeList)
	}
}

func checkService(s *Service, svp string, ps *problems) {
	checkGlobs(s.WatchPaths, child(svp, "watchPaths"), ps)
	if s.Managed() != "" {
		return // made on the operator's server, when it has one
	}
	if (s.Type == "rds" || s.Type == "elasticache") && s.Engine != "" {
		ps.warnf(child(svp, "engine"), "%s is accepted and not deployed: %s", named("service", s.ID), s.NotRunReason())
		return
	}
	if !isRunnableType(s.Type) {
		if hint, ok := notApplicableType(s.Type); ok {
			ps.warnf(child(svp, "type"), "%s has type %q, which is not applicable on Liftoff: it is accepted and not deployed%s", named("service", s.ID), s.Type, hint)
		}
		return
	}
	if why := s.NotRunReason(); why != "" {
		ps.warnf(svp, "%s is accepted and not deployed: %s", named("service", s.ID), why)
		return
	}
	checkJobs(s, svp, ps)
	if escapesRepo(cleanRel(s.BasePath)) {
		ps.errorf(child(svp, "basePath"), "%q leaves the repository; use a directory inside it", s.BasePath)
	}
	checkDocker(s, svp, ps)
	checkCacheDirectories(s, svp, ps)
	if s.Type == TypeStatic {
		// From a Dockerfile it is a path in the image, not in the repository.
		if s.OutputDirectory != "" && s.BuildType != BuildDocker && escapesRepo(path.Join(cleanRel(s.BasePath), cleanRel(s.OutputDirectory))) {
			ps.errorf(child(svp, "outputDirectory"), "%q leaves the repository; use a directory inside it (relative to basePath)", s.OutputDirectory)
		}
	} else {
		if s.OutputDirectory != "" {
			ps.warnf(child(svp, "outputDirectory"), "only applies to static services; ignored")
		}
		if s.SinglePageApp {
			ps.warnf(child(svp, "singlePageApp"), "only applies to static services; ignored")
		}
	}

	targetType := s.Target.Type
	switch {
	case isFlightcontrolTarget(targetType):
		ps.warnf(child(svp, "target", "type"), "target type %q is Flightcontrol's; the service runs on the operator's default target (local, unless Liftoff runs with a default Kubernetes cluster)", targetType)
		targetType = TargetLocal
	case targetType == "":
		targetType = TargetLocal
	}
	if targetType != TargetCommand && s.Target.DeployCommand != "" {
		ps.warnf(child(svp, "target", "deployCommand"), `only used by a target of type "command"; ignored`)
	}
	if targetType != TargetKubernetes {
		for _, f := range []struct{ name, value string }{{"namespace", s.Target.Namespace}, {"context", s.Target.Context},
			{"registry", s.Target.Registry}, {"ingressClass", s.Target.IngressClass}, {"baseImage", s.Target.BaseImage}} {
			if f.value != "" {
				ps.warnf(child(svp, "target", f.name), `only used by a target of type "kubernetes"; ignored`)
			}
		}
	}
}

// jobID is the rule of a job's id: it is a path segment of the API
// (/v1/services/{id}/job/{jobId}/execution), so the same as a service's.
var jobID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// checkJobs checks a scheduler's jobs: ids, schedules and time zones. A
// job with a wrong schedule is an error naming the job, so that a file
// never deploys a job that would silently not run.
func checkJobs(s *Service, svp string, ps *problems) {
	if s.Type != TypeScheduler {
		if len(s.Jobs) > 0 {
			ps.warnf(child(svp, "jobs"), "only applies to scheduler services; ignored")
		}
		return
	}
	if len(s.Jobs) == 0 {
		ps.warnf(svp, `%s is a scheduler without "jobs": it is built and runs nothing`, named("service", s.ID))
		return
	}
	for _, id := range s.JobIDs() {
		j := s.Jobs[id]
		jp := child(svp, "jobs", id)
		if !jobID.MatchString(id) {
			ps.errorf(jp, "job id %q is not valid: use letters, digits, '-' and '_', starting with a letter or digit, at most 63 characters (it is part of the API's paths)", id)
		}
		if j.StartCommand.IsBlank() && !s.RunsAsContainer() && !ps.at(child(jp, "startCommand")) {
			ps.errorf(jp, `job %q of %s has no "startCommand": give the command the job runs in the build (only a job of a service `+
				`built from a Dockerfile or a containerImage may leave it out: its image's CMD then runs)`, id, named("service", s.ID))
		}
		if j.Schedule == "" {
			continue // the schema reported it
		}
		if _, err := ParseSchedule(j.Schedule, j.Timezone); err != nil {
			at := child(jp, "schedule")
			if strings.HasPrefix(err.Error(), "timezone ") {
				at = child(jp, "timezone")
			}
			ps.errorf(at, "job %q of %s: %s", id, named("service", s.ID), err.Error())
		}
	}
}

func checkDependsOn(env *Environment, j int, byID map[string]int, svp string, ps *problems) {
	s := &env.Services[j]
	for k, dep := range s.DependsOn {
		if dep == "" {
			continue // the schema reported it
		}
		at := child(svp, "dependsOn", k)
		d, ok := byID[dep]
		switch {
		case !ok:
			ps.errorf(at, "%s depends on %q, which is not a service of %s", named("service", s.ID), dep, named("environment", env.ID))
		case env.Services[d].Managed() != "":
			// Made before any service of the deployment is built.
		case s.Runnable() && !isRunnableType(env.Services[d].Type) && env.Services[d].Type != "":
			ps.warnf(at, "%q has type %q, which Liftoff does not run; the dependency is ignored", dep, env.Services[d].Type)
		case s.Runnable() && !env.Services[d].Runnable():
			ps.warnf(at, "%q is not deployed (%s); the dependency is ignored", dep, env.Services[d].NotRunReason())
		}
	}
}

// checkCycles reports each dependsOn cycle once, at the dependsOn entry of
// its first service in file order. Past a few cycles, more would not help
// anyone fix the file and would cost quadratic time on a hostile one.
func checkCycles(env *Environment, byID map[string]int, ep string, ps *problems) {
	const (
		unvisited = iota
		onStack
		done
	)
	const maxCycles = 10
	found := 0
	state := make([]int, len(env.Services))
	var stack []int
	reported := make(map[string]bool)
	var visit func(j int)
	visit = func(j int) {
		state[j] = onStack
		stack = append(stack, j)
		for _, dep := range env.Services[j].DependsOn {
			d, ok := byID[dep]
			if !ok {
				continue
			}
			switch state[d] {
			case unvisited:
				visit(d)
			case onStack:
				if found++; found > maxCycles {
					continue
				}
				cycle := slices.Clone(stack[slices.Index(stack, d):])
				// Start at the first service in file order, so that the same
				// cycle found from elsewhere reads the same.
				first := slices.Index(cycle, slices.Min(cycle))
				cycle = append(cycle[first:], cycle[:first]...)
				names := make([]string, 0, len(cycle)+1)
				for _, c := range cycle {
					names = append(names, env.Services[c].ID)
				}
				names = append(names, env.Services[cycle[0]].ID)
				key := strings.Join(names, " -> ")
				if reported[key] {
					continue
				}
				reported[key] = true
				// cycle[0] depends on cycle[1], or on itself.
				next := env.Services[cycle[min(1, len(cycle)-1)]].ID
				k := slices.Index(env.Services[cycle[0]].DependsOn, next)
				ps.errorf(child(ep, "services", cycle[0], "dependsOn", k), "dependsOn cycle: %s", key)
			}
		}
		stack = stack[:len(stack)-1]
		state[j] = done
	}
	for j := range env.Services {
		if state[j] == unvisited {
			visit(j)
		}
	}
}

// checkGlobs checks watch path patterns, as the watch package reads them: a
// leading '!' excludes and a leading './' or '/' is ignored.
func checkGlobs(patterns []string, at string, ps *problems) {
	for k, pat := range patterns {
		if pat == "" {
			continue // the schema reported it
		}
		p := strings.TrimPrefix(pat, "!")
		if rest, ok := strings.CutPrefix(p, "./"); ok {
			p = rest
		} else {
			p = strings.TrimPrefix(p, "/")
		}
		switch {
		case p == "":
			ps.errorf(child(at, k), "%q is not a valid glob pattern: nothing is left after the leading '!', './' or '/'", pat)
		case !doublestar.ValidatePattern(p):
			ps.errorf(child(at, k), `%q is not a valid glob pattern (look for an unclosed "[" or "{", or a trailing "\")`, pat)
		}
	}
}

// checkBranchGlobs warns about branch patterns that are not valid globs:
// they match no branch (a pull request is then ignored with the pattern
// named), which the file's author would rather hear now. A warning, not an
// error: such a file was always accepted.
func checkBranchGlobs(patterns []string, at string, ps *problems) {
	for k, pat := range patterns {
		if pat != "" && !ValidBranchPattern(pat) { // the schema reports ""
			ps.warnf(child(at, k), `%q is not a valid glob pattern (look for an unclosed "[" or "{", or a trailing "\"): it matches no branch`, pat)
		}
	}
}

// ValidBranchPattern reports whether p is a branch pattern of a filter
// that can match: a doublestar glob of the branch name, which may be
// written as a full ref ("refs/heads/main").
func ValidBranchPattern(p string) bool {
	p = strings.TrimPrefix(p, "refs/heads/")
	return p != "" && doublestar.ValidatePattern(p)
}

// named refers to an environment or a service in a message, by id when it
// has one.
func named(what, id string) string {
	if id == "" {
		return "this " + what
	}
	return fmt.Sprintf("%s %q", what, id)
}

// cleanRel cleans a path relative to the repository root: a leading '/' or
// './' is ignored and "" is ".".
func cleanRel(p string) string {
	return path.Clean(strings.TrimLeft(p, "/"))
}

// escapesRepo reports whether a cleaned relative path leaves its root.
func escapesRepo(clean string) bool {
	return clean == ".." || strings.HasPrefix(clean, "../")
}

// notApplicableType reports whether t is a Flightcontrol service type that
// Liftoff accepts without running it, with a hint for the warning.
func notApplicableType(t string) (hint string, ok bool) {
	switch t {
	case "rds":
		return ` (with "engine": "postgres" Liftoff makes it a database on the operator's PostgreSQL server)`, true
	case "network-server", "network-server-private", "private-network-server",
		"lambda", "lambda-function", "elasticache", "redis", "s3":
		return "", true
	}
	return "", false
}

// isFlightcontrolTarget reports whether t is a Flightcontrol target type,
// which Liftoff reads as TargetLocal.
func isFlightcontrolTarget(t string) bool {
	return t == "fargate" || t == "ecs-ec2"
}

// isChosenTarget reports whether t names one of Liftoff's targets, rather
// than leaving the choice to the operator's default.
func isChosenTarget(t string) bool {
	return t != "" && !isFlightcontrolTarget(t)
}

// notApplicableFields are the Flightcontrol settings of objects of kind k
// that only mean something on AWS: accepted with a warning, and known to
// the "did you mean" of a misspelt field.
func notApplicableFields(k objectKind) []string {
	switch k {
	case kindEnvironment:
		return []string{"region", "vpc", "integrations", "experimental"}
	case kindService:
		return []string{"region", "cpu", "memory", "gpu", "storage", "vpc",
			"maxInstances", "autoscaling", "ci",
			"cloudfrontAutoCacheInvalidation", "enableCloudfrontSwr",
			"cloudfrontCachePolicyName", "originShieldEnabled", "sticky",
			"stickySessionsEnabled", "stickySessionsDurationSecs", "privileged",
			"instanceSize", "logging", "sidecars", "dockerLabels",
			"containerInsights", "permissions", "integrations", "experimental"}
	case kindJob:
		return []string{"cpu", "memory", "gpu", "containerImage", "storage", "ephemeralStorage"}
	}
	return nil
}

// isNotApplicableField reports whether name is one of notApplicableFields(k).
func isNotApplicableField(k objectKind, name string) bool {
	return slices.Contains(notApplicableFields(k), name)
}

// readFlightcontrolTypes reads Flightcontrol's names of the types Liftoff
// runs as those types, before anything else looks at them.
func (f *File) readFlightcontrolTypes() {
	for i := range f.Environments {
		env := &f.Environments[i]
		for j := range env.Services {
			s := &env.Services[j]
			s.Type = runnableName(s.Type)
			// A service that chose no target of its own (or a
			// Flightcontrol one) takes its environment's.
			if env.Target != nil && isChosenTarget(env.Target.Type) && !isChosenTarget(s.Target.Type) {
				s.Target = *env.Target
			}
		}
	}
}

// runnableName is the type Liftoff runs for a Flightcontrol type name:
// fargate is web, fargate-worker is worker, fargate-scheduler is
// scheduler; other types are themselves.
func runnableName(t string) string {
	switch t {
	case typeFargate:
		return TypeWeb
	case typeFargateWorker:
		return TypeWorker
	case typeFargateScheduler:
		return TypeScheduler
	}
	return t
}

// applyDefaults fills in what the file left out; see the field comments.
func (f *File) applyDefaults() {
	for i := range f.Environments {
		env := &f.Environments[i]
		if env.Name == "" {
			env.Name = env.ID
		}
		if env.Source.Trigger == "" {
			env.Source.Trigger = TriggerPush
		}
		if env.Source.PR {
			env.Source.Branch = ""
		} else {
			env.PreviewDomain = ""
		}
		for j := range env.Services {
			s := &env.Services[j]
			s.applyDefaults()
			// The warnings said so: a domain only leads to a web or
			// static service, and never to a preview.
			if !s.ServesDomain() || env.IsPreview() {
				s.Domain = ""
			}
		}
	}
}

// applyDefaults fills in what the file left out; see the field comments. It
// is idempotent.
func (s *Service) applyDefaults() {
	if s.Name == "" {
		s.Name = s.ID
	}
	s.BasePath = cleanRel(s.BasePath)
	s.Domain = strings.ToLower(strings.TrimSuffix(s.Domain, "."))
	if s.Port == 0 {
		s.Port = DefaultPort
	}
	if s.HealthCheckPath == "" {
		s.HealthCheckPath = DefaultHealthCheckPath
	}
	if s.HealthCheckTimeoutSecs == 0 {
		s.HealthCheckTimeoutSecs = DefaultHealthCheckTimeoutSecs
	}
	if s.HealthCheckIntervalSecs == 0 {
		s.HealthCheckIntervalSecs = DefaultHealthCheckIntervalSecs
	}
	if s.VersionHistoryCount == 0 {
		s.VersionHistoryCount = DefaultVersionHistoryCount
	}
	if s.BuildTimeoutSecs == 0 {
		s.BuildTimeoutSecs = DefaultBuildTimeoutSecs
	}
	for i, d := range s.CacheDirectories {
		s.CacheDirectories[i] = path.Clean(d)
	}
	if !isChosenTarget(s.Target.Type) {
		s.Target.Type = "" // the operator's default
	}
	if s.BuildType == BuildDocker {
		if s.DockerfilePath == "" {
			s.DockerfilePath = DefaultDockerfilePath
		}
		if s.DockerContext == "" {
			s.DockerContext = DefaultDockerContext
		}
		s.DockerfilePath, s.DockerContext = cleanRel(s.DockerfilePath), cleanRel(s.DockerContext)
	}
	if s.Type == TypeStatic {
		if s.OutputDirectory == "" {
			s.OutputDirectory = DefaultOutputDirectory
		}
		if s.BuildType == BuildDocker {
			s.OutputDirectory = path.Clean(s.OutputDirectory) // in the image: it may be absolute
		} else {
			s.OutputDirectory = cleanRel(s.OutputDirectory)
		}
	}
}

// checkCacheDirectories checks cacheDirectories: paths relative to
// basePath that stay in the repository, are not the whole of basePath nor
// listed twice; a service that runs no build commands has no use for them.
func checkCacheDirectories(s *Service, svp string, ps *problems) {
	at := child(svp, "cacheDirectories")
	if len(s.CacheDirectories) > 0 && (s.BuildType == BuildDocker || s.ContainerImage != nil) {
		ps.warnf(at, "only applies to a service built by its commands: a docker build keeps the cache mounts of its Dockerfile's RUN --mount=type=cache instead, a prebuilt image builds nothing; ignored")
		return
	}
	seen := map[string]int{}
	for k, d := range s.CacheDirectories {
		if d == "" {
			continue // the schema reported it
		}
		clean := path.Clean(d)
		switch {
		case path.IsAbs(d):
			ps.errorf(child(at, k), "%q is absolute; use a path relative to basePath (%q), such as \"node_modules\"", d, cleanRel(s.BasePath))
			continue
		case clean == ".":
			ps.errorf(child(at, k), "%q is the whole of basePath, which holds the service's sources; name a directory inside it, such as \"node_modules\"", d)
			continue
		case escapesRepo(path.Join(cleanRel(s.BasePath), clean)):
			ps.errorf(child(at, k), "%q leaves the repository; use a directory inside it (relative to basePath)", d)
			continue
		}
		if first, dup := seen[clean]; dup {
			ps.warnf(child(at, k), "%q is listed already (cacheDirectories[%d]); ignored", d, first)
			continue
		}
		seen[clean] = k
	}
	for k, d := range s.CacheDirectories {
		clean := path.Clean(d)
		for other := range seen {
			if other != clean && strings.HasPrefix(clean, other+"/") && seen[clean] == k {
				ps.warnf(child(at, k), "%q is inside %q, which is cached whole; ignored", d, other)
			}
		}
	}
}

// checkDocker checks the fields of a docker build, and warns about them on
// a service that builds no Dockerfile.
func checkDocker(s *Service, svp string, ps *problems) {
	fields := []struct{ name, value string }{{"dockerfilePath", s.DockerfilePath}, {"dockerContext", s.DockerContext}, {"dockerTarget", s.DockerTarget}}
	if s.BuildType != BuildDocker {
		for _, f := range fields {
			if f.value != "" {
				ps.warnf(child(svp, f.name), "only applies to a service with \"buildType\": \"docker\"; ignored")
			}
		}
		if s.InjectEnvVariablesInDockerfile != nil {
			ps.warnf(child(svp, "injectEnvVariablesInDockerfile"), "only applies to a service with \"buildType\": \"docker\"; ignored")
		}
		return
	}
	for _, f := range fields[:2] {
		if f.value != "" && escapesRepo(cleanRel(f.value)) {
			ps.errorf(child(svp, f.name), "%q leaves the repository; use a path inside it (relative to the repository root)", f.value)
		}
	}
	for _, f := range []struct{ name, value string }{{"installCommand", s.InstallCommand}, {"buildCommand", s.BuildCommand}, {"postBuildCommand", s.PostBuildCommand}} {
		if f.value != "" {
			ps.warnf(child(svp, f.name), "a docker build runs its Dockerfile instead; ignored")
		}
	}
}
