package api

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/view"
)

// The API renders the wire types of the public client package, so the
// client and the server share one definition of every body.

// jsonString encodes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// timeOrNull, stringOrNull and errorList are view's, under the names the
// API's handlers use.
func timeOrNull(t time.Time) *string { return view.TimeOrNull(t) }

func stringOrNull(s string) *string { return view.StringOrNull(s) }

func environmentSummaryOf(e liftoff.Environment) client.EnvironmentSummary {
	return client.EnvironmentSummary{EnvironmentID: e.ID, GivenID: e.GivenID, Name: e.Name, IsPreviewEnvironment: e.IsPreview,
		Branch: stringOrNull(e.Branch)}
}

func projectOf(v project.View) client.Project {
	out := client.Project{ProjectID: v.Project.ID, Name: v.Project.Name, Slug: v.Project.Slug, RepoURL: v.Project.RepoURL, ConfigPath: v.Project.ConfigPath,
		DefaultBranch: v.Project.DefaultBranch, ConfigCommit: v.Project.ConfigCommit, CreatedAt: client.FormatTime(v.Project.CreatedAt),
		GitHubRepository: stringOrNull(v.Project.GitHubRepository),
		UpdatedAt:        client.FormatTime(v.Project.UpdatedAt), Environments: []client.EnvironmentSummary{}, Warnings: v.Warnings}
	for _, e := range v.Environments {
		out.Environments = append(out.Environments, environmentSummaryOf(e))
	}
	return out
}

// environmentOf renders Get Environment; states are the runtime states of
// its services' instances, by service id (supervision.Service.States).
// environmentOf renders an environment. A managed service (rds,
// elasticache) is deployed once Liftoff made it (it has a state); until
// then its reason says why not, by what this Liftoff manages (avail).
func environmentOf(v project.EnvironmentView, states map[string][]liftoff.ServiceState, avail map[string]bool) client.Environment {
	out := client.Environment{EnvironmentSummary: environmentSummaryOf(v.Environment), ProjectID: v.Environment.ProjectID,
		CreatedAt: client.FormatTime(v.Environment.CreatedAt), Services: []client.Service{}}
	for _, s := range v.Services {
		svc := client.Service{ServiceID: s.ID, ServiceGivenID: s.GivenID, ServiceName: s.Name, Type: s.Type, Deployed: true}
		if s.Config.Managed() != "" && len(states[s.ID]) == 0 {
			why := s.Config.NotManagedReason(avail)
			if why == "" {
				why = "not made yet: the environment's next deployment makes it"
			}
			svc.Deployed, svc.Reason = false, stringOrNull(why)
		}
		for _, st := range states[s.ID] {
			if v.Environment.IsPreview {
				svc.Previews = append(svc.Previews, client.ServiceInstanceState{PRNumber: st.PRNumber, State: st.State, RestartCount: st.Restarts})
			} else if st.PRNumber == 0 {
				svc.State, svc.RestartCount = st.State, st.Restarts
			}
		}
		slices.SortFunc(svc.Previews, func(a, b client.ServiceInstanceState) int { return cmp.Compare(a.PRNumber, b.PRNumber) })
		out.Services = append(out.Services, svc)
	}
	for _, s := range v.NotRun {
		out.Services = append(out.Services, client.Service{ServiceGivenID: s.GivenID, ServiceName: s.Name, Type: s.Type,
			Reason: stringOrNull(s.Reason)})
	}
	return out
}

func hookOf(h liftoff.Hook) client.Hook {
	return client.Hook{ID: h.ID, EnvironmentID: h.EnvironmentID, Name: h.Name, CreatedAt: client.FormatTime(h.CreatedAt),
		LastUsedAt: timeOrNull(h.LastUsedAt), UseCount: h.UseCount, LastCallerAddress: stringOrNull(h.LastCallerAddress), Paused: h.Paused}
}

func previewOf(p liftoff.PreviewInstance) client.PreviewInstance {
	return client.PreviewInstance{EnvironmentID: p.EnvironmentID, PRNumber: p.PRNumber, HeadBranch: stringOrNull(p.HeadBranch),
		CreatedAt: client.FormatTime(p.CreatedAt), LastDeployedAt: client.FormatTime(p.LastDeployedAt), TeardownAt: timeOrNull(p.TeardownAt),
		DeletedAt: timeOrNull(p.DeletedAt)}
}

// resourceOf renders a managed resource, never its password.
func resourceOf(environmentID int64, prNumber int, service, kind, name, state string, created time.Time) client.Resource {
	out := client.Resource{EnvironmentID: environmentID, ServiceGivenID: service, Kind: kind, Name: name, State: state,
		CreatedAt: client.FormatTime(created)}
	if prNumber > 0 {
		out.PRNumber = new(prNumber)
	}
	return out
}
