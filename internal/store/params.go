package store

// CreateProjectParams are the arguments of CreateProject.
type CreateProjectParams struct {
	ID            string
	Name          string
	RepoURL       string
	ConfigPath    string
	DefaultBranch string
	ConfigCommit  string
	At            Time
}

// UpdateProjectConfigParams are the arguments of UpdateProjectConfig.
type UpdateProjectConfigParams struct {
	ID            string
	ConfigPath    string
	DefaultBranch string
	ConfigCommit  string
	At            Time
}

// SyncEnvironmentsParams are the arguments of SyncEnvironments.
type SyncEnvironmentsParams struct {
	ProjectID    string
	Environments []EnvironmentSpec
	At           Time
	// NewServiceID makes the id of a service seen for the first time.
	NewServiceID func() string
}

// EnvironmentSpec is an environment as the config describes it.
type EnvironmentSpec struct {
	GivenID   string
	Name      string
	IsPreview bool
	Branch    string
	Config    []byte
	Services  []ServiceSpec
}

// ServiceSpec is a service as the config describes it.
type ServiceSpec struct {
	GivenID string
	Name    string
	Type    string
	Config  []byte
}

// CreateAPIKeyParams are the arguments of CreateAPIKey.
type CreateAPIKeyParams struct {
	ID   string
	Name string
	Hash string
	At   Time
}

// CreateHookParams are the arguments of CreateHook.
type CreateHookParams struct {
	ID            string
	EnvironmentID int64
	Name          string
	SecretHash    string
	At            Time
}

// RotateHookParams are the arguments of RotateHook. With a zero
// PreviousExpiresAt the old secret stops working at once.
type RotateHookParams struct {
	ID                string
	SecretHash        string
	PreviousExpiresAt Time
	At                Time
}

// PutIdempotencyKeyParams are the arguments of PutIdempotencyKey.
type PutIdempotencyKeyParams struct {
	HookID        string
	Key           string
	DeploymentID  string
	At            Time
	ExpiredBefore Time
}

// FinishDeploymentParams end a deployment.
type FinishDeploymentParams struct {
	ID     string
	Status Status
	Errors []ErrorEntry
	At     Time
}

// ListDeploymentsParams filter and page ListDeployments. Zero values do not
// filter.
type ListDeploymentsParams struct {
	ProjectID     string
	EnvironmentID int64
	PRNumber      int // with HasPRNumber: only that preview instance
	HasPRNumber   bool
	Status        Status
	Limit         int
	// After pages: only deployments strictly older than (AfterCreatedAt, AfterID).
	AfterCreatedAt Time
	AfterID        string
}
