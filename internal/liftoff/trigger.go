package liftoff

import "reflect"

// TriggerDetail says more about what started a deployment than its type:
// the GitHub event, the API key. The store keeps it as JSON.
type TriggerDetail struct {
	Event      string `json:"event,omitempty"`      // GitHub event: pull_request, push
	Action     string `json:"action,omitempty"`     // opened, synchronize ...
	Sender     string `json:"sender,omitempty"`     // GitHub login
	BaseBranch string `json:"baseBranch,omitempty"` // the PR's base branch
	HeadBranch string `json:"headBranch,omitempty"` // the PR's branch
	// FilterWatchPaths: deploy only when a file the PR changes matches the
	// preview environment's filter.watchPaths.
	FilterWatchPaths []string `json:"filterWatchPaths,omitempty"`
	// Forced: the push was a force push (it may take the branch back).
	Forced bool `json:"forced,omitempty"`
	// Superseded are the commits the PENDING deployments this push
	// deployment superseded asked for ("" for the branch head), oldest
	// first: a late delivery of an older push deploys the newer of them.
	Superseded []string `json:"superseded,omitempty"`
	// APIKeyID and APIKeyName name the key of an api trigger.
	APIKeyID   string `json:"apiKeyId,omitempty"`
	APIKeyName string `json:"apiKeyName,omitempty"`
}

// IsZero reports whether t says nothing (a hook or a redeploy): the store
// keeps no detail for it.
func (t TriggerDetail) IsZero() bool { return reflect.ValueOf(t).IsZero() }
