// Package view renders the records of internal/liftoff as the wire types
// of the public client package: one definition of each body, shared by
// the API and the notifications that carry the same shapes.
package view

import (
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// TimeOrNull is a timestamp in the API's format, or null.
func TimeOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := client.FormatTime(t)
	return &s
}

// StringOrNull is s, or null when it is empty.
func StringOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ErrorList is the API's error field: null or [{"STATUS": "message"}].
func ErrorList(errs []liftoff.ErrorEntry) []map[string]string {
	if len(errs) == 0 {
		return nil
	}
	out := make([]map[string]string, len(errs))
	for i, e := range errs {
		out[i] = map[string]string{string(e.Status): e.Message}
	}
	return out
}

// Deployment renders the exact shape of Get Deployment (docs/api.md): the
// API answers it, and package notify sends it in every event.
func Deployment(d liftoff.Deployment) client.Deployment {
	v := client.Deployment{
		DeploymentID: d.ID, ProjectID: d.ProjectID, EnvironmentID: d.EnvironmentID, EnvironmentGivenID: d.EnvironmentGivenID,
		IsPreviewEnvironment: d.IsPreview, CreatedAt: client.FormatTime(d.CreatedAt), StartedAt: TimeOrNull(d.StartedAt),
		FinishedAt: TimeOrNull(d.FinishedAt), RepoURL: d.RepoURL, GitCommit: d.GitCommit,
		GitBranch: d.GitBranch, Force: d.Force, ClearCache: d.ClearCache, Trigger: client.Trigger{Type: d.TriggerType},
		Status: string(d.Status), Error: ErrorList(d.Errors), ServiceDeployments: []client.ServiceDeployment{},
	}
	if d.IsPreview {
		pr := d.PRNumber
		v.PRNumber = &pr
	}
	if d.HookID != "" {
		v.Trigger.HookID, v.Trigger.HookName = StringOrNull(d.HookID), StringOrNull(d.HookName)
	}
	v.Trigger.RedeployOf = StringOrNull(d.RedeployOf)
	if detail := d.TriggerDetail; !detail.IsZero() {
		v.Trigger.Event, v.Trigger.Action = StringOrNull(detail.Event), StringOrNull(detail.Action)
		v.Trigger.APIKeyID, v.Trigger.APIKeyName = StringOrNull(detail.APIKeyID), StringOrNull(detail.APIKeyName)
		if v.GitBranch == "" && d.IsPreview {
			// A pull request event names its branch before the
			// deployment starts and records it.
			v.GitBranch = detail.HeadBranch
		}
	}
	for _, s := range d.Services {
		v.ServiceDeployments = append(v.ServiceDeployments, client.ServiceDeployment{
			ServiceDeploymentID: s.ID,
			Service: client.ServiceRef{ServiceID: s.ServiceID, ServiceGivenID: s.ServiceGivenID, ServiceName: s.ServiceName,
				ServiceDomain: StringOrNull(s.ServiceDomain), Type: s.ServiceType},
			Status: string(s.Status), Reason: StringOrNull(s.Reason), StartedAt: TimeOrNull(s.StartedAt),
			FinishedAt: TimeOrNull(s.FinishedAt), Error: ErrorList(s.Errors),
		})
	}
	return v
}
