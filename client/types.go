package client

import (
	"encoding/json"
	"fmt"
	"time"
)

// The wire types of the API. The server renders these same types, so the
// client and the server cannot disagree on a field. Nullable fields are
// pointers; timestamps are RFC 3339 strings with milliseconds, in UTC.

// EnvironmentSummary is an environment as a project lists it.
type EnvironmentSummary struct {
	EnvironmentID        int64   `json:"environmentId"`
	GivenID              string  `json:"givenId"`
	Name                 string  `json:"name"`
	IsPreviewEnvironment bool    `json:"isPreviewEnvironment"`
	Branch               *string `json:"branch"`
}

// Project is a git repository with its environments.
type Project struct {
	ProjectID string `json:"projectId"`
	Name      string `json:"name"`
	// Slug is the label of the project's host names:
	// <service>.<environment>.<slug>.localhost.
	Slug          string `json:"slug"`
	RepoURL       string `json:"repoUrl"`
	ConfigPath    string `json:"configPath"`
	DefaultBranch string `json:"defaultBranch"`
	ConfigCommit  string `json:"configCommit"`
	// GitHubRepository ("owner/name") links the project to GitHub webhooks
	// when repoUrl does not say it.
	GitHubRepository *string              `json:"githubRepository"`
	CreatedAt        string               `json:"createdAt"`
	UpdatedAt        string               `json:"updatedAt"`
	Environments     []EnvironmentSummary `json:"environments"`
	// Warnings lists config fields and service types that do not apply on
	// Liftoff; set by create and sync.
	Warnings []string `json:"warnings,omitempty"`
}

// Service is a service of an environment.
type Service struct {
	// ServiceID is "" for a service Liftoff does not deploy: it has no
	// record of its own.
	ServiceID      string `json:"serviceId"`
	ServiceGivenID string `json:"serviceGivenId"`
	ServiceName    string `json:"serviceName"`
	Type           string `json:"type"`
	// Deployed is false for a service of a type Liftoff does not run (rds,
	// elasticache, s3 ...); Reason then says why.
	Deployed bool    `json:"deployed"`
	Reason   *string `json:"reason"`
	// State is the runtime state of the service's release in the
	// environment: running, restarting, crashed or stopped; "" (absent
	// from the JSON) when it never ran on the local target, and in a
	// preview environment, whose instances are in Previews.
	State string `json:"state,omitempty"`
	// RestartCount is the restarts of that release so far.
	RestartCount int `json:"restartCount"`
	// Previews, in a preview environment, are the state of the service in
	// each pull request's instance that ran, by prNumber.
	Previews []ServiceInstanceState `json:"previews,omitempty"`
}

// ServiceInstanceState is the runtime state of a service in one pull
// request's preview instance.
type ServiceInstanceState struct {
	PRNumber     int    `json:"prNumber"`
	State        string `json:"state"`
	RestartCount int    `json:"restartCount"`
}

// Environment is an environment with its services.
type Environment struct {
	EnvironmentSummary
	ProjectID string    `json:"projectId"`
	CreatedAt string    `json:"createdAt"`
	Services  []Service `json:"services"`
}

// CreatedHook is a new or rotated hook: the only time its secret is shown.
type CreatedHook struct {
	ID            string `json:"id"`
	EnvironmentID int64  `json:"environmentId"`
	Name          string `json:"name"`
	URL           string `json:"url"`
	Secret        string `json:"secret"`
	CreatedAt     string `json:"createdAt"`
}

// RotatedHook is the answer of a rotation.
type RotatedHook struct {
	ID                      string  `json:"id"`
	URL                     string  `json:"url"`
	Secret                  string  `json:"secret"`
	PreviousSecretExpiresAt *string `json:"previousSecretExpiresAt"`
}

// Hook is a deploy hook, without its secret.
type Hook struct {
	ID                string  `json:"id"`
	EnvironmentID     int64   `json:"environmentId"`
	Name              string  `json:"name"`
	CreatedAt         string  `json:"createdAt"`
	LastUsedAt        *string `json:"lastUsedAt"`
	UseCount          int64   `json:"useCount"`
	LastCallerAddress *string `json:"lastCallerAddress"`
	Paused            bool    `json:"paused"`
}

// HookCall is one recorded call of a hook.
type HookCall struct {
	At           string  `json:"at"`
	Address      string  `json:"address"`
	Status       int     `json:"status"`
	Outcome      string  `json:"outcome"`
	DeploymentID *string `json:"deploymentId"`
}

// APIKey is an API key; Key is set only in the answer that created it.
type APIKey struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Scope is admin (everything), deploy (the hooks, deployments and
	// previews of EnvironmentIDs) or read (every read, no change).
	Scope string `json:"scope"`
	// EnvironmentIDs are a deploy key's environments; empty for the others.
	EnvironmentIDs []int64 `json:"environmentIds"`
	Key            string  `json:"key,omitempty"`
	CreatedAt      string  `json:"createdAt"`
}

// Trigger says what started a deployment.
type Trigger struct {
	Type     string  `json:"type"` // deploy_hook, redeploy, github
	HookID   *string `json:"hookId,omitempty"`
	HookName *string `json:"hookName,omitempty"`
	// Event and Action name the GitHub event of a github trigger.
	Event  *string `json:"event,omitempty"`
	Action *string `json:"action,omitempty"`
	// RedeployOf is the deployment a redeploy releases again.
	RedeployOf *string `json:"redeployOf,omitempty"`
	// APIKeyID and APIKeyName name the key of an api trigger.
	APIKeyID   *string `json:"apiKeyId,omitempty"`
	APIKeyName *string `json:"apiKeyName,omitempty"`
}

// ServiceRef is the service a service deployment deploys.
type ServiceRef struct {
	ServiceID      string  `json:"serviceId"`
	ServiceGivenID string  `json:"serviceGivenId"`
	ServiceName    string  `json:"serviceName"`
	ServiceDomain  *string `json:"serviceDomain"`
	Type           string  `json:"type"`
}

// ServiceDeployment is the part of a deployment for one service.
type ServiceDeployment struct {
	ServiceDeploymentID string              `json:"serviceDeploymentId"`
	Service             ServiceRef          `json:"service"`
	Status              string              `json:"status"`
	Reason              *string             `json:"reason"`
	StartedAt           *string             `json:"startedAt"`
	FinishedAt          *string             `json:"finishedAt"`
	Error               []map[string]string `json:"error"`
}

// Deployment is the answer of Get Deployment. GitCommit is the full SHA
// deployed once it is resolved (when the deployment starts), "" before;
// GitBranch is the branch deployed, for a preview its pull request's head
// branch when Liftoff knows it, else "". Neither is ever null.
type Deployment struct {
	DeploymentID         string              `json:"deploymentId"`
	ProjectID            string              `json:"projectId"`
	EnvironmentID        int64               `json:"environmentId"`
	EnvironmentGivenID   string              `json:"environmentGivenId"`
	IsPreviewEnvironment bool                `json:"isPreviewEnvironment"`
	PRNumber             *int                `json:"prNumber"`
	CreatedAt            string              `json:"createdAt"`
	StartedAt            *string             `json:"startedAt"`
	FinishedAt           *string             `json:"finishedAt"`
	RepoURL              string              `json:"repoUrl"`
	GitCommit            string              `json:"gitCommit"`
	GitBranch            string              `json:"gitBranch"`
	Force                bool                `json:"force"`
	ClearCache           bool                `json:"clearCache"`
	Trigger              Trigger             `json:"trigger"`
	Status               string              `json:"status"`
	Error                []map[string]string `json:"error"`
	ServiceDeployments   []ServiceDeployment `json:"serviceDeployments"`
}

// DeploymentRequest is the body of Start Deployment: what a deploy hook's
// query parameters say. Every field is optional.
type DeploymentRequest struct {
	// Force builds and deploys every service, whatever its watch paths.
	Force bool `json:"force"`
	// ClearCache builds every service from an empty build cache; it needs
	// Force.
	ClearCache bool `json:"clearCache,omitempty"`
	// Commit is the commit to deploy; "" the branch's head.
	Commit string `json:"commit"`
	// Branch is the branch to deploy instead of the environment's.
	Branch string `json:"branch"`
}

// StartedDeployment is the answer of Start Deployment: the deployment that
// answers, and whether it is new (queued) or a PENDING one it joined.
type StartedDeployment struct {
	Outcome string `json:"outcome"` // queued or joined
	Deployment
}

// DeploymentList is a page of deployments.
type DeploymentList struct {
	Deployments []Deployment `json:"deployments"`
	NextCursor  *string      `json:"nextCursor"`
}

// ErrorBody is the body of every /v1 error.
type ErrorBody struct {
	Error     string `json:"error"`
	ErrorCode string `json:"errorCode"`
	ErrorID   string `json:"errorId,omitempty"`
}

// HookAnswer is the body of a deploy hook answer.
type HookAnswer struct {
	Success      HookSuccess `json:"success"`
	DeploymentID string      `json:"deploymentId,omitempty"`
	Error        string      `json:"error,omitempty"`
	Message      string      `json:"message,omitempty"`
}

// PreviewInstance is the preview of one pull request.
type PreviewInstance struct {
	EnvironmentID  int64   `json:"environmentId"`
	PRNumber       int     `json:"prNumber"`
	HeadBranch     *string `json:"headBranch"`
	CreatedAt      string  `json:"createdAt"`
	LastDeployedAt string  `json:"lastDeployedAt"`
	TeardownAt     *string `json:"teardownAt"`
	DeletedAt      *string `json:"deletedAt"`
}

// HookSuccess is the "success" of a hook answer, "true" or "false". A
// server writes it as a string ("true", as Flightcontrol's Deploy Hooks page
// shows it) or, run with --hook-success-type boolean, as a boolean; both
// decode to the same value.
type HookSuccess string

// UnmarshalJSON accepts a string or a boolean.
func (s *HookSuccess) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true", "false":
		*s = HookSuccess(b)
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("success must be a string or a boolean: %w", err)
	}
	*s = HookSuccess(v)
	return nil
}

// TimeLayout is how the API writes a timestamp: RFC 3339 with milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// FormatTime writes t as the API does, in UTC; "" for the zero time (a
// timestamp not set).
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// EnvVariables is the body of POST .../env-variables, in the groups of
// Flightcontrol's API: plain values; values kept as secrets
// (parameterStore, secretsManager); references to named secrets and to
// services.
type EnvVariables struct {
	PlainText          map[string]string       `json:"plainText,omitempty"`
	ParameterStore     map[string]string       `json:"parameterStore,omitempty"`
	SecretsManager     map[string]string       `json:"secretsManager,omitempty"`
	FromParameterStore map[string]string       `json:"fromParameterStore,omitempty"`
	FromSecretsManager map[string]string       `json:"fromSecretsManager,omitempty"`
	FromService        map[string]ServiceValue `json:"fromService,omitempty"`
}

// ServiceValue is a {"id", "value"} reference to another service's value.
type ServiceValue struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// SavedEnvVariables answers POST .../env-variables.
type SavedEnvVariables struct {
	Status     string `json:"status"` // "completed"
	SavedCount int    `json:"savedCount"`
}

// EnvVariable is a variable as listed: a secret's value is masked.
type EnvVariable struct {
	Name string `json:"name"`
	// Scope is project, environment or service.
	Scope string `json:"scope"`
	// Type is plainText, secret, fromParameterStore, fromSecretsManager or
	// fromService.
	Type string `json:"type"`
	// Value is the value, the name of the secret read, the service
	// reference as JSON, or "********" for a secret.
	Value     string `json:"value"`
	UpdatedAt string `json:"updatedAt"`
}

// NewSecret is the body of POST .../secrets.
type NewSecret struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Secret is a named secret as listed: never its value.
type Secret struct {
	Name      string `json:"name"`
	Scope     string `json:"scope"` // project or environment
	UpdatedAt string `json:"updatedAt"`
}

// JobRef names the job a job execution runs.
type JobRef struct {
	// ID identifies the job: "<serviceId>/<givenId>".
	ID      string `json:"id"`
	GivenID string `json:"givenId"`
}

// JobError says why a job execution did not complete.
type JobError struct {
	Message string `json:"message"`
}

// JobExecution is the answer of Get Job Execution: Flightcontrol's fields
// (id, status, createdAt, finishedAt, exitCode, error, job) and Liftoff's
// (the trigger, the scheduled time, the start, where it ran and what).
type JobExecution struct {
	ID string `json:"id"`
	// Status is INITIALIZING, IN_PROGRESS, COMPLETED, FAILED, TIMED_OUT or
	// SKIPPED.
	Status              string    `json:"status"`
	CreatedAt           string    `json:"createdAt"`
	FinishedAt          *string   `json:"finishedAt"`
	ExitCode            *int      `json:"exitCode"`
	Error               *JobError `json:"error"`
	Job                 JobRef    `json:"job"`
	Trigger             string    `json:"trigger"` // schedule or manual
	ScheduledAt         *string   `json:"scheduledAt"`
	StartedAt           *string   `json:"startedAt"`
	ServiceID           string    `json:"serviceId"`
	EnvironmentID       int64     `json:"environmentId"`
	PRNumber            *int      `json:"prNumber"`
	ServiceDeploymentID string    `json:"serviceDeploymentId"`
	// StartCommand is what it runs: a string (shell line) or an array.
	StartCommand any `json:"startCommand"`
}

// CreatedJobExecution is the answer of Create Job Execution.
type CreatedJobExecution struct {
	JobExecutionID string `json:"jobExecutionId"`
}

// JobExecutionList is a job's executions, newest first.
type JobExecutionList struct {
	JobExecutions []JobExecution `json:"jobExecutions"`
}

// ServiceDetail is a service with the runtime of its release (Get
// Service).
type ServiceDetail struct {
	ServiceID      string             `json:"serviceId"`
	ServiceGivenID string             `json:"serviceGivenId"`
	ServiceName    string             `json:"serviceName"`
	Type           string             `json:"type"`
	ProjectID      string             `json:"projectId"`
	Environment    EnvironmentSummary `json:"environment"`
	// Instances are the service's (one, or one per pull request in a
	// preview environment) that ran on the local target; empty before.
	Instances []ServiceInstance `json:"instances"`
}

// ServiceInstance is the runtime of a service's release in one instance.
type ServiceInstance struct {
	PRNumber *int `json:"prNumber"`
	// State is running, restarting, crashed or stopped.
	State string `json:"state"`
	// ReleaseID is the serving release: the service deployment that built it.
	ReleaseID    string `json:"releaseId"`
	RestartCount int    `json:"restartCount"`
	// NodeID is the Liftoff node that runs it (and has its log).
	NodeID       string           `json:"nodeId"`
	UpdatedAt    string           `json:"updatedAt"`
	LastRestarts []ServiceRestart `json:"lastRestarts"`
	// Pods are its pods, for a service released to a Kubernetes cluster
	// (whose nodeId is empty and lastRestarts empty).
	Pods []ServicePod `json:"pods,omitempty"`
}

// ServicePod is one pod of a service released to a Kubernetes cluster.
type ServicePod struct {
	Name  string `json:"name"`
	Phase string `json:"phase"`
	Ready bool   `json:"ready"`
	// Restarts counts its container's restarts.
	Restarts int `json:"restarts"`
	// Reason is why it is not running, when the cluster says
	// (CrashLoopBackOff, ImagePullBackOff ...).
	Reason    string `json:"reason,omitempty"`
	Node      string `json:"node"`
	ReleaseID string `json:"releaseId"`
}

// ServiceRestart is one restart of a release, newest first in
// ServiceInstance.LastRestarts.
type ServiceRestart struct {
	At        string `json:"at"`
	ReleaseID string `json:"releaseId"`
	// Reason says what happened: "exited with status 1", "health check
	// GET /health failed 3 times in a row (last: 500)".
	Reason string `json:"reason"`
	// ExitCode is null when a signal ended it, or Liftoff after its
	// health check failed.
	ExitCode    *int `json:"exitCode"`
	HealthCheck bool `json:"healthCheck"`
	// State is what it left the release in: restarting, or crashed.
	State     string   `json:"state"`
	LastLines []string `json:"lastLines"`
}

// Protection is who may open an environment's web and static services
// through Liftoff's proxy: anyone (public), or only with a share link,
// the environment's password or (later) a team session (protected).
type Protection struct {
	EnvironmentID int64 `json:"environmentId"`
	// Mode is public or protected.
	Mode string `json:"mode"`
	// IsDefault says nobody set the mode: it is the default of the
	// environment's kind (protected for a preview environment, else
	// public).
	IsDefault   bool `json:"isDefault"`
	HasPassword bool `json:"hasPassword"`
	// UpdatedAt is when it was last set; null when it never was.
	UpdatedAt *string `json:"updatedAt"`
}

// ProtectionChange is the body of PUT .../protection: what is absent
// stays as it is.
type ProtectionChange struct {
	// Mode is public or protected.
	Mode *string `json:"mode,omitempty"`
	// Password is the new shared password; "" removes it.
	Password *string `json:"password,omitempty"`
}

// NewShareLink is the body of POST .../share-links.
type NewShareLink struct {
	// PRNumber is the pull request of a preview environment; absent for
	// another environment.
	PRNumber int `json:"prNumber,omitempty"`
	// ExpiresIn is how long the link works ("24h", "90m", "7d"); default
	// 24h, at most 30 days.
	ExpiresIn string `json:"expiresIn,omitempty"`
	// Service is the given id of the service whose address the link
	// opens; default the first web service (else static).
	Service string `json:"service,omitempty"`
	// Host is the host (host[:port], or https://host) the link opens,
	// instead of a service's address.
	Host string `json:"host,omitempty"`
}

// ShareLink is a link that opens a protected environment (a pull
// request's preview) until ExpiresAt.
type ShareLink struct {
	URL       string `json:"url"`
	ExpiresAt string `json:"expiresAt"`
}

// Resource is a database (with its role) or a Redis user (with its key
// prefix) that Liftoff made on the operator's servers for an rds or
// elasticache service of one environment instance. Its password is never
// shown: the services read it through fromService.
type Resource struct {
	EnvironmentID  int64  `json:"environmentId"`
	PRNumber       *int   `json:"prNumber"`       // the preview's; null in a normal environment
	ServiceGivenID string `json:"serviceGivenId"` // the service's id in the config
	Kind           string `json:"kind"`           // postgres or redis
	// Name is the database and its role, or the Redis user and the key
	// prefix (Name + ":") of its keys and channels.
	Name string `json:"name"`
	// State: creating, available or deleting (deleted in the answer of
	// Delete Resource).
	State     string `json:"state"`
	CreatedAt string `json:"createdAt"`
}

// ResourceList is the answer of List Resources.
type ResourceList struct {
	Resources []Resource `json:"resources"`
}

// Notification is a webhook of an environment. URL shows only the
// origin of its URL (the rest may be a secret, as a Slack webhook's is).
type Notification struct {
	ID            string   `json:"id"`
	EnvironmentID int64    `json:"environmentId"`
	URL           string   `json:"url"`
	Events        []string `json:"events"`
	Format        string   `json:"format"`
	// Source is api (made through the API) or config (declared in
	// liftoff.json).
	Source    string `json:"source"`
	CreatedAt string `json:"createdAt"`
}

// CreatedNotification is a webhook just made or given a new secret: the
// one answer that shows its signing secret.
type CreatedNotification struct {
	Notification
	Secret string `json:"secret"`
}

// NotificationDelivery is one event on its way to a webhook.
type NotificationDelivery struct {
	EventID      string `json:"eventId"`
	EventType    string `json:"eventType"`
	DeploymentID string `json:"deploymentId"`
	// State is pending, delivered or failed (given up).
	State         string  `json:"state"`
	Attempts      int     `json:"attempts"`
	LastStatus    *int    `json:"lastStatus"`
	LastError     *string `json:"lastError"`
	NextAttemptAt *string `json:"nextAttemptAt"`
	CreatedAt     string  `json:"createdAt"`
	DeliveredAt   *string `json:"deliveredAt"`
}
