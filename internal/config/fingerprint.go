package config

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// fingerprintVersion changes whenever what Fingerprint covers changes, so
// that every service redeploys once rather than some being missed.
const fingerprintVersion = "liftoff.service.v1"

// Fingerprint returns a stable sha256 (hex) of what the service builds and
// how it runs, so that the engine can tell that a service's own
// configuration changed since its last deployment (docs/configuration.md
// lists what counts). root and
// env are the file's and the environment's envVariables: the merged
// variables are part of the fingerprint.
//
// It is computed from the model with defaults applied, so key order,
// whitespace and spelling out a default make no difference. Fields that do
// not change the build or the running release are left out: name,
// watchPaths, dependsOn, versionHistoryCount, cacheDirectories, and every
// setting Liftoff ignores.
func (s Service) Fingerprint(root, env EnvVars) string {
	s.applyDefaults()
	if s.Target.Type != TargetCommand {
		s.Target.DeployCommand = "" // ignored
	}
	var kube *kubePrint
	if s.Target.IsKubernetes() {
		replicas := max(s.MinInstances, 1)
		kube = &kubePrint{Namespace: s.Target.Namespace, Context: s.Target.Context, Registry: s.Target.Registry,
			IngressClass: s.Target.IngressClass, BaseImage: s.Target.BaseImage, Replicas: replicas}
	}
	if s.Type != TypeStatic {
		s.OutputDirectory, s.SinglePageApp = "", false // ignored
	}
	docker := dockerPrint{}
	if s.BuildType == BuildDocker {
		docker = dockerPrint{BuildType: s.BuildType, DockerfilePath: s.DockerfilePath, DockerContext: s.DockerContext,
			DockerTarget: s.DockerTarget, SecretsNotArgs: !s.InjectsVariablesAsBuildArgs()}
	}
	var jobs map[string]Job
	if s.Type == TypeScheduler && len(s.Jobs) > 0 {
		jobs = s.Jobs
	}
	canonical := struct {
		Version                string            `json:"v"`
		Type                   string            `json:"type"`
		BasePath               string            `json:"basePath"`
		InstallCommand         string            `json:"installCommand"`
		BuildCommand           string            `json:"buildCommand"`
		PostBuildCommand       string            `json:"postBuildCommand"`
		PreDeployCommand       any               `json:"preDeployCommand"`
		StartCommand           any               `json:"startCommand"`
		PostDeployCommand      any               `json:"postDeployCommand"`
		Port                   int               `json:"port"`
		HealthCheckPath        string            `json:"healthCheckPath"`
		HealthCheckTimeoutSecs int               `json:"healthCheckTimeoutSecs"`
		OutputDirectory        string            `json:"outputDirectory"`
		SinglePageApp          bool              `json:"singlePageApp"`
		BuildTimeoutSecs       int               `json:"buildTimeoutSecs"`
		TargetType             string            `json:"targetType"`
		DeployCommand          string            `json:"deployCommand"`
		Env                    map[string]string `json:"env"`
		// Only when set, so that fingerprints from before it stay.
		NoVariablesInBuild bool           `json:"noVariablesInBuild,omitempty"`
		Jobs               map[string]Job `json:"jobs,omitempty"` // absent unless a scheduler has jobs: older fingerprints stand
		dockerPrint
		ContainerImage *ContainerImage `json:"containerImage,omitempty"`
		// Only when not the default, so that older fingerprints stand.
		HealthCheckIntervalSecs int `json:"healthCheckIntervalSecs,omitempty"`
		// Only for a kubernetes target, so that older fingerprints stand.
		Kube *kubePrint `json:"kube,omitempty"`
	}{
		Version:                fingerprintVersion,
		Type:                   s.Type,
		BasePath:               s.BasePath,
		InstallCommand:         s.InstallCommand,
		BuildCommand:           s.BuildCommand,
		PostBuildCommand:       s.PostBuildCommand,
		PreDeployCommand:       s.PreDeployCommand.fingerprintValue(),
		StartCommand:           s.StartCommand.fingerprintValue(),
		PostDeployCommand:      s.PostDeployCommand.fingerprintValue(),
		Port:                   s.Port,
		HealthCheckPath:        s.HealthCheckPath,
		HealthCheckTimeoutSecs: s.HealthCheckTimeoutSecs,
		OutputDirectory:        s.OutputDirectory,
		SinglePageApp:          s.SinglePageApp,
		BuildTimeoutSecs:       s.BuildTimeoutSecs,
		TargetType:             cmp.Or(s.Target.Type, TargetLocal), // as before the operator's default existed
		DeployCommand:          s.Target.DeployCommand,
		Env:                    MergeEnv(root, env, s.EnvVariables),
		NoVariablesInBuild:     !s.BuildGetsVariables(),
		Jobs:                   jobs,
		dockerPrint:            docker,
		ContainerImage:         s.ContainerImage,
		Kube:                   kube,
	}
	if s.HealthCheckIntervalSecs != DefaultHealthCheckIntervalSecs {
		canonical.HealthCheckIntervalSecs = s.HealthCheckIntervalSecs
	}
	// Struct fields marshal in declaration order and map keys sorted: the
	// encoding is canonical.
	b, err := json.Marshal(canonical)
	if err != nil {
		panic("config: marshal fingerprint: " + err.Error()) // strings, string slices, ints and a map of strings cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// dockerPrint is what a docker build adds to a fingerprint: every field
// empty, and so absent, for other services, whose fingerprints stay.
type dockerPrint struct {
	BuildType      string `json:"buildType,omitempty"`
	DockerfilePath string `json:"dockerfilePath,omitempty"`
	DockerContext  string `json:"dockerContext,omitempty"`
	DockerTarget   string `json:"dockerTarget,omitempty"`
	SecretsNotArgs bool   `json:"secretsNotArgs,omitempty"`
}

// kubePrint is what a kubernetes target adds to a fingerprint: where the
// release goes and how many instances run.
type kubePrint struct {
	Namespace    string `json:"namespace,omitempty"`
	Context      string `json:"context,omitempty"`
	Registry     string `json:"registry,omitempty"`
	IngressClass string `json:"ingressClass,omitempty"`
	BaseImage    string `json:"baseImage,omitempty"`
	Replicas     int    `json:"replicas"`
}
