package report

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/notify"
)

// statusContext is the commit status's context of an environment.
func statusContext(ev notify.Event) string {
	name := ev.Environment.GivenID
	if name == "" {
		name = ev.Deployment.EnvironmentGivenID
	}
	return "liftoff/" + name
}

type commitStatus struct {
	State       string `json:"state"`
	TargetURL   string `json:"target_url,omitempty"`
	Description string `json:"description,omitempty"`
	Context     string `json:"context"`
}

// commitStatus sets the commit's status for the event, unless the newest
// status of its context already says it, or says a later state of the
// same deployment (the same link).
func (r *Reporter) commitStatus(ctx context.Context, rr repoRef, ev notify.Event, st state) error {
	want := commitStatus{State: st.commit, TargetURL: r.deploymentURL(ev.Deployment.ID), Description: clip(st.description, 140),
		Context: statusContext(ev)}
	var list []struct {
		commitStatus
		ID int64 `json:"id"`
	}
	// Newest first: the first of the context is its current status.
	if _, err := r.call(ctx, rr.repo, "GET", "/repos/"+rr.repo+"/commits/"+rr.sha+"/statuses?per_page=100", nil, &list); err != nil {
		return err
	}
	for _, s := range list {
		if s.Context != want.Context {
			continue
		}
		if s.commitStatus == want {
			return nil
		}
		if want.TargetURL != "" && s.TargetURL == want.TargetURL && commitRank(s.commitStatus) >= st.rank {
			return nil
		}
		break
	}
	_, err := r.call(ctx, rr.repo, "POST", "/repos/"+rr.repo+"/statuses/"+rr.sha, want, nil)
	return err
}

// commitRank is the rank of a status this reporter set.
func commitRank(s commitStatus) int {
	switch {
	case s.State != "pending":
		return rankFinal
	case s.Description == "Deploying":
		return rankRunning
	}
	return rankQueued
}

// deploymentPayload is what a GitHub deployment made by Liftoff carries:
// the Liftoff deployment it is, so that it is found again.
type deploymentPayload struct {
	DeploymentID string `json:"liftoffDeploymentId"`
}

type ghDeployment struct {
	ID      int64           `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// liftoffID is the Liftoff deployment a GitHub deployment is, or "".
func (d ghDeployment) liftoffID() string {
	var p deploymentPayload
	if json.Unmarshal(d.Payload, &p) == nil {
		return p.DeploymentID
	}
	// The API has answered payload as a JSON string holding the object.
	var s string
	if json.Unmarshal(d.Payload, &s) == nil && json.Unmarshal([]byte(s), &p) == nil {
		return p.DeploymentID
	}
	return ""
}

type deploymentStatus struct {
	State          string `json:"state"`
	LogURL         string `json:"log_url,omitempty"`
	Description    string `json:"description,omitempty"`
	EnvironmentURL string `json:"environment_url,omitempty"`
	AutoInactive   bool   `json:"auto_inactive"`
}

// deployment finds (or makes) the GitHub deployment of the event's
// deployment and sets its status, unless its newest status already says
// this state or a later one.
func (r *Reporter) deployment(ctx context.Context, rr repoRef, ev notify.Event, st state) error {
	env := environmentName(ev)
	id, err := r.findDeployment(ctx, rr, env, ev.Deployment.ID)
	if err != nil {
		return err
	}
	if id == 0 {
		preview := ev.Deployment.PRNumber > 0
		in := map[string]any{
			"ref": rr.sha, "task": "deploy", "auto_merge": false, "required_contexts": []string{},
			"payload": deploymentPayload{DeploymentID: ev.Deployment.ID}, "environment": env,
			"description":           clip("Liftoff deployment "+ev.Deployment.ID, 140),
			"transient_environment": preview, "production_environment": !preview,
		}
		var made ghDeployment
		if _, err := r.call(ctx, rr.repo, "POST", "/repos/"+rr.repo+"/deployments", in, &made); err != nil {
			return err
		}
		if made.ID == 0 {
			return fmt.Errorf("POST /repos/%s/deployments: GitHub made no deployment", rr.repo)
		}
		id = made.ID
	} else {
		var list []deploymentStatus
		path := fmt.Sprintf("/repos/%s/deployments/%d/statuses?per_page=1", rr.repo, id)
		if _, err := r.call(ctx, rr.repo, "GET", path, nil, &list); err != nil {
			return err
		}
		if len(list) > 0 && deploymentRank(list[0].State) >= st.rank {
			return nil
		}
	}
	in := deploymentStatus{State: st.deployment, LogURL: r.deploymentURL(ev.Deployment.ID), Description: clip(st.description, 140),
		EnvironmentURL: environmentURL(ev.Deployment), AutoInactive: true}
	_, err = r.call(ctx, rr.repo, "POST", fmt.Sprintf("/repos/%s/deployments/%d/statuses", rr.repo, id), in, nil)
	return err
}

// findDeployment is the id of the GitHub deployment of Liftoff deployment
// deploymentID, or 0.
func (r *Reporter) findDeployment(ctx context.Context, rr repoRef, env, deploymentID string) (int64, error) {
	q := url.Values{"sha": {rr.sha}, "environment": {env}, "per_page": {"100"}}
	path := "/repos/" + rr.repo + "/deployments?" + q.Encode()
	for path != "" {
		var list []ghDeployment
		h, err := r.call(ctx, rr.repo, "GET", path, nil, &list)
		if err != nil {
			return 0, err
		}
		for _, d := range list {
			if d.liftoffID() == deploymentID {
				return d.ID, nil
			}
		}
		path = r.nextPage(h)
	}
	return 0, nil
}

// deploymentRank is the rank of a deployment status's state.
func deploymentRank(s string) int {
	switch s {
	case "queued", "pending":
		return rankQueued
	case "in_progress":
		return rankRunning
	}
	return rankFinal
}

// environmentURL is where people open the deployment: its first web
// service's URL, else its first static service's, else "".
func environmentURL(d liftoff.Deployment) string {
	for _, typ := range []string{config.TypeWeb, config.TypeStatic} {
		for _, s := range d.Services {
			if s.ServiceType == typ && s.ServiceDomain != "" {
				return s.ServiceDomain
			}
		}
	}
	return ""
}

// itoa is strconv.Itoa, for paths.
func itoa(n int) string { return strconv.Itoa(n) }
