package dashboard

import (
	"context"
	"net/http"
	"strconv"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// maxExecutionLines bounds the lines of output a job run's page renders;
// the earlier ones stay readable through the API.
const maxExecutionLines = 2000

// jobExecution reads a job run; a missing one, or a dashboard without
// jobs, is a page that does not exist.
func (d *Dashboard) jobExecution(ctx context.Context, id string) (liftoff.JobExecution, error) {
	if d.Jobs == nil {
		return liftoff.JobExecution{}, errNotFound
	}
	x, err := d.Jobs.Get(ctx, id)
	if err != nil {
		return x, notFoundAs(err)
	}
	return x, nil
}

// runJob asks for a run of a scheduler's job now, with its own command,
// as the API's Create Job Execution does, and shows the run. In a preview
// environment the form names the pull request (prNumber). A refusal (no
// successful release yet, a job the release does not have) is said on
// the service's page.
func (d *Dashboard) runJob(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v, err := d.service(ctx, r.PathValue("serviceId"))
	if err != nil {
		return err
	}
	if d.Jobs == nil {
		return errNotFound
	}
	back := "/services/" + v.Service.ID
	pr := 0
	if s := r.PostFormValue("prNumber"); s != "" {
		if pr, err = strconv.Atoi(s); err != nil || pr < 1 {
			return fail.New(fail.Invalid, "Choose a pull request from the list")
		}
		back += "?prNumber=" + s
	}
	x, err := d.Jobs.Run(ctx, v.Service.ID, r.PathValue("jobId"), pr, config.Command{})
	if fe := fail.As(err); fe != nil && (fe.Kind == fail.Invalid || fe.Kind == fail.Conflict || fe.Kind == fail.NotFound) {
		return d.redirectWith(w, r, back+"#jobs", fe.Message)
	}
	if err != nil {
		return notFoundAs(err)
	}
	return d.redirectWith(w, r, "/job-executions/"+x.ID, "Asked for a run of job "+x.JobID+": it starts when a node with the release claims it.")
}

// executionData is a job run's page.
type executionData struct {
	Row     executionRow
	Service liftoff.Service
	Lines   []liftoff.LogLine
	// Cut says the page shows only the last maxExecutionLines lines.
	Cut bool
}

func (d *Dashboard) jobExecutionPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	x, err := d.jobExecution(ctx, r.PathValue("executionId"))
	if err != nil {
		return err
	}
	data := executionData{Row: executionRow{X: x}}
	if svc, err := d.Jobs.ServiceOf(ctx, x.ServiceID); err == nil {
		data.Service = svc
	}
	var after int64
	for {
		lines, err := d.Jobs.Logs(ctx, x.ID, after, 1000)
		if err != nil {
			return err
		}
		data.Lines = append(data.Lines, lines...)
		if over := len(data.Lines) - maxExecutionLines; over > 0 {
			data.Lines = append(data.Lines[:0], data.Lines[over:]...)
			data.Cut = true
		}
		if len(lines) < 1000 {
			break
		}
		after = lines[len(lines)-1].ID
	}
	return d.render(w, r, http.StatusOK, "job_execution", "Job run "+x.ID, data)
}
