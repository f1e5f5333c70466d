package store

import (
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// The params structs of the store's calls, in the order of the interfaces
// in store.go. A call that takes only a record to insert takes the record.

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

// GetProjectParams are the arguments of GetProject.
type GetProjectParams struct {
	ID string
}

// GetProjectBySlugParams are the arguments of GetProjectBySlug.
type GetProjectBySlugParams struct {
	Slug string
}

// SetProjectSlugParams are the arguments of SetProjectSlug.
type SetProjectSlugParams struct {
	ID   string
	Slug string
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

// ListEnvironmentsParams are the arguments of ListEnvironments.
type ListEnvironmentsParams struct {
	ProjectID string
}

// GetEnvironmentParams are the arguments of GetEnvironment.
type GetEnvironmentParams struct {
	ID int64
}

// ListServicesParams are the arguments of ListServices.
type ListServicesParams struct {
	EnvironmentID int64
}

// GetServiceParams are the arguments of GetService.
type GetServiceParams struct {
	ID string
}

// DeleteProjectParams are the arguments of DeleteProject.
type DeleteProjectParams struct {
	ID string
	// Message is the error the project's PENDING deployments end with.
	Message string
	At      time.Time
}

// ReplaceRepoCredentialParams are the arguments of ReplaceRepoCredential.
type ReplaceRepoCredentialParams struct {
	ProjectID string
	Old, New  liftoff.RepoCredential
}

// GetRepoCredentialParams are the arguments of GetRepoCredential.
type GetRepoCredentialParams struct {
	ProjectID string
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

// GetAPIKeyByHashParams are the arguments of GetAPIKeyByHash.
type GetAPIKeyByHashParams struct {
	Hash string // the key's hash, as CreateAPIKey stored it
}

// DeleteAPIKeyParams are the arguments of DeleteAPIKey.
type DeleteAPIKeyParams struct {
	ID string
	At time.Time
}

// CreateHookParams are the arguments of CreateHook.
type CreateHookParams struct {
	ID            string
	EnvironmentID int64
	Name          string
	SecretHash    string
	At            time.Time
}

// GetHookParams are the arguments of GetHook.
type GetHookParams struct {
	ID string
}

// ListHooksParams are the arguments of ListHooks.
type ListHooksParams struct {
	EnvironmentID int64
}

// RotateHookParams are the arguments of RotateHook. With a zero
// PreviousExpiresAt the old secret stops working at once.
type RotateHookParams struct {
	ID                string
	SecretHash        string
	PreviousExpiresAt time.Time
	At                time.Time
}

// SetHookPausedParams are the arguments of SetHookPaused.
type SetHookPausedParams struct {
	ID     string
	Paused bool
	At     time.Time
}

// DeleteHookParams are the arguments of DeleteHook.
type DeleteHookParams struct {
	ID string
	At time.Time
}

// HookTargetParams are the arguments of HookTarget.
type HookTargetParams struct {
	EnvironmentID int64
}

// ListHookCallsParams are the arguments of ListHookCalls.
type ListHookCallsParams struct {
	HookID string
	Limit  int // the newest Limit calls
}

// PruneHookCallsParams are the arguments of PruneHookCalls.
type PruneHookCallsParams struct {
	HookIDs []string
	Keep    int // how many of each hook's newest calls stay
}

// GetIdempotencyKeyParams are the arguments of GetIdempotencyKey.
type GetIdempotencyKeyParams struct {
	HookID string
	Key    string
	// Since: a record made before it has expired and is not returned.
	Since time.Time
}

// PutIdempotencyKeyParams are the arguments of PutIdempotencyKey.
type PutIdempotencyKeyParams struct {
	HookID        string
	Key           string
	DeploymentID  string
	At            time.Time
	ExpiredBefore time.Time
}

// DeleteIdempotencyKeysBeforeParams are the arguments of
// DeleteIdempotencyKeysBefore.
type DeleteIdempotencyKeysBeforeParams struct {
	Before time.Time // records made before it are deleted
}

// GetDeploymentParams are the arguments of GetDeployment.
type GetDeploymentParams struct {
	ID string
}

// GetPendingDeploymentParams are the arguments of GetPendingDeployment.
type GetPendingDeploymentParams struct {
	EnvironmentID int64
	PRNumber      int // 0 for a normal environment
}

// LockInstanceParams are the arguments of LockInstance.
type LockInstanceParams struct {
	EnvironmentID int64
	PRNumber      int // 0 for a normal environment
}

// QueueStats is what QueueStats counts.
type QueueStats struct {
	Pending int
	// OldestPending is when the oldest PENDING deployment was created;
	// zero when none is.
	OldestPending time.Time
	Running       int
}

// JoinPendingDeploymentParams are the arguments of JoinPendingDeployment.
type JoinPendingDeploymentParams struct {
	ID string
	// Force makes the deployment forced; false leaves it as it is.
	Force bool
	// ClearCache makes it start from empty build caches; false leaves it
	// as it is.
	ClearCache bool
}

// FinishDeploymentParams end a deployment (FinishPendingDeployment,
// FinishDeployment).
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

// RenewLeaseParams are the arguments of RenewLease.
type RenewLeaseParams struct {
	ID    string
	Owner string    // the node that holds the lease
	Until time.Time // when the renewed lease expires
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

// RequestCancelParams are the arguments of RequestCancel.
type RequestCancelParams struct {
	ID string
	At time.Time
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
	Image      string // empty: unchanged
}

// LastSuccessParams select a service's last successful deployment in an
// environment instance.
type LastSuccessParams struct {
	ServiceID string
	PRNumber  int
	Since     time.Time // only deployments that finished at or after (zero: any)
	Before    time.Time // only deployments that finished at or before (zero: any)
}

// LastDeployedCommitParams are the arguments of LastDeployedCommit.
type LastDeployedCommitParams struct {
	EnvironmentID int64
	PRNumber      int // 0 for a normal environment
}

// KeptBuildsParams are the arguments of KeptBuilds.
type KeptBuildsParams struct {
	ServiceID string
	PRNumber  int // 0 for a normal environment
}

// ClearBuildDirParams are the arguments of ClearBuildDir.
type ClearBuildDirParams struct {
	ServiceDeploymentID string
}

// EnsureServicesParams are the arguments of EnsureServices.
type EnsureServicesParams struct {
	EnvironmentID int64
	Services      []ServiceSpec
	At            time.Time
	// NewServiceID makes the id of a service seen for the first time.
	NewServiceID func() string
}

// ListLogsParams select log lines.
type ListLogsParams struct {
	DeploymentID        string
	ServiceDeploymentID string // "" for every line of the deployment
	AfterID             int64
	Limit               int
}

// UpsertPreviewParams are the arguments of UpsertPreviewInstance.
type UpsertPreviewParams struct {
	EnvironmentID int64
	PRNumber      int
	HeadBranch    string // kept when empty
	At            time.Time
}

// GetPreviewInstanceParams are the arguments of GetPreviewInstance.
type GetPreviewInstanceParams struct {
	EnvironmentID int64
	PRNumber      int
}

// ListPreviewInstancesParams are the arguments of ListPreviewInstances.
type ListPreviewInstancesParams struct {
	EnvironmentID  int64
	IncludeDeleted bool // torn down instances too
}

// DeletePreviewInstanceParams are the arguments of DeletePreviewInstance.
type DeletePreviewInstanceParams struct {
	EnvironmentID int64
	PRNumber      int
	At            time.Time
}

// SchedulePreviewTeardownParams are the arguments of
// SchedulePreviewTeardown.
type SchedulePreviewTeardownParams struct {
	EnvironmentID int64
	PRNumber      int
	At            time.Time // when to tear it down; zero clears the schedule
}

// PreviewsDueParams are the arguments of PreviewsDue.
type PreviewsDueParams struct {
	Now time.Time
	// EnvironmentIDs and StaleBefore go in pairs: a live instance of
	// EnvironmentIDs[i] last deployed before StaleBefore[i] is due.
	EnvironmentIDs []int64
	StaleBefore    []time.Time
}

// MarkPreviewCleanedParams are the arguments of MarkPreviewCleaned.
type MarkPreviewCleanedParams struct {
	EnvironmentID int64
	PRNumber      int
	At            time.Time
}

// CancelInstanceDeploymentsParams are the arguments of
// CancelInstanceDeployments.
type CancelInstanceDeploymentsParams struct {
	EnvironmentID int64
	PRNumber      int
	// Message is the error the PENDING deployment ends with.
	Message string
	At      time.Time
}

// InstanceRunningParams are the arguments of InstanceRunning.
type InstanceRunningParams struct {
	EnvironmentID int64
	PRNumber      int
}

// InstanceBuildsParams are the arguments of InstanceBuilds.
type InstanceBuildsParams struct {
	EnvironmentID int64
	PRNumber      int
}

// CountLivePreviewsParams are the arguments of CountLivePreviews.
type CountLivePreviewsParams struct {
	EnvironmentID int64
	// PRNumber is the pull request asked about: LivePreviews says whether
	// it is one of those counted.
	PRNumber int
}

// ReleaseUnusedDomainsParams are the arguments of ReleaseUnusedDomains.
type ReleaseUnusedDomainsParams struct {
	EnvironmentID int64
	PRNumber      int
	Keep          []string // lowercase host names
}

// ReleaseHostsParams are the arguments of ReleaseHosts.
type ReleaseHostsParams struct {
	EnvironmentID int64
	PRNumber      int
}

// RecordDeliveryParams are the arguments of RecordGitHubDelivery.
type RecordDeliveryParams struct {
	ID         string // the X-GitHub-Delivery header
	BodySHA256 string // hex SHA-256 of the payload
	At         time.Time
	// ExpiredBefore: deliveries received before it are forgotten first.
	ExpiredBefore time.Time
}

// ForgetGitHubDeliveryParams are the arguments of ForgetGitHubDelivery.
type ForgetGitHubDeliveryParams struct {
	ID string // the X-GitHub-Delivery header
}

// ListVariablesParams are the arguments of ListVariables and ListSecrets.
type ListVariablesParams struct {
	ProjectID      string
	EnvironmentIDs []int64
}

// DeleteVariableParams are the arguments of DeleteVariable.
type DeleteVariableParams struct {
	ProjectID     string
	EnvironmentID int64
	ServiceID     string
	Name          string
}

// DeleteSecretParams are the arguments of DeleteSecret.
type DeleteSecretParams struct {
	ProjectID     string
	EnvironmentID int64
	Name          string
}

// ResealParams are the arguments of ResealVariable, ResealSecret and
// ResealCertificateItem: the row as it was read, and its value sealed anew.
type ResealParams[T any] struct {
	Old    T
	KeyID  string
	Sealed []byte
	At     time.Time
}

// ClaimScheduledJobParams are the arguments of ClaimScheduledJob.
type ClaimScheduledJobParams struct {
	// Execution is the run to record: id, project, environment, PR number,
	// service, job, release, command and ScheduledAt set; the store sets
	// the trigger, status, times and lease.
	Execution  liftoff.JobExecution
	Owner      string
	At         time.Time
	LeaseUntil time.Time
	// SkipMessage is the Error of a SKIPPED execution.
	SkipMessage string
}

// ClaimJobExecutionParams are the arguments of ClaimJobExecution.
type ClaimJobExecutionParams struct {
	Owner      string
	At         time.Time
	LeaseUntil time.Time
	// Releases are the current releases of the scheduler services whose
	// builds this node has: only executions of their service instances are
	// claimed, and a claimed one runs in (and records) its instance's
	// release here, which may be newer than the one it was asked in.
	Releases []JobRelease
}

// JobRelease is the current release of a scheduler service instance.
type JobRelease struct {
	ServiceID           string
	PRNumber            int
	ServiceDeploymentID string
}

// RenewJobLeaseParams are the arguments of RenewJobLease.
type RenewJobLeaseParams struct {
	ID    string
	Owner string
	Until time.Time
}

// FinishJobExecutionParams are the arguments of FinishJobExecution.
type FinishJobExecutionParams struct {
	ID       string
	Owner    string
	Status   liftoff.JobStatus
	ExitCode *int
	Error    string
	At       time.Time
}

// InterruptJobExecutionsParams are the arguments of InterruptJobExecutions:
// running executions of Owner, and those whose lease expired before
// LeaseExpiredBefore, end FAILED with Message.
type InterruptJobExecutionsParams struct {
	Owner              string
	LeaseExpiredBefore time.Time
	Message            string
	At                 time.Time
}

// GetJobExecutionParams are the arguments of GetJobExecution.
type GetJobExecutionParams struct{ ID string }

// ListJobExecutionsParams are the arguments of ListJobExecutions.
type ListJobExecutionsParams struct {
	ServiceID string
	PRNumber  int
	JobID     string // "" for every job of the service
	Limit     int    // default 20
}

// GetServiceStateParams are the arguments of GetServiceState.
type GetServiceStateParams struct {
	ServiceID string
	PRNumber  int
}

// ListServiceStatesParams are the arguments of ListServiceStates: the
// states of a service's instances, or of every service of an environment.
type ListServiceStatesParams struct {
	ServiceID     string // "" for every service of EnvironmentID
	EnvironmentID int64
}

// RecordServiceRestartParams are the arguments of RecordServiceRestart.
type RecordServiceRestartParams struct {
	Restart liftoff.ServiceRestart
	// Keep is how many records the service instance keeps, the newest.
	Keep int
}

// ListServiceRestartsParams are the arguments of ListServiceRestarts.
type ListServiceRestartsParams struct {
	ServiceID string
	PRNumber  int
	Limit     int // default 20
}

// GetEnvironmentProtectionParams are the arguments of
// GetEnvironmentProtection.
type GetEnvironmentProtectionParams struct {
	EnvironmentID int64
}

// SetEnvironmentProtectionParams are the arguments of
// SetEnvironmentProtection: what is nil is left as it is.
type SetEnvironmentProtectionParams struct {
	EnvironmentID int64
	// Mode, when not nil, is the new mode (ProtectionDefault: the
	// default of the environment's kind again).
	Mode *liftoff.ProtectionMode
	// Password, when not nil, is the new sealed password; an empty
	// KeyID removes it.
	Password *SealedValue
	At       time.Time
}

// SealedValue is a value sealed under the key KeyID of the secret key file.
type SealedValue struct {
	KeyID  string
	Sealed []byte
}

// GetCertificateItemParams are the arguments of GetCertificateItem.
type GetCertificateItemParams struct {
	Key string
}

// ListCertificateItemsParams are the arguments of ListCertificateItems.
type ListCertificateItemsParams struct {
	// Prefix: the items under it (keys starting with Prefix + "/"); every
	// item when empty.
	Prefix string
	// Limit bounds how many are listed when positive.
	Limit int
	// Sealed: with their sealed values (KeyID and Sealed); without, only
	// their keys, sizes and times.
	Sealed bool
}

// DeleteCertificateItemsParams are the arguments of DeleteCertificateItems.
type DeleteCertificateItemsParams struct {
	// Key: the item at Key and every item under it. Required.
	Key string
}

// AcquireCertificateLockParams are the arguments of AcquireCertificateLock.
type AcquireCertificateLockParams struct {
	Name string
	// Owner is the holder: a token of its own for each acquisition.
	Owner string
	// At is now: a lock whose expiry is not after it is free to take.
	At        time.Time
	ExpiresAt time.Time
}

// RenewCertificateLockParams are the arguments of RenewCertificateLock.
type RenewCertificateLockParams struct {
	Name      string
	Owner     string
	ExpiresAt time.Time
}

// ReleaseCertificateLockParams are the arguments of ReleaseCertificateLock.
type ReleaseCertificateLockParams struct {
	Name  string
	Owner string
}

// CreateUserParams are the arguments of CreateUser.
type CreateUserParams struct {
	ID             string
	Email          string // lowercase
	PasswordHash   string
	Role           string
	EnvironmentIDs []int64
	At             time.Time
}

// GetUserParams are the arguments of GetUser.
type GetUserParams struct {
	ID string
}

// GetUserByEmailParams are the arguments of GetUserByEmail.
type GetUserByEmailParams struct {
	Email string // lowercase
}

// SetUserPasswordParams are the arguments of SetUserPassword.
type SetUserPasswordParams struct {
	ID           string
	PasswordHash string
}

// SetUserRoleParams are the arguments of SetUserRole.
type SetUserRoleParams struct {
	ID             string
	Role           string
	EnvironmentIDs []int64
	// KeepAnAdmin refuses (ErrLastAdmin) a change that would leave no
	// user with the admin role.
	KeepAnAdmin bool
}

// DeleteUserParams are the arguments of DeleteUser.
type DeleteUserParams struct {
	ID string
	// KeepAnAdmin refuses (ErrLastAdmin) to delete the last user with the
	// admin role.
	KeepAnAdmin bool
}

// CreateSessionParams are the arguments of CreateSession.
type CreateSessionParams struct {
	Hash      string // hex SHA-256 of the session's token
	UserID    string
	At        time.Time
	ExpiresAt time.Time
}

// GetSessionParams are the arguments of GetSession.
type GetSessionParams struct {
	Hash string
	// At is now: a session that expires at or before it is not returned.
	At time.Time
}

// TouchSessionParams are the arguments of TouchSession.
type TouchSessionParams struct {
	Hash      string
	At        time.Time
	ExpiresAt time.Time
}

// DeleteSessionParams are the arguments of DeleteSession.
type DeleteSessionParams struct {
	Hash string
}

// DeleteExpiredSessionsParams are the arguments of DeleteExpiredSessions.
type DeleteExpiredSessionsParams struct {
	Before time.Time
}

// GetManagedResourceParams are the arguments of GetManagedResource: the
// resource of one service of one environment instance.
type GetManagedResourceParams struct {
	EnvironmentID int64
	PRNumber      int
	ServiceID     string // the service's given id
}

// ListManagedResourcesParams are the arguments of ListManagedResources.
type ListManagedResourcesParams struct {
	// EnvironmentID: the resources of one environment; 0 for every one.
	EnvironmentID int64
	// PRNumber: of one instance of the environment, unless AllInstances.
	PRNumber     int
	AllInstances bool
}

// SetManagedResourceStateParams are the arguments of
// SetManagedResourceState.
type SetManagedResourceStateParams struct {
	ID    string
	State liftoff.ResourceState
	At    time.Time
}

// DeleteManagedResourceParams are the arguments of DeleteManagedResource.
type DeleteManagedResourceParams struct {
	ID string
}

// ListNotificationEndpointsParams are the arguments of
// ListNotificationEndpoints.
type ListNotificationEndpointsParams struct {
	// EnvironmentID is the environment whose endpoints to list; 0 lists
	// every live endpoint.
	EnvironmentID int64
}

// GetNotificationEndpointParams are the arguments of
// GetNotificationEndpoint.
type GetNotificationEndpointParams struct {
	ID string
}

// DeleteNotificationEndpointParams are the arguments of
// DeleteNotificationEndpoint.
type DeleteNotificationEndpointParams struct {
	ID string
	At time.Time
}

// UntoldDeploymentsParams are the arguments of UntoldDeployments.
type UntoldDeploymentsParams struct {
	// Limit bounds how many it returns, oldest first.
	Limit int
}

// UntoldDeployment is a deployment whose events lag its state, and how
// far they were told (0 nothing, 1 created, 2 started, 3 the end).
type UntoldDeployment struct {
	Deployment liftoff.Deployment
	Told       int
}

// DeploymentEvent is one event RecordDeploymentEvents records.
type DeploymentEvent struct {
	ID   string
	Type string
	// Seq orders a deployment's events: 0 created, 1 started, 2 the end.
	Seq int
	At  time.Time
}

// RecordDeploymentEventsParams are the arguments of
// RecordDeploymentEvents.
type RecordDeploymentEventsParams struct {
	DeploymentID  string
	EnvironmentID int64
	// Events are the events to record, in order.
	Events []DeploymentEvent
	// Told is the deployment's told stage after them.
	Told int
	// Sinks are the destinations, besides the environment's endpoints,
	// every event goes to ("sink:github").
	Sinks []string
	At    time.Time
}

// ClaimNotificationDeliveryParams are the arguments of
// ClaimNotificationDelivery.
type ClaimNotificationDeliveryParams struct {
	Owner      string
	At         time.Time
	LeaseUntil time.Time
}

// FinishNotificationDeliveryParams are the arguments of
// FinishNotificationDelivery.
type FinishNotificationDeliveryParams struct {
	Destination string
	EventID     string
	Owner       string
	// State is liftoff.DeliveryDelivered, DeliveryFailed (given up) or
	// DeliveryPending (to try again at NextAttemptAt).
	State         string
	NextAttemptAt time.Time
	Status        int
	Error         string
	At            time.Time
}

// ListNotificationDeliveriesParams are the arguments of
// ListNotificationDeliveries.
type ListNotificationDeliveriesParams struct {
	Destination string
	Limit       int
}
