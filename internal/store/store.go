// Package store is the persistence seam of Liftoff: the Store interface every
// other package stores through (the records it reads and writes are the
// domain types of internal/liftoff), the params structs of its calls, the
// results of its queries and the sentinel errors both dialects map their
// driver errors to. It knows no HTTP, git or process.
//
// Two dialects implement it (store/sqlite and store/postgres) on top of one
// set of queries (store/sqlstore); the conformance suite in store/storetest
// runs against both.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// Sentinel errors. Dialects map their driver errors to these so callers can
// use errors.Is without knowing which database is behind the store.
var (
	// ErrNotFound: the row asked for does not exist (or is deleted, where the
	// call says deleted rows are hidden).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a uniqueness rule of the schema refused the write.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the database cannot be reached or is closed. Nothing was
	// written.
	ErrUnavailable = errors.New("store unavailable")
	// ErrLastAdmin: a change asked to keep an admin (KeepAnAdmin) would
	// have left no user with the admin role. It is an ErrConflict.
	ErrLastAdmin = fmt.Errorf("%w: no admin would be left", ErrConflict)
)

// Store is the whole persistence API. Queries outside Tx run on their own;
// Tx runs several calls atomically.
type Store interface {
	Queries

	// Tx runs fn in one write transaction: every call made through the
	// Queries it receives commits together or not at all. fn must do nothing
	// slow besides its queries (no git, no network): on SQLite it shares a
	// commit with concurrent transactions (group commit). The transaction is
	// durable when Tx returns nil.
	Tx(ctx context.Context, fn func(q Queries) error) error

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// SchemaVersion reports where the database's schema stands against the
	// migrations this binary embeds. ErrUnavailable when the database does
	// not answer, or (SQLite) its file was removed or replaced; Embedded is
	// set even then.
	SchemaVersion(ctx context.Context) (SchemaVersion, error)
	// Dialect names the database: "sqlite" or "postgres".
	Dialect() string
	// Close releases the database. Calls after Close return ErrUnavailable.
	Close() error
}

// SchemaVersion is where a database's schema stands.
type SchemaVersion struct {
	// Current is the newest migration applied to the database: 0 when it
	// has none (a database dropped and created again empty).
	Current int64
	// Embedded is the newest migration this binary carries and applies at
	// start.
	Embedded int64
}

// Matches reports whether the schema is the one this binary expects: not
// behind (an emptied database), not ahead (a newer binary migrated it).
func (v SchemaVersion) Matches() bool { return v.Current == v.Embedded }

// Queries are the calls of the store, grouped by the record they serve.
type Queries interface {
	ProjectQueries
	APIKeyQueries
	HookQueries
	DeploymentQueries
	EngineQueries
	LogQueries
	PreviewQueries
	HostQueries
	DeliveryQueries
	VariableQueries
	JobQueries
	RuntimeQueries
	ProtectionQueries
	CertificateQueries
	UserQueries
	ResourceQueries
	NotificationQueries
}

// ProjectQueries store projects, their environments and services.
type ProjectQueries interface {
	CreateProject(ctx context.Context, p CreateProjectParams) (liftoff.Project, error)
	GetProject(ctx context.Context, p GetProjectParams) (liftoff.Project, error)
	ListProjects(ctx context.Context) ([]liftoff.Project, error)
	// ListDeletedProjects lists the deleted projects, in the order they
	// were deleted (each one's UpdatedAt is when), for the nodes to remove
	// what they keep of them.
	ListDeletedProjects(ctx context.Context) ([]liftoff.Project, error)
	// GetProjectBySlug returns the live project with the slug.
	GetProjectBySlug(ctx context.Context, p GetProjectBySlugParams) (liftoff.Project, error)
	// SetProjectSlug gives a project created before slugs existed its slug;
	// ErrConflict when another live project has it.
	SetProjectSlug(ctx context.Context, p SetProjectSlugParams) error
	// UpdateProjectConfig records the commit and default branch the config was
	// last read from.
	UpdateProjectConfig(ctx context.Context, p UpdateProjectConfigParams) (liftoff.Project, error)
	// SyncEnvironments makes the project's environments and services match
	// p.Environments: existing ones (by given id) keep their ids, new ones get
	// new ids, missing ones are marked deleted. A deleted one that comes back
	// gets its old id again.
	SyncEnvironments(ctx context.Context, p SyncEnvironmentsParams) ([]liftoff.Environment, error)
	// ListEnvironments lists a project's environments that are not deleted.
	ListEnvironments(ctx context.Context, p ListEnvironmentsParams) ([]liftoff.Environment, error)
	// GetEnvironment returns an environment, deleted or not.
	GetEnvironment(ctx context.Context, p GetEnvironmentParams) (liftoff.Environment, error)
	// ListServices lists an environment's services that are not deleted.
	ListServices(ctx context.Context, p ListServicesParams) ([]liftoff.Service, error)
	// GetService returns a service that is not deleted.
	GetService(ctx context.Context, p GetServiceParams) (liftoff.Service, error)
	// DeleteProject marks a live project deleted with its environments,
	// services, hooks and preview instances, cancels its PENDING
	// deployments (with p.Message), asks its running ones to stop, frees
	// its host names and deletes its variables and secrets, in one
	// transaction; ErrNotFound when no live project
	// has the id. Its history (deployments, logs) stays.
	DeleteProject(ctx context.Context, p DeleteProjectParams) (liftoff.Project, error)
	// GetRepoCredential returns the credential of a project's repository
	// (zero when it has none). Only the code that runs git calls it.
	GetRepoCredential(ctx context.Context, p GetRepoCredentialParams) (liftoff.RepoCredential, error)
	// ReplaceRepoCredential replaces a live project's credential if it is
	// still p.Old (sealing it, sealing it again under a new key); false
	// when it changed or the project went.
	ReplaceRepoCredential(ctx context.Context, p ReplaceRepoCredentialParams) (bool, error)
}

// APIKeyQueries store API keys. Keys are stored only as a hash.
type APIKeyQueries interface {
	CreateAPIKey(ctx context.Context, p CreateAPIKeyParams) (liftoff.APIKey, error)
	ListAPIKeys(ctx context.Context) ([]liftoff.APIKey, error)
	// GetAPIKeyByHash finds a key that is not deleted.
	GetAPIKeyByHash(ctx context.Context, p GetAPIKeyByHashParams) (liftoff.APIKey, error)
	DeleteAPIKey(ctx context.Context, p DeleteAPIKeyParams) error
}

// UserQueries store the dashboard's users and their sessions. Passwords and
// session tokens are stored only as hashes.
type UserQueries interface {
	// CreateUser stores a user; ErrConflict when another has the email.
	CreateUser(ctx context.Context, p CreateUserParams) (liftoff.User, error)
	// GetUser returns a user by id.
	GetUser(ctx context.Context, p GetUserParams) (liftoff.User, error)
	// GetUserByEmail returns the user with the email (lowercase).
	GetUserByEmail(ctx context.Context, p GetUserByEmailParams) (liftoff.User, error)
	// ListUsers lists the users, oldest first.
	ListUsers(ctx context.Context) ([]liftoff.User, error)
	// SetUserPassword replaces a user's password hash and ends every
	// session of the user; ErrNotFound when there is no such user.
	SetUserPassword(ctx context.Context, p SetUserPasswordParams) error
	// SetUserRole gives a user a new role and its environments;
	// ErrNotFound when there is no such user, ErrLastAdmin (with
	// p.KeepAnAdmin) when it would take the admin role from the last user
	// who has it. Its sessions go on, with the new role.
	SetUserRole(ctx context.Context, p SetUserRoleParams) (liftoff.User, error)
	// DeleteUser deletes a user and its sessions; ErrNotFound when there is
	// no such user, ErrLastAdmin (with p.KeepAnAdmin) when it is the last
	// user with the admin role.
	DeleteUser(ctx context.Context, p DeleteUserParams) error

	// CreateSession stores a new session of a user.
	CreateSession(ctx context.Context, p CreateSessionParams) error
	// GetSession returns the session with the hash, with its user, unless
	// it expired at p.At: then, or when there is none, ErrNotFound.
	GetSession(ctx context.Context, p GetSessionParams) (liftoff.Session, error)
	// TouchSession pushes a live session's expiry to p.ExpiresAt and
	// records p.At as when it was last seen; ErrNotFound when it is gone.
	TouchSession(ctx context.Context, p TouchSessionParams) error
	// DeleteSession ends a session (none is no error).
	DeleteSession(ctx context.Context, p DeleteSessionParams) error
	// DeleteExpiredSessions removes the sessions that expired before
	// p.Before and returns how many.
	DeleteExpiredSessions(ctx context.Context, p DeleteExpiredSessionsParams) (int64, error)
}

// HookQueries store deploy hooks, their calls and idempotency keys.
type HookQueries interface {
	CreateHook(ctx context.Context, p CreateHookParams) (liftoff.Hook, error)
	// GetHook returns a hook that is not deleted.
	GetHook(ctx context.Context, p GetHookParams) (liftoff.Hook, error)
	// ListHooks lists an environment's hooks that are not deleted, oldest first.
	ListHooks(ctx context.Context, p ListHooksParams) ([]liftoff.Hook, error)
	RotateHook(ctx context.Context, p RotateHookParams) (liftoff.Hook, error)
	SetHookPaused(ctx context.Context, p SetHookPausedParams) (liftoff.Hook, error)
	DeleteHook(ctx context.Context, p DeleteHookParams) error
	// HookTarget reads, in one query, what a hook call needs to authenticate
	// and decide: the environment (deleted or not), its live hooks and how
	// many services it has.
	HookTarget(ctx context.Context, p HookTargetParams) (HookTarget, error)

	// RecordHookCalls appends calls and updates each hook's usage counters.
	RecordHookCalls(ctx context.Context, calls []liftoff.HookCall) error
	// ListHookCalls lists a hook's calls, newest first.
	ListHookCalls(ctx context.Context, p ListHookCallsParams) ([]liftoff.HookCall, error)
	// PruneHookCalls keeps the newest p.Keep calls of each of p.HookIDs.
	PruneHookCalls(ctx context.Context, p PruneHookCallsParams) error

	// GetIdempotencyKey returns the deployment recorded for (p.HookID, p.Key)
	// at or after p.Since, or ErrNotFound.
	GetIdempotencyKey(ctx context.Context, p GetIdempotencyKeyParams) (string, error)
	// PutIdempotencyKey records (p.HookID, p.Key) → p.DeploymentID, replacing
	// a record older than p.ExpiredBefore; ErrConflict when a fresh one
	// exists.
	PutIdempotencyKey(ctx context.Context, p PutIdempotencyKeyParams) error
	DeleteIdempotencyKeysBefore(ctx context.Context, p DeleteIdempotencyKeysBeforeParams) (int64, error)
}

// DeploymentQueries store deployments and service deployments.
type DeploymentQueries interface {
	// InsertDeployment stores a new deployment. ErrConflict when its
	// environment instance already has a PENDING one.
	InsertDeployment(ctx context.Context, d liftoff.Deployment) error
	// InsertPendingDeployment stores a new PENDING deployment unless its
	// environment instance already has one; false when it had. One statement:
	// the common hook call costs one round trip.
	InsertPendingDeployment(ctx context.Context, d liftoff.Deployment) (bool, error)
	// GetDeployment returns a deployment with its service deployments.
	GetDeployment(ctx context.Context, p GetDeploymentParams) (liftoff.Deployment, error)
	// GetPendingDeployment returns the PENDING deployment of an environment
	// instance, or ErrNotFound.
	GetPendingDeployment(ctx context.Context, p GetPendingDeploymentParams) (liftoff.Deployment, error)
	// LockInstance, in a transaction, makes every other transaction that
	// locks the same environment instance wait until this one ends, so
	// that enqueues of one instance (read its PENDING deployment, then
	// join, supersede or insert) take turns instead of racing into the
	// unique index. On PostgreSQL a transaction-scoped advisory lock; on
	// SQLite nothing, as its write transactions already take turns.
	LockInstance(ctx context.Context, p LockInstanceParams) error
	// JoinPendingDeployment upgrades force and clearCache on a deployment
	// that is still PENDING; false when it is no longer PENDING.
	JoinPendingDeployment(ctx context.Context, p JoinPendingDeploymentParams) (bool, error)
	// FinishPendingDeployment ends a deployment that is still PENDING with a
	// final status and errors; false when it is no longer PENDING.
	FinishPendingDeployment(ctx context.Context, p FinishDeploymentParams) (bool, error)
	// QueueStats counts the PENDING deployments (and the creation time of
	// the oldest) and the running ones, of every environment.
	QueueStats(ctx context.Context) (QueueStats, error)
	// ListDeployments lists deployments newest first, each with its
	// service deployments (as GetDeployment returns it).
	ListDeployments(ctx context.Context, p ListDeploymentsParams) ([]liftoff.Deployment, error)
}

// EngineQueries serve the deployment engine: claiming deployments under a
// lease, recording their progress, and finding what each service last
// deployed.
type EngineQueries interface {
	// ClaimDeployment starts the oldest PENDING deployment whose environment
	// instance runs nothing and is not a torn down preview still being
	// cleaned up (INPROGRESS, leased to p.Owner), or returns ErrNotFound when
	// none can start. A unique index keeps one running
	// deployment per instance whichever replica claims.
	ClaimDeployment(ctx context.Context, p ClaimParams) (liftoff.Deployment, error)
	// RenewLease extends a running deployment's lease and reports whether it
	// was asked to cancel; ErrNotFound when it is no longer running for p.Owner.
	RenewLease(ctx context.Context, p RenewLeaseParams) (cancelRequested bool, err error)
	UpdateRunningDeployment(ctx context.Context, p UpdateRunningParams) error
	// FinishDeployment ends a running deployment; false when it was not running.
	FinishDeployment(ctx context.Context, p FinishDeploymentParams) (bool, error)
	// RequestCancel ends a PENDING deployment at once and asks a running one
	// to stop. It returns the deployment's status afterwards.
	RequestCancel(ctx context.Context, p RequestCancelParams) (liftoff.Status, error)
	// InterruptDeployments ends running deployments that lost their worker
	// with ERROR, and their unfinished service deployments too; it returns
	// their ids.
	InterruptDeployments(ctx context.Context, p InterruptParams) ([]string, error)

	InsertServiceDeployment(ctx context.Context, sd liftoff.ServiceDeployment) error
	UpdateServiceDeployment(ctx context.Context, p UpdateServiceDeploymentParams) error
	// LastSuccess returns a service's latest successful deployment in an
	// environment instance within the params' bounds, or ErrNotFound.
	LastSuccess(ctx context.Context, p LastSuccessParams) (liftoff.ServiceDeployment, error)
	// LastDeployedCommit returns the commit of the latest successful service
	// deployment of an environment instance: what it runs now. ErrNotFound when it never deployed.
	LastDeployedCommit(ctx context.Context, p LastDeployedCommitParams) (string, error)
	// LiveReleases returns, for every live service of every live environment
	// instance (a preview instance counts from its current incarnation), its
	// latest successful deployment that still has its build.
	LiveReleases(ctx context.Context) ([]liftoff.ServiceDeployment, error)
	// KeptBuilds lists a service instance's successful deployments that still
	// have a build, newest first.
	KeptBuilds(ctx context.Context, p KeptBuildsParams) ([]liftoff.ServiceDeployment, error)
	ClearBuildDir(ctx context.Context, p ClearBuildDirParams) error
	// EnsureServices creates or updates services of an environment without
	// removing others (the config at a deployed commit may be newer than the
	// last sync).
	EnsureServices(ctx context.Context, p EnsureServicesParams) ([]liftoff.Service, error)
}

// LogQueries store deployment output.
type LogQueries interface {
	AppendLogs(ctx context.Context, lines []liftoff.LogLine) error
	// ListLogs returns lines in order, after AfterID.
	ListLogs(ctx context.Context, p ListLogsParams) ([]liftoff.LogLine, error)
}

// PreviewQueries store preview instances.
type PreviewQueries interface {
	// UpsertPreviewInstance creates a PR's instance, or starts a torn down
	// one afresh, and records a deployment of it.
	UpsertPreviewInstance(ctx context.Context, p UpsertPreviewParams) (liftoff.PreviewInstance, error)
	// GetPreviewInstance returns an instance, torn down or not.
	GetPreviewInstance(ctx context.Context, p GetPreviewInstanceParams) (liftoff.PreviewInstance, error)
	// ListPreviewInstances lists an environment's live instances (and torn
	// down ones with p.IncludeDeleted), by PR number.
	ListPreviewInstances(ctx context.Context, p ListPreviewInstancesParams) ([]liftoff.PreviewInstance, error)
	// DeletePreviewInstance marks a live instance torn down; ErrNotFound when
	// there is none.
	DeletePreviewInstance(ctx context.Context, p DeletePreviewInstanceParams) (liftoff.PreviewInstance, error)
	// SchedulePreviewTeardown sets (or, with a zero p.At, clears) when a live
	// instance is to be torn down.
	SchedulePreviewTeardown(ctx context.Context, p SchedulePreviewTeardownParams) error
	// PreviewsDue lists live instances whose scheduled teardown has come,
	// and live instances of p.EnvironmentIDs[i] last deployed before
	// p.StaleBefore[i] (previewTtlHours).
	PreviewsDue(ctx context.Context, p PreviewsDueParams) ([]liftoff.PreviewInstance, error)
	// PreviewsToClean lists torn down instances whose releases and builds
	// were not removed yet.
	PreviewsToClean(ctx context.Context) ([]liftoff.PreviewInstance, error)
	MarkPreviewCleaned(ctx context.Context, p MarkPreviewCleanedParams) error
	// CancelInstanceDeployments cancels an instance's PENDING deployment and
	// asks its running one to stop.
	CancelInstanceDeployments(ctx context.Context, p CancelInstanceDeploymentsParams) error
	// InstanceRunning reports whether a deployment of the instance runs.
	InstanceRunning(ctx context.Context, p InstanceRunningParams) (bool, error)
	// InstanceBuilds lists an instance's service deployments that still
	// have a build.
	InstanceBuilds(ctx context.Context, p InstanceBuildsParams) ([]liftoff.ServiceDeployment, error)
	// CountLivePreviews counts the live preview instances of a preview
	// environment and the pull requests with a deployment queued or
	// running that will create one, and says whether p.PRNumber is one of
	// them. In a transaction on PostgreSQL it first locks the
	// environment's row until the transaction ends, so that concurrent
	// callers (on any replica) count one after another; SQLite runs
	// transactions one at a time already.
	CountLivePreviews(ctx context.Context, p CountLivePreviewsParams) (LivePreviews, error)
	// ListPreviewEnvironments lists every live preview environment.
	ListPreviewEnvironments(ctx context.Context) ([]liftoff.Environment, error)
}

// HostQueries keep which project each host name belongs to.
type HostQueries interface {
	// ClaimHost gives p.Host to p's project unless another project holds
	// it, and returns the claim that holds it afterwards: p itself, an
	// earlier claim of the same project (kept as it was, but for its
	// ServiceID, which p's replaces when the claim is of p's instance), or
	// another project's.
	ClaimHost(ctx context.Context, p liftoff.HostClaim) (liftoff.HostClaim, error)
	// ReleaseUnusedDomains forgets the custom domains (every claimed name
	// not under .localhost) of an environment instance that are not in
	// p.Keep: domains its config no longer has. It returns those freed.
	ReleaseUnusedDomains(ctx context.Context, p ReleaseUnusedDomainsParams) ([]string, error)
	// ReleaseHosts forgets the host names an environment instance claimed
	// (a preview instance torn down).
	ReleaseHosts(ctx context.Context, p ReleaseHostsParams) error
}

// DeliveryQueries remember GitHub webhook deliveries, so that one replayed
// acts once.
type DeliveryQueries interface {
	// RecordGitHubDelivery forgets deliveries received before
	// p.ExpiredBefore, then records p unless a delivery with its id or its
	// body is remembered; false when one was (a replay: act on nothing).
	// Two concurrent calls with one id record it once.
	RecordGitHubDelivery(ctx context.Context, p RecordDeliveryParams) (bool, error)
	// ForgetGitHubDelivery forgets a delivery that could not be acted on,
	// so that GitHub's redelivery of it is not taken for a replay.
	ForgetGitHubDelivery(ctx context.Context, p ForgetGitHubDeliveryParams) error
}

// VariableQueries store the variables and named secrets set through the
// API. Secret values arrive and leave sealed: the store never sees them in
// clear.
type VariableQueries interface {
	// PutVariables creates or replaces variables, by (project,
	// environment, service, name).
	PutVariables(ctx context.Context, vars []liftoff.Variable) error
	// ListVariables lists the variables of p.ProjectID (every project's
	// when empty) whose environment is one of p.EnvironmentIDs (any when
	// nil; 0 is the project's own), by environment, service and name.
	ListVariables(ctx context.Context, p ListVariablesParams) ([]liftoff.Variable, error)
	// DeleteVariable removes one variable; ErrNotFound when there is none.
	DeleteVariable(ctx context.Context, p DeleteVariableParams) error
	// PutSecret creates or replaces a named secret.
	PutSecret(ctx context.Context, s liftoff.Secret) error
	// ListSecrets lists named secrets as ListVariables lists variables.
	ListSecrets(ctx context.Context, p ListVariablesParams) ([]liftoff.Secret, error)
	// DeleteSecret removes one named secret; ErrNotFound when there is none.
	DeleteSecret(ctx context.Context, p DeleteSecretParams) error
	// ResealVariable replaces a secret variable's sealed value if it is
	// still p.Old's; false when it changed or went since it was read.
	ResealVariable(ctx context.Context, p ResealParams[liftoff.Variable]) (bool, error)
	// ResealSecret is ResealVariable for a named secret.
	ResealSecret(ctx context.Context, p ResealParams[liftoff.Secret]) (bool, error)
}

// JobQueries store the executions of scheduler services' jobs. A job's
// scheduled time is recorded once across replicas (a unique key on the
// service instance, the job and the time), and a job has at most one
// execution IN_PROGRESS (a unique index), held under a lease its node
// renews.
type JobQueries interface {
	// InsertJobExecution stores a manual run, INITIALIZING, for an engine
	// to claim.
	InsertJobExecution(ctx context.Context, e liftoff.JobExecution) error
	// ClaimScheduledJob records a job's scheduled time and returns the
	// execution: IN_PROGRESS, leased to p.Owner, or SKIPPED (with
	// p.SkipMessage) when the job has an execution IN_PROGRESS.
	// ErrConflict when the time was recorded already (by any replica).
	ClaimScheduledJob(ctx context.Context, p ClaimScheduledJobParams) (liftoff.JobExecution, error)
	// ClaimJobExecution starts the oldest INITIALIZING execution of the
	// service instances of p.Releases whose job has none IN_PROGRESS
	// (IN_PROGRESS, leased to p.Owner, in the instance's release of
	// p.Releases), or returns ErrNotFound.
	ClaimJobExecution(ctx context.Context, p ClaimJobExecutionParams) (liftoff.JobExecution, error)
	// RenewJobLease extends a running execution's lease; ErrNotFound when
	// it is no longer running for p.Owner.
	RenewJobLease(ctx context.Context, p RenewJobLeaseParams) error
	// FinishJobExecution ends an execution IN_PROGRESS for p.Owner; false
	// when it was not (it lost its lease).
	FinishJobExecution(ctx context.Context, p FinishJobExecutionParams) (bool, error)
	// InterruptJobExecutions ends FAILED the executions IN_PROGRESS that
	// lost their node, and returns their ids.
	InterruptJobExecutions(ctx context.Context, p InterruptJobExecutionsParams) ([]string, error)
	GetJobExecution(ctx context.Context, p GetJobExecutionParams) (liftoff.JobExecution, error)
	// ListJobExecutions lists a service instance's executions, newest
	// first.
	ListJobExecutions(ctx context.Context, p ListJobExecutionsParams) ([]liftoff.JobExecution, error)
}

// RuntimeQueries store what the supervision of releases saw: the state of
// each service instance's release and its last restarts, so that every
// replica can show them.
type RuntimeQueries interface {
	// PutServiceState records the state of a service instance, replacing
	// the one before.
	PutServiceState(ctx context.Context, s liftoff.ServiceState) error
	// GetServiceState returns the state of a service instance, or
	// ErrNotFound when none was recorded.
	GetServiceState(ctx context.Context, p GetServiceStateParams) (liftoff.ServiceState, error)
	// ListServiceStates lists the recorded states of a service's
	// instances, or of every service of an environment, by service and
	// pull request number.
	ListServiceStates(ctx context.Context, p ListServiceStatesParams) ([]liftoff.ServiceState, error)
	// RecordServiceRestart stores a restart and forgets the service
	// instance's older ones beyond p.Keep.
	RecordServiceRestart(ctx context.Context, p RecordServiceRestartParams) error
	// ListServiceRestarts lists a service instance's restarts, newest
	// first.
	ListServiceRestarts(ctx context.Context, p ListServiceRestartsParams) ([]liftoff.ServiceRestart, error)
}

// ProtectionQueries store who may open each environment's services
// through Liftoff's proxy: its mode and shared password (sealed; the
// store never sees it in clear).
type ProtectionQueries interface {
	// GetEnvironmentProtection returns what was set for an environment;
	// ErrNotFound when nothing was (it has the default of its kind).
	GetEnvironmentProtection(ctx context.Context, p GetEnvironmentProtectionParams) (liftoff.EnvironmentProtection, error)
	// SetEnvironmentProtection sets an environment's mode, its password,
	// or both, in one statement (concurrent calls changing one each lose
	// neither), and returns what is set afterwards.
	SetEnvironmentProtection(ctx context.Context, p SetEnvironmentProtectionParams) (liftoff.EnvironmentProtection, error)
	// ListEnvironmentProtections lists what was set for every
	// environment, by environment id.
	ListEnvironmentProtections(ctx context.Context) ([]liftoff.EnvironmentProtection, error)
	// ResealProtectionPassword replaces an environment's sealed password
	// if it is still p.Old's; false when it changed or went since it was
	// read.
	ResealProtectionPassword(ctx context.Context, p ResealParams[liftoff.EnvironmentProtection]) (bool, error)
}

// CertificateQueries store what the TLS certificates need, for every
// replica to share (package certstore, behind certmagic): items (values
// under slash-separated keys, sealed: the store never sees them in clear)
// and the locks replicas take before issuing or renewing a certificate.
// Keys are compared byte by byte; the items "under" a prefix are those
// whose key starts with the prefix and a slash ("a" is a prefix of "a/b",
// not of "ab/c").
type CertificateQueries interface {
	// PutCertificateItem creates or replaces the item at its key.
	PutCertificateItem(ctx context.Context, item liftoff.CertificateItem) error
	// GetCertificateItem returns the item at p.Key, or ErrNotFound.
	GetCertificateItem(ctx context.Context, p GetCertificateItemParams) (liftoff.CertificateItem, error)
	// ListCertificateItems lists the items under p.Prefix (every item when
	// it is empty), by key, at most p.Limit of them when it is positive;
	// their sealed values only with p.Sealed.
	ListCertificateItems(ctx context.Context, p ListCertificateItemsParams) ([]liftoff.CertificateItem, error)
	// DeleteCertificateItems removes the item at p.Key and every item under
	// it, and returns how many it removed (none is no error).
	DeleteCertificateItems(ctx context.Context, p DeleteCertificateItemsParams) (int64, error)
	// ResealCertificateItem replaces an item's sealed value if it is still
	// p.Old's; false when it changed or went since it was read.
	ResealCertificateItem(ctx context.Context, p ResealParams[liftoff.CertificateItem]) (bool, error)

	// AcquireCertificateLock takes the lock p.Name for p.Owner until
	// p.ExpiresAt, when nobody holds it or its holder let it expire (its
	// expiry is not after p.At); false when another holder has it. One
	// statement: of concurrent callers, on any replica, one wins.
	AcquireCertificateLock(ctx context.Context, p AcquireCertificateLockParams) (bool, error)
	// RenewCertificateLock moves the expiry of the lock p.Name to
	// p.ExpiresAt if p.Owner still holds it; false when it does not (it
	// expired and another holder took it).
	RenewCertificateLock(ctx context.Context, p RenewCertificateLockParams) (bool, error)
	// ReleaseCertificateLock frees the lock p.Name if p.Owner holds it;
	// false when it does not, and then leaves it as it is.
	ReleaseCertificateLock(ctx context.Context, p ReleaseCertificateLockParams) (bool, error)
}

// ResourceQueries store the managed resources Liftoff made on the
// operator's servers (databases, Redis users), so that every replica
// knows them and their passwords (sealed: the store never sees them in
// clear). A resource is recorded before it is made on its server and
// forgotten after it was dropped there.
type ResourceQueries interface {
	// InsertManagedResource records a resource; ErrConflict when its
	// environment instance has one for the service already, or another
	// resource of its kind has its name.
	InsertManagedResource(ctx context.Context, r liftoff.ManagedResource) error
	// GetManagedResource returns the resource of a service of an
	// environment instance, or ErrNotFound.
	GetManagedResource(ctx context.Context, p GetManagedResourceParams) (liftoff.ManagedResource, error)
	// ListManagedResources lists resources by environment, PR number and
	// service.
	ListManagedResources(ctx context.Context, p ListManagedResourcesParams) ([]liftoff.ManagedResource, error)
	// SetManagedResourceState changes a resource's state; ErrNotFound
	// when it is not recorded.
	SetManagedResourceState(ctx context.Context, p SetManagedResourceStateParams) error
	// DeleteManagedResource forgets a resource (none is no error).
	DeleteManagedResource(ctx context.Context, p DeleteManagedResourceParams) error
	// ResealManagedResource replaces a resource's sealed password if it
	// is still p.Old's; false when it changed or went since it was read.
	ResealManagedResource(ctx context.Context, p ResealParams[liftoff.ManagedResource]) (bool, error)
}

// NotificationQueries store what package notify tells: the events derived
// from deployments (each (deployment, type) once, whichever replica
// derives it), the webhooks of environments (their secrets sealed: the
// store never sees them in clear) and the durable queue of deliveries,
// claimed under a lease as the engine claims deployments.
type NotificationQueries interface {
	// CreateNotificationEndpoint stores an endpoint; ErrConflict when it is
	// declared in the config and its environment has a live one with its
	// URL declared there already.
	CreateNotificationEndpoint(ctx context.Context, e liftoff.NotificationEndpoint) error
	// GetNotificationEndpoint returns a live endpoint, or ErrNotFound.
	GetNotificationEndpoint(ctx context.Context, p GetNotificationEndpointParams) (liftoff.NotificationEndpoint, error)
	// ListNotificationEndpoints lists the live endpoints of an environment
	// (of every environment when p.EnvironmentID is 0), oldest first.
	ListNotificationEndpoints(ctx context.Context, p ListNotificationEndpointsParams) ([]liftoff.NotificationEndpoint, error)
	// DeleteNotificationEndpoint marks a live endpoint deleted and gives up
	// its pending deliveries; ErrNotFound when there is none.
	DeleteNotificationEndpoint(ctx context.Context, p DeleteNotificationEndpointParams) error
	// ResealNotificationEndpoint replaces a live endpoint's sealed secret
	// if it is still p.Old's; false when it changed or went since it was
	// read.
	ResealNotificationEndpoint(ctx context.Context, p ResealParams[liftoff.NotificationEndpoint]) (bool, error)

	// UntoldDeployments lists, oldest first, the deployments whose told
	// stage lags their state: nothing told, started but its start not
	// told, or ended but its end not told. It reads only deployments not
	// told to the end (an index holds those).
	UntoldDeployments(ctx context.Context, p UntoldDeploymentsParams) ([]UntoldDeployment, error)
	// RecordDeploymentEvents records, in one transaction, the events of
	// p not recorded yet, with one pending delivery each to every live
	// endpoint of p.EnvironmentID that hears its type and to every sink,
	// and moves the deployment's told stage up to p.Told. It returns how
	// many events this call recorded: two calls at once (on any replicas)
	// record each event, and its deliveries, once.
	RecordDeploymentEvents(ctx context.Context, p RecordDeploymentEventsParams) (int, error)

	// ClaimNotificationDelivery takes the pending delivery due soonest at
	// p.At whose destination has no earlier event of its deployment still
	// pending, counts an attempt, and leases it to p.Owner until
	// p.LeaseUntil (when it is due again if not finished); ErrNotFound
	// when none is due.
	ClaimNotificationDelivery(ctx context.Context, p ClaimNotificationDeliveryParams) (liftoff.NotificationDelivery, error)
	// FinishNotificationDelivery records how an attempt of p.Owner went;
	// false when the delivery is no longer its own (its lease ran out and
	// another took it, or it was given up).
	FinishNotificationDelivery(ctx context.Context, p FinishNotificationDeliveryParams) (bool, error)
	// ListNotificationDeliveries lists a destination's deliveries, newest
	// first, at most p.Limit when it is positive.
	ListNotificationDeliveries(ctx context.Context, p ListNotificationDeliveriesParams) ([]liftoff.NotificationDelivery, error)
}
