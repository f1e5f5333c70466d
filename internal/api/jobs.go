package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// runJobBody is the body of Create Job Execution: Flightcontrol's one
// field, the command to run instead of the job's own.
type runJobBody struct {
	StartCommand json.RawMessage `json:"startCommand"`
}

// jobService is the scheduler service of the {serviceId} path value.
func (a *API) jobService(r *http.Request) (liftoff.Service, error) {
	if a.Jobs == nil {
		return liftoff.Service{}, fail.New(fail.NotFound, "Service not found")
	}
	svc, err := a.Jobs.ServiceOf(r.Context(), r.PathValue("serviceId"))
	return svc, orNotFound(err, "Service not found")
}

// jobExecution is the job execution of the {executionId} path value.
func (a *API) jobExecution(r *http.Request) (liftoff.JobExecution, error) {
	if a.Jobs == nil {
		return liftoff.JobExecution{}, fail.New(fail.NotFound, "Job execution not found")
	}
	x, err := a.Jobs.Get(r.Context(), r.PathValue("executionId"))
	return x, orNotFound(err, "Job execution not found")
}

// prNumberParam reads the optional prNumber query parameter: the preview
// instance a service of a preview environment runs in.
func prNumberParam(r *http.Request) (int, error) {
	n, given, err := queryInt(r, "prNumber", 31)
	if err != nil || !given {
		return 0, err
	}
	if n < 1 {
		return 0, fail.Invalidf("prNumber must be a pull request number, at least 1")
	}
	return int(n), nil
}

// runJob serves Create Job Execution: a run of the job now, INITIALIZING
// until an engine starts it.
func (a *API) runJob(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.jobService(r); err != nil {
		return err
	}
	var body runJobBody
	if err := decode(r, &body); err != nil {
		return err
	}
	var cmd config.Command
	if raw := strings.TrimSpace(string(body.StartCommand)); raw != "" && raw != "null" {
		var ok bool
		if cmd, ok = commandOf(body.StartCommand); !ok {
			return fail.Invalidf(`startCommand must be a string (a shell line) or an array of strings (["node", "job.js"]), not empty`)
		}
	}
	pr, err := prNumberParam(r)
	if err != nil {
		return err
	}
	x, err := a.Jobs.Run(r.Context(), r.PathValue("serviceId"), r.PathValue("jobGivenId"), pr, cmd)
	if err != nil {
		return orNotFound(err, "Service not found")
	}
	writeJSON(w, http.StatusCreated, client.CreatedJobExecution{JobExecutionID: x.ID})
	return nil
}

// commandOf reads a command given as a string or an array of non-empty
// strings.
func commandOf(raw json.RawMessage) (config.Command, bool) {
	var line string
	if json.Unmarshal(raw, &line) == nil {
		return config.Shell(line), strings.TrimSpace(line) != ""
	}
	var args []string
	if json.Unmarshal(raw, &args) != nil || len(args) == 0 {
		return config.Command{}, false
	}
	for _, a := range args {
		if a == "" {
			return config.Command{}, false
		}
	}
	return config.Exec(args...), true
}

// getJobExecution serves Get Job Execution.
func (a *API) getJobExecution(w http.ResponseWriter, r *http.Request) error {
	x, err := a.jobExecution(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jobExecutionOf(x))
	return nil
}

// listJobExecutions lists a job's executions, newest first.
func (a *API) listJobExecutions(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.jobService(r)
	if err != nil {
		return err
	}
	pr, err := prNumberParam(r)
	if err != nil {
		return err
	}
	limit, given, err := queryInt(r, "limit", 31)
	if err != nil {
		return err
	}
	if !given {
		limit = 20
	}
	if limit < 1 || limit > 100 {
		return fail.Invalidf("limit must be between 1 and 100")
	}
	list, err := a.Jobs.List(r.Context(), store.ListJobExecutionsParams{ServiceID: svc.ID, PRNumber: pr, JobID: r.PathValue("jobGivenId"), Limit: int(limit)})
	if err != nil {
		return err
	}
	out := client.JobExecutionList{JobExecutions: []client.JobExecution{}}
	for _, x := range list {
		out.JobExecutions = append(out.JobExecutions, jobExecutionOf(x))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// jobExecutionLogs serves a job execution's output so far, as text, a
// line a line, scrubbed as it was stored.
func (a *API) jobExecutionLogs(w http.ResponseWriter, r *http.Request) error {
	x, err := a.jobExecution(r)
	if err != nil {
		return err
	}
	liftDeadlines(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	var after int64
	for {
		lines, err := a.Jobs.Logs(r.Context(), x.ID, after, 1000)
		if err != nil {
			// The answer has begun: a failure now can only end it.
			a.Log.Warn("read job execution logs", "job_execution_id", x.ID, "err", err)
			return nil
		}
		for _, l := range lines {
			if _, err := w.Write([]byte(l.Text + "\n")); err != nil {
				return nil
			}
			after = l.ID
		}
		if len(lines) < 1000 {
			return nil
		}
	}
}

// jobExecutionOf is the API's view of a job execution.
func jobExecutionOf(x liftoff.JobExecution) client.JobExecution {
	out := client.JobExecution{ID: x.ID, Status: string(x.Status), CreatedAt: client.FormatTime(x.CreatedAt),
		FinishedAt: timeOrNull(x.FinishedAt), ExitCode: x.ExitCode, Job: client.JobRef{ID: x.ServiceID + "/" + x.JobID, GivenID: x.JobID},
		Trigger: x.Trigger, ScheduledAt: timeOrNull(x.ScheduledAt), StartedAt: timeOrNull(x.StartedAt), ServiceID: x.ServiceID,
		EnvironmentID: x.EnvironmentID, ServiceDeploymentID: x.ServiceDeploymentID}
	if x.Error != "" {
		out.Error = &client.JobError{Message: x.Error}
	}
	if x.PRNumber > 0 {
		pr := x.PRNumber
		out.PRNumber = &pr
	}
	if x.Command.IsExec() {
		out.StartCommand = x.Command.Args
	} else {
		out.StartCommand = x.Command.Line
	}
	return out
}
