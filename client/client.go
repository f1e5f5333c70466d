// Package client is the Go client of Liftoff's /v1 API and its deploy hook
// endpoints. The liftoff CLI and the end-to-end tests use it.
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("LIFTOFF_API_KEY"))
//	d, err := c.Deployment(ctx, "clcpcxekt000lc9ojqtgtc26y")
//
// The examples show what an integration does, each run by go test
// against a real Liftoff server: call a deploy hook and read the
// deployment it started ([CallHook]), wait for a deployment to end by
// polling Get Deployment with a deadline and an interval
// ([Client.Deployment]), follow its logs ([Client.FollowLogs]), start
// one with an API key ([Client.StartDeployment]), and create a deploy
// hook ([Client.CreateHook]). Errors of the API are an [*Error], of a
// hook call a [*HookError].
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one Liftoff server.
type Client struct {
	// BaseURL is the server, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// Authorization is the Authorization header sent with every /v1 call:
	// "Bearer <API key>", or "Hook <secret>" for Get Deployment.
	Authorization string
	// HTTP is the HTTP client. Default: one with a 60 s timeout.
	HTTP *http.Client
}

// New returns a client that authenticates with an API key.
func New(baseURL, apiKey string) *Client {
	c := &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Timeout: 60 * time.Second}}
	if apiKey != "" {
		c.Authorization = "Bearer " + apiKey
	}
	return c
}

// WithHookSecret returns a copy of c that authenticates with a deploy hook's
// secret, which may read the deployments that hook started.
func (c *Client) WithHookSecret(secret string) *Client {
	cp := *c
	cp.Authorization = "Hook " + secret
	return &cp
}

// Error is an error answer of the API.
type Error struct {
	Status int    // the HTTP status
	Code   string // errorCode, e.g. NOT_FOUND
	Msg    string // the error sentence
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s (%d %s)", e.Msg, e.Status, e.Code)
	}
	return fmt.Sprintf("%s (%d)", e.Msg, e.Status)
}

// do sends a request and decodes a JSON answer into out (unless nil).
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return c.requestError(method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(data))
		}
		return &Error{Status: resp.StatusCode, Code: eb.ErrorCode, Msg: eb.Error}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// UnreachableError is a request that found no server to talk to: nothing
// listens at BaseURL, or its host name does not resolve.
type UnreachableError struct {
	BaseURL string
	Err     error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach Liftoff at %s: %v", e.BaseURL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// requestError names a request that got no answer; one that could not
// connect at all is an *UnreachableError.
func (c *Client) requestError(method, path string, err error) error {
	var op *net.OpError
	var dns *net.DNSError
	if (errors.As(err, &op) && op.Op == "dial") || errors.As(err, &dns) {
		return &UnreachableError{BaseURL: c.BaseURL, Err: err}
	}
	return fmt.Errorf("%s %s: %w", method, path, err)
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// CreateProject creates a project from a git repository.
func (c *Client) CreateProject(ctx context.Context, name, repoURL, configPath string) (Project, error) {
	return c.CreateProjectWith(ctx, NewProject{Name: name, RepoURL: repoURL, ConfigPath: configPath})
}

// NewProject are the fields of a project to create.
type NewProject struct {
	Name             string `json:"name"`
	Slug             string `json:"slug,omitempty"`
	RepoURL          string `json:"repoUrl"`
	ConfigPath       string `json:"configPath,omitempty"`
	GitHubRepository string `json:"githubRepository,omitempty"`
}

// CreateProjectWith creates a project.
func (c *Client) CreateProjectWith(ctx context.Context, np NewProject) (Project, error) {
	var p Project
	err := c.do(ctx, http.MethodPost, "/v1/projects", np, &p)
	return p, err
}

// Previews lists a preview environment's live preview instances.
func (c *Client) Previews(ctx context.Context, environmentID int64) ([]PreviewInstance, error) {
	var out struct {
		Previews []PreviewInstance `json:"previews"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/environments/"+strconv.FormatInt(environmentID, 10)+"/previews", nil, &out)
	return out.Previews, err
}

// DeletePreview tears a preview instance down: its services stop, its
// routes and builds go, its history stays.
func (c *Client) DeletePreview(ctx context.Context, environmentID int64, prNumber int) (PreviewInstance, error) {
	var p PreviewInstance
	err := c.do(ctx, http.MethodDelete, "/v1/environments/"+strconv.FormatInt(environmentID, 10)+"/previews/"+strconv.Itoa(prNumber), nil, &p)
	return p, err
}

// Projects lists the projects.
func (c *Client) Projects(ctx context.Context) ([]Project, error) {
	var out struct {
		Projects []Project `json:"projects"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/projects", nil, &out)
	return out.Projects, err
}

// Project gets a project.
func (c *Client) Project(ctx context.Context, id string) (Project, error) {
	var p Project
	err := c.do(ctx, http.MethodGet, "/v1/projects/"+url.PathEscape(id), nil, &p)
	return p, err
}

// DeleteProject deletes a project: its deployments are cancelled, its
// releases stop, its hooks and routes go; its history stays.
func (c *Client) DeleteProject(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/projects/"+url.PathEscape(id), nil, nil)
}

// SyncProject re-reads a project's config.
func (c *Client) SyncProject(ctx context.Context, id string) (Project, error) {
	var p Project
	err := c.do(ctx, http.MethodPost, "/v1/projects/"+url.PathEscape(id)+"/sync", nil, &p)
	return p, err
}

// Environment gets an environment with its services.
func (c *Client) Environment(ctx context.Context, id int64) (Environment, error) {
	var e Environment
	err := c.do(ctx, http.MethodGet, "/v1/environments/"+strconv.FormatInt(id, 10), nil, &e)
	return e, err
}

// CreateHook creates a deploy hook; the answer is the only time its secret is shown.
func (c *Client) CreateHook(ctx context.Context, environmentID int64, name string) (CreatedHook, error) {
	var h CreatedHook
	err := c.do(ctx, http.MethodPost, "/v1/environments/"+strconv.FormatInt(environmentID, 10)+"/deploy-hooks",
		map[string]string{"name": name}, &h)
	return h, err
}

// Hooks lists an environment's deploy hooks.
func (c *Client) Hooks(ctx context.Context, environmentID int64) ([]Hook, error) {
	var out struct {
		DeployHooks []Hook `json:"deployHooks"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/environments/"+strconv.FormatInt(environmentID, 10)+"/deploy-hooks", nil, &out)
	return out.DeployHooks, err
}

// Hook gets a deploy hook.
func (c *Client) Hook(ctx context.Context, id string) (Hook, error) {
	var h Hook
	err := c.do(ctx, http.MethodGet, "/v1/deploy-hooks/"+url.PathEscape(id), nil, &h)
	return h, err
}

// RotateHook gives a hook a new secret; the old one stays valid for grace.
func (c *Client) RotateHook(ctx context.Context, id string, grace time.Duration) (RotatedHook, error) {
	var h RotatedHook
	err := c.do(ctx, http.MethodPost, "/v1/deploy-hooks/"+url.PathEscape(id)+"/rotate",
		map[string]int64{"gracePeriodSeconds": int64(grace / time.Second)}, &h)
	return h, err
}

// SetHookPaused pauses or resumes a hook.
func (c *Client) SetHookPaused(ctx context.Context, id string, paused bool) (Hook, error) {
	action := "/resume"
	if paused {
		action = "/pause"
	}
	var h Hook
	err := c.do(ctx, http.MethodPost, "/v1/deploy-hooks/"+url.PathEscape(id)+action, nil, &h)
	return h, err
}

// DeleteHook revokes a hook.
func (c *Client) DeleteHook(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/deploy-hooks/"+url.PathEscape(id), nil, nil)
}

// HookCalls lists a hook's recorded calls, newest first.
func (c *Client) HookCalls(ctx context.Context, id string, limit int) ([]HookCall, error) {
	var out struct {
		Calls []HookCall `json:"calls"`
	}
	q := ""
	if limit > 0 {
		q = "?limit=" + strconv.Itoa(limit)
	}
	err := c.do(ctx, http.MethodGet, "/v1/deploy-hooks/"+url.PathEscape(id)+"/calls"+q, nil, &out)
	return out.Calls, err
}

// Deployment gets a deployment (Get Deployment).
func (c *Client) Deployment(ctx context.Context, id string) (Deployment, error) {
	var d Deployment
	err := c.do(ctx, http.MethodGet, "/v1/deployments/"+url.PathEscape(id), nil, &d)
	return d, err
}

// StartDeployment deploys an environment as a call of its deploy hook
// would: force builds every service, commit and branch ("" for none) pick
// what to deploy. A PENDING deployment of the same thing is joined.
func (c *Client) StartDeployment(ctx context.Context, environmentID int64, force bool, commit, branch string) (StartedDeployment, error) {
	return c.StartDeploymentWith(ctx, environmentID, DeploymentRequest{Force: force, Commit: commit, Branch: branch})
}

// StartDeploymentWith deploys an environment as asked by r.
func (c *Client) StartDeploymentWith(ctx context.Context, environmentID int64, r DeploymentRequest) (StartedDeployment, error) {
	var d StartedDeployment
	err := c.do(ctx, http.MethodPost, "/v1/environments/"+strconv.FormatInt(environmentID, 10)+"/deployments", r, &d)
	return d, err
}

// DeploymentFilter filters ListDeployments. Zero values do not filter.
type DeploymentFilter struct {
	ProjectID     string
	EnvironmentID int64
	PRNumber      int
	Status        string
	Limit         int
	Cursor        string
}

// Deployments lists deployments, newest first, a page at a time.
func (c *Client) Deployments(ctx context.Context, f DeploymentFilter) (DeploymentList, error) {
	q := url.Values{}
	if f.ProjectID != "" {
		q.Set("projectId", f.ProjectID)
	}
	if f.EnvironmentID > 0 {
		q.Set("environmentId", strconv.FormatInt(f.EnvironmentID, 10))
	}
	if f.PRNumber > 0 {
		q.Set("prNumber", strconv.Itoa(f.PRNumber))
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Cursor != "" {
		q.Set("cursor", f.Cursor)
	}
	path := "/v1/deployments"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out DeploymentList
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// CreateAPIKey issues an admin API key; the answer is the only time it is
// shown.
func (c *Client) CreateAPIKey(ctx context.Context, name string) (APIKey, error) {
	return c.CreateAPIKeyWith(ctx, NewAPIKey{Name: name})
}

// NewAPIKey are the fields of an API key to create.
type NewAPIKey struct {
	Name string `json:"name"`
	// Scope is admin (the default), deploy or read.
	Scope string `json:"scope,omitempty"`
	// EnvironmentIDs are the environments of a deploy key (at least one).
	EnvironmentIDs []int64 `json:"environmentIds,omitempty"`
}

// CreateAPIKeyWith issues an API key of a scope; the answer is the only time
// it is shown.
func (c *Client) CreateAPIKeyWith(ctx context.Context, k NewAPIKey) (APIKey, error) {
	var out APIKey
	err := c.do(ctx, http.MethodPost, "/v1/api-keys", k, &out)
	return out, err
}

// APIKeys lists the API keys.
func (c *Client) APIKeys(ctx context.Context) ([]APIKey, error) {
	var out struct {
		APIKeys []APIKey `json:"apiKeys"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/api-keys", nil, &out)
	return out.APIKeys, err
}

// DeleteAPIKey revokes an API key.
func (c *Client) DeleteAPIKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/api-keys/"+url.PathEscape(id), nil, nil)
}

// HookError is a deploy hook's error answer.
type HookError struct {
	Status int
	Msg    string
}

func (e *HookError) Error() string { return fmt.Sprintf("deploy hook: %s (%d)", e.Msg, e.Status) }

// CallHook calls a full deploy hook URL (as CreateHook returned it, with the
// PR number and SHA filled in for previews) and returns the deployment id.
func CallHook(ctx context.Context, hc *http.Client, hookURL string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hookURL, nil)
	if err != nil {
		return "", fmt.Errorf("build hook request: %w", err)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL holds the secret: do not repeat it.
		return "", fmt.Errorf("call deploy hook: %w", unwrapURLError(err))
	}
	defer func() { _ = resp.Body.Close() }()
	var a HookAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a); err != nil {
		return "", &HookError{Status: resp.StatusCode, Msg: "the answer is not JSON"}
	}
	if resp.StatusCode != http.StatusOK || a.Success != "true" {
		return "", &HookError{Status: resp.StatusCode, Msg: a.Error}
	}
	return a.DeploymentID, nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// CancelDeployment ends a PENDING deployment, or stops a running one.
func (c *Client) CancelDeployment(ctx context.Context, id string) (Deployment, error) {
	var d Deployment
	err := c.do(ctx, http.MethodPost, "/v1/deployments/"+url.PathEscape(id)+"/cancel", nil, &d)
	return d, err
}

// RedeployDeployment queues a deployment that releases the builds of
// deployment id again, without building (a rollback).
func (c *Client) RedeployDeployment(ctx context.Context, id string) (Deployment, error) {
	var d Deployment
	err := c.do(ctx, http.MethodPost, "/v1/deployments/"+url.PathEscape(id)+"/redeploy", nil, &d)
	return d, err
}

// Logs returns a deployment's output so far, one "[service] line" a line;
// service filters to one service's given id when not empty.
func (c *Client) Logs(ctx context.Context, id, service string) (string, error) {
	var out strings.Builder
	err := c.stream(ctx, id, service, false, func(_, line string) { out.WriteString(line + "\n") })
	return out.String(), err
}

// FollowLogs calls line with every line of a deployment's output as it is
// written, until the deployment ends, and returns its final status.
func (c *Client) FollowLogs(ctx context.Context, id, service string, line func(string)) (string, error) {
	var status string
	err := c.stream(ctx, id, service, true, func(event, data string) {
		if event == "end" {
			status = data
			return
		}
		line(data)
	})
	return status, err
}

// stream reads the logs endpoint: plain lines, or server-sent events (each
// data line with the event it belongs to) when following.
func (c *Client) stream(ctx context.Context, id, service string, follow bool, emit func(event, data string)) error {
	q := url.Values{}
	if service != "" {
		q.Set("service", service)
	}
	return c.streamPath(ctx, "/v1/deployments/"+url.PathEscape(id)+"/logs", q, follow, emit)
}

// ServiceLogsParams are the arguments of ServiceLogs.
type ServiceLogsParams struct {
	PRNumber int    // the preview instance, in a preview environment
	Since    string // a duration ("10m") or an RFC 3339 time; "" for every line kept
	Follow   bool
}

// ServiceLogs reads the runtime log of a service's release (Get Service
// Logs), each line "<time> <text>"; with p.Follow it goes on with new
// lines until ctx ends.
func (c *Client) ServiceLogs(ctx context.Context, serviceID string, p ServiceLogsParams, line func(string)) error {
	q := url.Values{}
	if p.PRNumber > 0 {
		q.Set("prNumber", strconv.Itoa(p.PRNumber))
	}
	if p.Since != "" {
		q.Set("since", p.Since)
	}
	err := c.streamPath(ctx, "/v1/services/"+url.PathEscape(serviceID)+"/logs", q, p.Follow, func(_, data string) { line(data) })
	if err != nil && ctx.Err() != nil {
		return nil // the caller stopped following
	}
	return err
}

// Service gets a service with the state of its release and its last
// restarts (Get Service); prNumber > 0 picks a preview instance.
func (c *Client) Service(ctx context.Context, id string, prNumber int) (ServiceDetail, error) {
	var out ServiceDetail
	err := c.do(ctx, http.MethodGet, "/v1/services/"+url.PathEscape(id)+prQuery(prNumber), nil, &out)
	return out, err
}

// streamPath reads a logs endpoint at path with query q.
func (c *Client) streamPath(ctx context.Context, path string, q url.Values, follow bool, emit func(event, data string)) error {
	if follow {
		q.Set("follow", "true")
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	hc := *c.httpClient()
	hc.Timeout = 0 // a followed deployment can take long
	resp, err := hc.Do(req)
	if err != nil {
		return c.requestError(http.MethodGet, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(data))
		}
		return &Error{Status: resp.StatusCode, Code: eb.ErrorCode, Msg: eb.Error}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	event := ""
	for sc.Scan() {
		l := sc.Text()
		if !follow {
			emit("", l)
			continue
		}
		switch {
		case strings.HasPrefix(l, "event: "):
			event = strings.TrimPrefix(l, "event: ")
		case strings.HasPrefix(l, "data: "):
			emit(event, strings.TrimPrefix(l, "data: "))
		case l == "":
			event = ""
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read logs: %w", err)
	}
	return nil
}

// VariablesScope names where variables and secrets are set: exactly one
// of a project (its own, for every environment), an environment, or a
// service (by its id).
type VariablesScope struct {
	ProjectID     string
	EnvironmentID int64
	ServiceID     string
}

func (s VariablesScope) path() string {
	switch {
	case s.ServiceID != "":
		return "/v1/services/" + url.PathEscape(s.ServiceID)
	case s.EnvironmentID != 0:
		return "/v1/environments/" + strconv.FormatInt(s.EnvironmentID, 10)
	}
	return "/v1/projects/" + url.PathEscape(s.ProjectID)
}

// SetEnvVariables sets variables in scope.
func (c *Client) SetEnvVariables(ctx context.Context, scope VariablesScope, vars EnvVariables) (SavedEnvVariables, error) {
	var out SavedEnvVariables
	err := c.do(ctx, http.MethodPost, scope.path()+"/env-variables", vars, &out)
	return out, err
}

// EnvVariables lists the variables set in scope.
func (c *Client) EnvVariables(ctx context.Context, scope VariablesScope) ([]EnvVariable, error) {
	var out struct {
		EnvVariables []EnvVariable `json:"envVariables"`
	}
	err := c.do(ctx, http.MethodGet, scope.path()+"/env-variables", nil, &out)
	return out.EnvVariables, err
}

// DeleteEnvVariable removes the variable name from scope.
func (c *Client) DeleteEnvVariable(ctx context.Context, scope VariablesScope, name string) error {
	return c.do(ctx, http.MethodDelete, scope.path()+"/env-variables/"+url.PathEscape(name), nil, nil)
}

// SetSecret sets a named secret of a project or an environment.
func (c *Client) SetSecret(ctx context.Context, scope VariablesScope, name, value string) error {
	return c.do(ctx, http.MethodPost, scope.path()+"/secrets", NewSecret{Name: name, Value: value}, nil)
}

// Secrets lists the named secrets of a project or an environment.
func (c *Client) Secrets(ctx context.Context, scope VariablesScope) ([]Secret, error) {
	var out struct {
		Secrets []Secret `json:"secrets"`
	}
	err := c.do(ctx, http.MethodGet, scope.path()+"/secrets", nil, &out)
	return out.Secrets, err
}

// DeleteSecret removes a named secret of a project or an environment.
func (c *Client) DeleteSecret(ctx context.Context, scope VariablesScope, name string) error {
	return c.do(ctx, http.MethodDelete, scope.path()+"/secrets?name="+url.QueryEscape(name), nil, nil)
}

// RunJob asks for a run of a scheduler service's job now (Create Job
// Execution), with startCommand instead of the job's own when it is not
// nil (a string or a []string). prNumber names the preview instance of a
// service in a preview environment; 0 otherwise.
func (c *Client) RunJob(ctx context.Context, serviceID, jobGivenID string, prNumber int, startCommand any) (CreatedJobExecution, error) {
	var out CreatedJobExecution
	body := map[string]any{}
	if startCommand != nil {
		body["startCommand"] = startCommand
	}
	err := c.do(ctx, http.MethodPost, jobPath(serviceID, jobGivenID)+"/execution"+prQuery(prNumber), body, &out)
	return out, err
}

// JobExecution gets a job execution (Get Job Execution).
func (c *Client) JobExecution(ctx context.Context, id string) (JobExecution, error) {
	var out JobExecution
	err := c.do(ctx, http.MethodGet, "/v1/job-executions/"+url.PathEscape(id), nil, &out)
	return out, err
}

// JobExecutions lists a job's executions, newest first, at most limit (0:
// the server's default).
func (c *Client) JobExecutions(ctx context.Context, serviceID, jobGivenID string, prNumber, limit int) ([]JobExecution, error) {
	q := url.Values{}
	if prNumber > 0 {
		q.Set("prNumber", strconv.Itoa(prNumber))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := jobPath(serviceID, jobGivenID) + "/executions"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out JobExecutionList
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.JobExecutions, err
}

// JobExecutionLogs returns a job execution's output so far, a line a line.
func (c *Client) JobExecutionLogs(ctx context.Context, id string) (string, error) {
	var out strings.Builder
	err := c.doText(ctx, "/v1/job-executions/"+url.PathEscape(id)+"/logs", &out)
	return out.String(), err
}

func jobPath(serviceID, jobGivenID string) string {
	return "/v1/services/" + url.PathEscape(serviceID) + "/job/" + url.PathEscape(jobGivenID)
}

func prQuery(prNumber int) string {
	if prNumber > 0 {
		return "?prNumber=" + strconv.Itoa(prNumber)
	}
	return ""
}

// doText gets a plain text answer into out.
func (c *Client) doText(ctx context.Context, path string, out *strings.Builder) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return c.requestError(http.MethodGet, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("GET %s: read answer: %w", path, err)
	}
	if resp.StatusCode >= 400 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(data))
		}
		return &Error{Status: resp.StatusCode, Code: eb.ErrorCode, Msg: eb.Error}
	}
	out.Write(data)
	return nil
}

// Protection reads who may open an environment's services through the
// proxy.
func (c *Client) Protection(ctx context.Context, environmentID int64) (Protection, error) {
	var p Protection
	err := c.do(ctx, http.MethodGet, "/v1/environments/"+strconv.FormatInt(environmentID, 10)+"/protection", nil, &p)
	return p, err
}

// SetProtection changes an environment's protection: its mode, its
// password, or both.
func (c *Client) SetProtection(ctx context.Context, environmentID int64, ch ProtectionChange) (Protection, error) {
	var p Protection
	err := c.do(ctx, http.MethodPut, "/v1/environments/"+strconv.FormatInt(environmentID, 10)+"/protection", ch, &p)
	return p, err
}

// CreateShareLink makes a link that opens a protected environment (a
// pull request's preview) until it expires.
func (c *Client) CreateShareLink(ctx context.Context, environmentID int64, nl NewShareLink) (ShareLink, error) {
	var l ShareLink
	err := c.do(ctx, http.MethodPost, "/v1/environments/"+strconv.FormatInt(environmentID, 10)+"/share-links", nl, &l)
	return l, err
}

// resourcePath is the path of the resource of a service of an environment.
func resourcePath(environmentID int64, service string, prNumber int, suffix string) string {
	p := "/v1/environments/" + strconv.FormatInt(environmentID, 10) + "/resources/" + url.PathEscape(service) + suffix
	if prNumber > 0 {
		p += "?prNumber=" + strconv.Itoa(prNumber)
	}
	return p
}

// Resources lists the databases and Redis users Liftoff made for an
// environment's services, of every instance.
func (c *Client) Resources(ctx context.Context, environmentID int64) ([]Resource, error) {
	var out ResourceList
	err := c.do(ctx, http.MethodGet, "/v1/environments/"+strconv.FormatInt(environmentID, 10)+"/resources", nil, &out)
	return out.Resources, err
}

// DeleteResource drops the database or Redis user of a service of an
// environment (of a preview's with prNumber > 0), with its data.
func (c *Client) DeleteResource(ctx context.Context, environmentID int64, service string, prNumber int) (Resource, error) {
	var out Resource
	err := c.do(ctx, http.MethodDelete, resourcePath(environmentID, service, prNumber, ""), nil, &out)
	return out, err
}

// DumpResource writes a pg_dump (custom format, for pg_restore) of the
// database of a service of an environment (of a preview's with
// prNumber > 0) to w. An error after the first bytes means w holds an
// incomplete dump.
func (c *Client) DumpResource(ctx context.Context, environmentID int64, service string, prNumber int, w io.Writer) error {
	path := resourcePath(environmentID, service, prNumber, "/dump")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	hc := *c.httpClient()
	hc.Timeout = 0 // a large database takes long
	resp, err := hc.Do(req)
	if err != nil {
		return c.requestError(http.MethodPost, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(data))
		}
		return &Error{Status: resp.StatusCode, Code: eb.ErrorCode, Msg: eb.Error}
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("POST %s: the dump ended early: %w", path, err)
	}
	return nil
}

// notificationsPath is the path of an environment's webhooks.
func notificationsPath(environmentID int64) string {
	return "/v1/environments/" + strconv.FormatInt(environmentID, 10) + "/notifications"
}

// CreateNotification makes a webhook of an environment; the answer is the
// one time its secret is shown.
func (c *Client) CreateNotification(ctx context.Context, environmentID int64, target string, events []string, format string) (CreatedNotification, error) {
	var out CreatedNotification
	err := c.do(ctx, http.MethodPost, notificationsPath(environmentID),
		map[string]any{"url": target, "events": events, "format": format}, &out)
	return out, err
}

// Notifications lists an environment's webhooks.
func (c *Client) Notifications(ctx context.Context, environmentID int64) ([]Notification, error) {
	var out struct {
		Notifications []Notification `json:"notifications"`
	}
	err := c.do(ctx, http.MethodGet, notificationsPath(environmentID), nil, &out)
	return out.Notifications, err
}

// DeleteNotification deletes a webhook made through the API.
func (c *Client) DeleteNotification(ctx context.Context, environmentID int64, id string) error {
	return c.do(ctx, http.MethodDelete, notificationsPath(environmentID)+"/"+url.PathEscape(id), nil, nil)
}

// RotateNotification gives a webhook a new secret and shows it.
func (c *Client) RotateNotification(ctx context.Context, environmentID int64, id string) (CreatedNotification, error) {
	var out CreatedNotification
	err := c.do(ctx, http.MethodPost, notificationsPath(environmentID)+"/"+url.PathEscape(id)+"/rotate", nil, &out)
	return out, err
}

// NotificationDeliveries lists a webhook's deliveries, newest first.
func (c *Client) NotificationDeliveries(ctx context.Context, environmentID int64, id string, limit int) ([]NotificationDelivery, error) {
	var out struct {
		Deliveries []NotificationDelivery `json:"deliveries"`
	}
	q := ""
	if limit > 0 {
		q = "?limit=" + strconv.Itoa(limit)
	}
	err := c.do(ctx, http.MethodGet, notificationsPath(environmentID)+"/"+url.PathEscape(id)+"/deliveries"+q, nil, &out)
	return out.Deliveries, err
}
