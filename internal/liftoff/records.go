package liftoff

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
)

// Project is a git repository plus the path of its config file inside it.
type Project struct {
	ID   string
	Name string
	// Slug is the label the project's host names carry
	// (<service>.<environment>.<slug>.localhost): unique among live
	// projects. Empty only for a project created before slugs existed,
	// until the next start gives it one.
	Slug          string
	RepoURL       string // without credentials (RepoCredential)
	ConfigPath    string // the file the config was read from: liftoff.json or flightcontrol.json
	DefaultBranch string // the repository's default branch when the config was last read
	ConfigCommit  string // the commit the config was last read from
	// GitHubRepository ("owner/name") links the project to a GitHub
	// repository for webhooks when RepoURL does not say it; may be empty.
	GitHubRepository string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// RepoCredential is what authenticates Liftoff to a project's repository:
// the user information its http(s) URL was given with, percent-encoded
// (user[:password]), kept apart from Project.RepoURL so that no answer, log
// or deployment row shows it. The store holds it sealed (package project
// seals and opens it; one stored before sealing existed is plain until the
// next start seals it). Only the code that runs git reads it
// (GetRepoCredential). Its String, GoString and LogValue are redacted.
type RepoCredential struct {
	Userinfo string
}

// RepoCredentialAAD binds a project's sealed credential to the project.
func RepoCredentialAAD(projectID string) []byte {
	return []byte("liftoff repo credential\x00" + projectID)
}

// IsZero reports whether there is no credential.
func (c RepoCredential) IsZero() bool { return c.Userinfo == "" }

// String hides the credential from fmt's %v and %s.
func (c RepoCredential) String() string {
	if c.IsZero() {
		return "none"
	}
	return "[REDACTED]"
}

// GoString hides the credential from fmt's %#v.
func (c RepoCredential) GoString() string { return "liftoff.RepoCredential{" + c.String() + "}" }

// LogValue hides the credential from slog.
func (c RepoCredential) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Environment is an entry of the config's environments[]. Environments and
// preview environments share one integer id space.
type Environment struct {
	ID        int64
	ProjectID string
	GivenID   string // the config's id, e.g. "production"
	Name      string
	IsPreview bool               // source.pr: true
	Branch    string             // source.branch; empty for preview environments
	Config    config.Environment // the environment's entry of the config at the last sync
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt time.Time // set when the environment left the config
}

// Deleted reports whether the environment left the config.
func (e Environment) Deleted() bool { return !e.DeletedAt.IsZero() }

// Service is a service of an environment.
type Service struct {
	ID            string
	EnvironmentID int64
	GivenID       string // the config's id, e.g. "api"
	Name          string
	Type          string
	Config        config.Service // the service's entry of the config at the last sync
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// APIKey authenticates /v1 and the CLI. The key itself is never stored.
type APIKey struct {
	ID   string
	Name string
	Hash string // hex SHA-256 of the key
	// Scope is what the key may do: "admin", "deploy" or "read" (package
	// apikey says what each means). Keys made before scopes existed are
	// "admin".
	Scope string
	// EnvironmentIDs are the environments a deploy key acts on, ascending;
	// empty for the other scopes.
	EnvironmentIDs []int64
	CreatedAt      time.Time
}

// User is a person who signs in to the dashboard. The password is never
// stored, only its hash.
type User struct {
	ID string
	// Email is how the user signs in: lowercase, unique among users.
	Email string
	// PasswordHash is the password's argon2id hash in the PHC string
	// format ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
	PasswordHash string
	// Role is what the user may do: "admin", "deploy" or "read", with the
	// powers of the API key scopes of the same names (package apikey).
	Role string
	// EnvironmentIDs are the environments a deploy user acts on,
	// ascending; empty for the other roles.
	EnvironmentIDs []int64
	CreatedAt      time.Time
}

// Session is a browser signed in to the dashboard as a user. Its token is
// never stored, only its hash.
type Session struct {
	Hash       string // hex SHA-256 of the token
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time // when its expiry was last pushed forward
	ExpiresAt  time.Time
	User       User // filled by GetSession
}

// Hook is a deploy hook of an environment or preview environment.
type Hook struct {
	ID                 string
	EnvironmentID      int64
	Name               string
	SecretHash         string // hex SHA-256 of the secret
	PreviousSecretHash string // the secret before the last rotation, valid until PreviousExpiresAt
	PreviousExpiresAt  time.Time
	Paused             bool
	UseCount           int64
	LastUsedAt         time.Time
	LastCallerAddress  string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// HostClaim says which project a host name belongs to. Host names are
// claimed first come, first served, and kept: the short name of a service
// (<service>.<environment>.localhost) stays with the first project that
// deployed there.
type HostClaim struct {
	Host          string // lowercase, e.g. "api.production.localhost"
	ProjectID     string
	EnvironmentID int64 // the instance that claimed it, released with it
	PRNumber      int
	// ServiceID is the given id of the service a custom domain leads to;
	// "" for .localhost names, whose service is in the name.
	ServiceID string
	CreatedAt time.Time
}

// HookCall is one recorded call of a deploy hook.
type HookCall struct {
	ID           int64
	HookID       string
	At           time.Time
	Address      string // the caller's address
	Status       int    // the HTTP status answered
	Outcome      string // what happened: "queued", "joined", or the error
	DeploymentID string // empty when none
}

// Status is the status of a deployment or service deployment, spelled as the
// API spells it.
type Status string

// Statuses, as docs/deployments.md (Statuses) describes them.
const (
	StatusPending           Status = "PENDING"
	StatusInProgress        Status = "INPROGRESS"
	StatusPendingDependency Status = "PENDING_DEPENDENCY"
	StatusBuilding          Status = "BUILDING"
	StatusDeploying         Status = "DEPLOYING"
	StatusSuccess           Status = "SUCCESS"
	StatusNoChange          Status = "NO_CHANGE"
	StatusBuildError        Status = "BUILD_ERROR"
	StatusDeployError       Status = "DEPLOY_ERROR"
	StatusError             Status = "ERROR"
	StatusCancelled         Status = "CANCELLED"
)

// Statuses lists every status, in lifecycle order.
func Statuses() []Status {
	return []Status{StatusPending, StatusInProgress, StatusPendingDependency, StatusBuilding,
		StatusDeploying, StatusSuccess, StatusNoChange, StatusBuildError, StatusDeployError,
		StatusError, StatusCancelled}
}

// Final reports whether s ends a deployment.
func (s Status) Final() bool {
	switch s {
	case StatusSuccess, StatusNoChange, StatusBuildError, StatusDeployError, StatusError, StatusCancelled:
		return true
	}
	return false
}

// ErrorEntry is one entry of a deployment's error list: the status it
// explains and a sentence a person can act on.
type ErrorEntry struct {
	Status  Status
	Message string
}

// Trigger types.
const (
	TriggerDeployHook = "deploy_hook"
	TriggerAPI        = "api"
	TriggerRedeploy   = "redeploy"
	TriggerGitHub     = "github"
)

// PreviewInstance is the preview of one pull request in a preview
// environment.
type PreviewInstance struct {
	EnvironmentID  int64
	PRNumber       int
	HeadBranch     string    // the PR's branch, when known (GitHub events)
	CreatedAt      time.Time // when this incarnation started; its watch-path history starts here
	LastDeployedAt time.Time // for previewTtlHours
	TeardownAt     time.Time // a teardown is scheduled for then (a PR closed without merge)
	DeletedAt      time.Time // torn down
	CleanedAt      time.Time // its releases and builds were removed
}

// Deleted reports whether the instance was torn down.
func (p PreviewInstance) Deleted() bool { return !p.DeletedAt.IsZero() }

// Deployment is one run of the engine for an environment or preview instance.
type Deployment struct {
	ID                 string
	ProjectID          string
	EnvironmentID      int64
	EnvironmentGivenID string // read from the environment
	IsPreview          bool   // read from the environment
	PRNumber           int    // 0 for a normal environment
	RepoURL            string
	RequestedCommit    string // the commit asked for (hook `commit` or the preview SHA); empty means the branch head
	GitCommit          string // the resolved commit; empty until resolved
	GitBranch          string
	Force              bool
	// ClearCache: the services build from empty build caches (and docker
	// builds with --no-cache), and save new ones.
	ClearCache  bool
	TriggerType string
	HookID      string
	HookName    string
	Status      Status
	Errors      []ErrorEntry
	CreatedAt   time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	Services    []ServiceDeployment // filled by GetDeployment
	// Config is the config file as read at GitCommit, once read.
	Config string
	// RedeployOf is the deployment whose builds a redeploy releases again.
	RedeployOf string
	// CancelRequested is set when a running deployment was asked to stop.
	CancelRequested bool
	// TriggerDetail says more about what started it (a GitHub event, an API
	// key); zero for hooks.
	TriggerDetail TriggerDetail
}

// Running reports whether s is the status of a deployment that a worker runs.
func (s Status) Running() bool {
	return s == StatusInProgress || s == StatusBuilding || s == StatusDeploying
}

// ServiceDeployment is the part of a deployment for one service.
type ServiceDeployment struct {
	ID             string
	DeploymentID   string
	ServiceID      string
	ServiceGivenID string
	ServiceName    string
	ServiceType    string
	ServiceDomain  string
	Status         Status
	Reason         string
	Errors         []ErrorEntry
	StartedAt      time.Time
	FinishedAt     time.Time
	// Where and what it deployed.
	EnvironmentID int64
	PRNumber      int
	GitCommit     string
	// Fingerprint of the service's configuration (config.Service.Fingerprint):
	// a change since the last success deploys the service.
	Fingerprint string
	// Config is the service's entry of the config at GitCommit.
	Config config.Service
	// BuildDir is where its build is kept; empty when it built nothing or
	// the build was pruned.
	BuildDir string
	// Image is the container image its release runs (a docker build's
	// tag, or a prebuilt image's repository:tag); empty for a service that
	// runs no container.
	Image     string
	Position  int
	CreatedAt time.Time
}

// LogLine is one line of a deployment's output.
type LogLine struct {
	ID                  int64
	DeploymentID        string
	ServiceDeploymentID string // empty for the deployment's own lines
	At                  time.Time
	Text                string
}

// Variable is an environment variable set through the API or the CLI,
// beside the config file's. It applies to a whole project
// (EnvironmentID 0), to one environment (ServiceID ""), or to one service
// of an environment (ServiceID its given id).
type Variable struct {
	ProjectID     string
	EnvironmentID int64
	ServiceID     string
	Name          string
	Kind          VariableKind
	// Value is the value of a plainText variable, the secret's name of a
	// fromParameterStore or fromSecretsManager one, the JSON {"id",
	// "value"} of a fromService one; empty for a secret.
	Value string
	// KeyID and Sealed hold a secret's value, encrypted: only package
	// variables opens it.
	KeyID     string
	Sealed    []byte
	UpdatedAt time.Time
}

// VariableKind says what a Variable's value is; the names are those of
// Flightcontrol's env-variables API.
type VariableKind string

// The kinds of variable.
const (
	VariablePlainText          VariableKind = "plainText"
	VariableSecret             VariableKind = "secret"
	VariableFromParameterStore VariableKind = "fromParameterStore"
	VariableFromSecretsManager VariableKind = "fromSecretsManager"
	VariableFromService        VariableKind = "fromService"
)

// Secret is a named secret of a project (EnvironmentID 0) or of one of its
// environments, which {"fromParameterStore": name} and
// {"fromSecretsManager": name} read. Its value is sealed.
type Secret struct {
	ProjectID     string
	EnvironmentID int64
	Name          string
	KeyID         string
	Sealed        []byte
	UpdatedAt     time.Time
}

// JobStatus is the status of a job execution, spelled as the API spells
// it (Flightcontrol's, with TIMED_OUT and SKIPPED added).
type JobStatus string

// Job execution statuses.
const (
	// JobInitializing: asked for (a manual run) and not started yet.
	JobInitializing JobStatus = "INITIALIZING"
	// JobInProgress: its command runs, on the node that holds its lease.
	JobInProgress JobStatus = "IN_PROGRESS"
	// JobCompleted: its command exited 0.
	JobCompleted JobStatus = "COMPLETED"
	// JobFailed: its command exited with another code, or could not
	// start, or its node stopped (Error says which).
	JobFailed JobStatus = "FAILED"
	// JobTimedOut: it ran past its timeout and its processes were killed.
	JobTimedOut JobStatus = "TIMED_OUT"
	// JobSkipped: its time came while the job's previous run was still
	// going; it did not run.
	JobSkipped JobStatus = "SKIPPED"
)

// Final reports whether s ends a job execution.
func (s JobStatus) Final() bool {
	switch s {
	case JobCompleted, JobFailed, JobTimedOut, JobSkipped:
		return true
	}
	return false
}

// Job execution triggers.
const (
	JobTriggerSchedule = "schedule" // its schedule's time came
	JobTriggerManual   = "manual"   // asked for through the API
)

// JobExecution is one run (or skipped time) of a scheduler service's job.
type JobExecution struct {
	ID            string
	ProjectID     string
	EnvironmentID int64
	PRNumber      int
	ServiceID     string
	JobID         string // the job's givenId in the config
	// ServiceDeploymentID is the release the job runs in: the service's
	// current release when it was asked for or due.
	ServiceDeploymentID string
	Trigger             string // JobTriggerSchedule or JobTriggerManual
	// ScheduledAt is the schedule's time it runs for; zero for a manual run.
	ScheduledAt time.Time
	// Command is what it runs: the job's startCommand, or the one the
	// manual request gave instead.
	Command    config.Command
	Status     JobStatus
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	// ExitCode is the command's exit status once it exited; nil before,
	// and when it never started or was killed (timed out, interrupted).
	ExitCode *int
	// Error says why a run FAILED, TIMED_OUT or was SKIPPED; "" otherwise.
	Error string
	// LeaseOwner is the node running it while IN_PROGRESS.
	LeaseOwner string
}

// Runtime states of a service instance's release (ServiceState.State), as
// the local target's supervision records them.
const (
	ServiceRunning    = "running"
	ServiceRestarting = "restarting"
	ServiceCrashed    = "crashed"
	ServiceStopped    = "stopped"
	// ServiceStarting: a cluster's pods, not all ready yet.
	ServiceStarting = "starting"
	// ServiceUnknown: the cluster that runs it did not answer.
	ServiceUnknown = "unknown"
)

// ServiceState is where the release of a service instance (a service, or
// one pull request's copy of a preview service) stands, as the node
// running it last recorded it.
type ServiceState struct {
	ServiceID string
	PRNumber  int
	// ReleaseID is the serving release: the service deployment that built it.
	ReleaseID string
	State     string // ServiceRunning, ...
	// Restarts counts the restarts of the release so far.
	Restarts int
	// NodeID is the node that runs the release (and has its log file).
	NodeID    string
	UpdatedAt time.Time
}

// ServiceRestart is the record of one end of a release's process that was
// not Liftoff's doing: it exited, or failed its health check.
type ServiceRestart struct {
	ID        int64
	ServiceID string
	PRNumber  int
	ReleaseID string
	At        time.Time
	// HealthCheck: it stopped answering its health check; otherwise it
	// exited.
	HealthCheck bool
	// ExitCode is nil when a signal ended it, or Liftoff after a failed
	// health check.
	ExitCode *int
	Reason   string
	// LastLines are its last lines of output, scrubbed of secrets.
	LastLines []string
	// State is what it left the release in: ServiceRestarting or
	// ServiceCrashed.
	State string
}

// ProtectionMode says who may open an environment's web and static
// services through Liftoff's proxy.
type ProtectionMode string

// The protection modes. ProtectionDefault is the mode of an environment
// nobody set one for: protected for a preview environment, public for
// the others.
const (
	ProtectionDefault   ProtectionMode = ""
	ProtectionPublic    ProtectionMode = "public"
	ProtectionProtected ProtectionMode = "protected"
)

// Effective is the mode that applies to an environment set to m:
// m, or the default of its kind.
func (m ProtectionMode) Effective(isPreview bool) ProtectionMode {
	switch {
	case m != ProtectionDefault:
		return m
	case isPreview:
		return ProtectionProtected
	}
	return ProtectionPublic
}

// EnvironmentProtection is the protection set for an environment: its
// mode and its shared password. It is kept in the store, never in the
// config file, so that a pull request cannot lift its own preview's.
type EnvironmentProtection struct {
	EnvironmentID int64
	// Mode is ProtectionDefault until someone sets one.
	Mode ProtectionMode
	// PasswordKeyID and PasswordSealed hold the shared password, sealed
	// (ProtectionPasswordAAD); empty when there is none. Only package
	// protect opens it.
	PasswordKeyID  string
	PasswordSealed []byte
	UpdatedAt      time.Time
}

// HasPassword reports whether a shared password is set.
func (p EnvironmentProtection) HasPassword() bool { return p.PasswordKeyID != "" }

// ProtectionPasswordAAD binds an environment's sealed password to the
// environment.
func ProtectionPasswordAAD(environmentID int64) []byte {
	return []byte("liftoff protection password\x00" + strconv.FormatInt(environmentID, 10))
}

// CertificateItem is one value of the storage of TLS certificates that
// every replica shares (package certstore, behind certmagic): a
// certificate, its private key, an ACME account, an OCSP staple. Key is a
// slash-separated path (certificates/<issuer>/<domain>/<domain>.key); the
// value is sealed with the secret keys and bound to Key
// (CertificateItemAAD), so the store never sees it in clear.
type CertificateItem struct {
	Key    string
	KeyID  string
	Sealed []byte
	// Size is the length of the value in clear.
	Size      int64
	UpdatedAt time.Time
}

// CertificateItemAAD binds a sealed certificate item to its key: moved to
// another key, it no longer opens.
func CertificateItemAAD(key string) []byte {
	return []byte("liftoff certificate item\x00" + key)
}

// ResourceState is where a managed resource stands.
type ResourceState string

const (
	// ResourceCreating: Liftoff is making it on the server, or was when
	// it stopped; what exists of it there is removed before it is made
	// again.
	ResourceCreating ResourceState = "creating"
	// ResourceAvailable: it exists on the server and its services use it.
	ResourceAvailable ResourceState = "available"
	// ResourceDeleting: it is being dropped from the server (a preview
	// torn down, or an operator's delete).
	ResourceDeleting ResourceState = "deleting"
)

// ManagedResource is a database (and its role) of the operator's managed
// PostgreSQL server, or a user (and its key prefix) of the managed Redis
// server, that Liftoff made for one service of one environment instance:
// an rds or elasticache service of the config. Its password is sealed with
// the secret keys and bound to the resource (ManagedResourceAAD), so the
// store never sees it in clear.
type ManagedResource struct {
	ID            string
	ProjectID     string
	EnvironmentID int64
	PRNumber      int    // 0 for a normal environment
	ServiceID     string // the service's given id ("db")
	// Kind is config.ManagedPostgres or config.ManagedRedis.
	Kind string
	// Name is the database and its role, or the Redis user and its key
	// prefix: unique per kind across every project.
	Name      string
	KeyID     string
	Sealed    []byte
	State     ResourceState
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ManagedResourceAAD binds a resource's sealed password to its kind and
// name: moved to another resource, it no longer opens.
func ManagedResourceAAD(kind, name string) []byte {
	return []byte("liftoff managed resource\x00" + kind + "\x00" + name)
}
