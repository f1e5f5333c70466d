package store

import (
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// CreateProjectParams are the arguments of CreateProject.
type CreateProjectParams struct {
	ID               string
	Name             string
	Slug             string
	RepoURL          string
	ConfigPath       string
	DefaultBranch    string
	ConfigCommit     string
	GitHubRepository string
	// RepoCredential is stored apart from RepoURL; zero for none.
	RepoCredential liftoff.RepoCredential
	At             time.Time
}

// RecordDeliveryParams are the arguments of RecordGitHubDelivery.
type RecordDeliveryParams struct {
	ID         string // the X-GitHub-Delivery header
	BodySHA256 string // hex SHA-256 of the payload
	At         time.Time
	// ExpiredBefore: deliveries received before it are forgotten first.
	ExpiredBefore time.Time
}

// UpdateProjectConfigParams are the arguments of UpdateProjectConfig.
type UpdateProjectConfigParams struct {
	ID            string
	ConfigPath    string
	DefaultBranch string
	ConfigCommit  string
	At            time.Time
}

// SyncEnvironmentsParams are the arguments of SyncEnvironments.
type SyncEnvironmentsParams struct {
	ProjectID    string
	Environments []EnvironmentSpec
	At           time.Time
	// NewServiceID makes the id of a service seen for the first time.
	NewServiceID func() string
}

// EnvironmentSpec is an environment as the config describes it.
type EnvironmentSpec struct {
	GivenID   string
	Name      string
	IsPreview bool
	Branch    string
	Config    config.Environment
	Services  []ServiceSpec
}

// ServiceSpec is a service as the config describes it.
type ServiceSpec struct {
	GivenID string
	Name    string
	Type    string
	Config  config.Service
}

// CreateAPIKeyParams are the arguments of CreateAPIKey.
type CreateAPIKeyParams struct {
	ID             string
	Name           string
	Hash           string
	Scope          string
	EnvironmentIDs []int64
	At             time.Time
}

// CreateHookParams are the arguments of CreateHook.
type CreateHookParams struct {
	ID            string
	EnvironmentID int64
	Name          string
	SecretHash    string
	At            time.Time
}

// RotateHookParams are the arguments of RotateHook. With a zero
// PreviousExpiresAt the old secret stops working at once.
type RotateHookParams struct {
	ID                string
	SecretHash        string
	PreviousExpiresAt time.Time
	At                time.Time
}

// PutIdempotencyKeyParams are the arguments of PutIdempotencyKey.
type PutIdempotencyKeyParams struct {
	HookID        string
	Key           string
	DeploymentID  string
	At            time.Time
	ExpiredBefore time.Time
}

// FinishDeploymentParams end a deployment.
type FinishDeploymentParams struct {
	ID     string
	Status liftoff.Status
	Errors []liftoff.ErrorEntry
	At     time.Time
}

// ListDeploymentsParams filter and page ListDeployments. Zero values do not
// filter.
type ListDeploymentsParams struct {
	ProjectID     string
	EnvironmentID int64
	PRNumber      int // with HasPRNumber: only that preview instance
	HasPRNumber   bool
	Status        liftoff.Status
	// EnvironmentIDs, when not nil, keeps only deployments of these
	// environments (none when empty): what a deploy key may list.
	EnvironmentIDs []int64
	Limit          int
	// After pages: only deployments strictly older than (AfterCreatedAt, AfterID).
	AfterCreatedAt time.Time
	AfterID        string
}

// ClaimParams are the arguments of ClaimDeployment.
type ClaimParams struct {
	Owner      string // the worker's node
	At         time.Time
	LeaseUntil time.Time
}

// UpdateRunningParams change a running deployment. Empty fields are left as
// they are.
type UpdateRunningParams struct {
	ID        string
	Status    liftoff.Status
	GitCommit string
	// GitBranch is the branch deployed, for a preview once its pull
	// request's head branch is known.
	GitBranch string
	Config    string
}

// InterruptParams select running deployments that lost their worker: those
// of Owner (a node that restarted), or every one whose lease expired before
// LeaseExpiredBefore. Zero fields select nothing.
type InterruptParams struct {
	Owner              string
	LeaseExpiredBefore time.Time
	Message            string
	At                 time.Time
}

// UpdateServiceDeploymentParams change a service deployment. Zero fields are
// left as they are, except Errors, which replaces the list when Status is set.
type UpdateServiceDeploymentParams struct {
	ID         string
	Status     liftoff.Status
	Reason     string
	Errors     []liftoff.ErrorEntry
	StartedAt  time.Time
	FinishedAt time.Time
	BuildDir   string
}

// ListLogsParams select log lines.
type ListLogsParams struct {
	DeploymentID        string
	ServiceDeploymentID string // "" for every line of the deployment
	AfterID             int64
	Limit               int
}

// LastSuccessParams select a service's last successful deployment in an
// environment instance.
type LastSuccessParams struct {
	ServiceID string
	PRNumber  int
	Since     time.Time // only deployments that finished at or after (zero: any)
	Before    time.Time // only deployments that finished at or before (zero: any)
}

// UpsertPreviewParams are the arguments of UpsertPreviewInstance.
type UpsertPreviewParams struct {
	EnvironmentID int64
	PRNumber      int
	HeadBranch    string // kept when empty
	At            time.Time
}
