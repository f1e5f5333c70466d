package deployment

import "encoding/json"

// TriggerDetail is what the deployments table keeps about a trigger beyond
// its type, as JSON.
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

// Encode returns the detail as stored.
func (t TriggerDetail) Encode() string {
	b, _ := json.Marshal(t)
	return string(b)
}

// ParseDetail reads a stored trigger detail; an unreadable one is empty.
func ParseDetail(s string) TriggerDetail {
	var t TriggerDetail
	if s != "" {
		_ = json.Unmarshal([]byte(s), &t)
	}
	return t
}
