package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/steps"
	"github.com/liftoffhq/liftoff/internal/target"
)

// One-off containers: what the engine runs once in a service's image (a
// deploy command, a job run) and the containers it creates to copy a
// static site out of an image. Each carries the labels of its service
// instance, LabelOneOff (what it is) and LabelEngine (which engine made
// it): an engine that starts removes every one-off container it made
// before, as nothing of its previous run still waits for one.
const (
	LabelOneOff       = "liftoff.one-off"       // deploy-command, job or copy
	LabelEngine       = "liftoff.engine"        // the engine's runtime id (engineID)
	LabelJobExecution = "liftoff.job-execution" // a job run's id
)

// engineID names this engine's one-off containers: its node and its data
// directory, so that two Liftoffs on one host (or two tests) never remove
// each other's.
func (e *Engine) engineID() string {
	dir, err := filepath.Abs(e.cfg.DataDir)
	if err != nil {
		dir = e.cfg.DataDir
	}
	sum := sha256.Sum256([]byte(e.cfg.NodeID + "\x00" + dir))
	return hex.EncodeToString(sum[:8])
}

// oneOffLabels are the labels of a one-off container of kind (deploy-command,
// job, copy), with the labels of its service instance (base).
func (e *Engine) oneOffLabels(base map[string]string, kind string) map[string]string {
	l := maps.Clone(base)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelOneOff], l[LabelEngine] = kind, e.engineID()
	return l
}

// removeOneOffs removes the one-off containers a previous run of this
// engine left (a job run or a deploy command that a killed Liftoff was
// running goes on without it). It runs at start, before anything runs.
func (e *Engine) removeOneOffs(ctx context.Context) {
	if e.Containers == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	left, err := e.Containers.List(ctx, map[string]string{LabelEngine: e.engineID()})
	if err != nil {
		e.Log.Warn("list the one-off containers of a previous run", "err", err)
		return
	}
	for _, st := range left {
		if err := e.Containers.Remove(ctx, st.Name); err != nil {
			e.Log.Warn("remove a one-off container of a previous run", "container", st.Name, "err", err)
			continue
		}
		e.Log.Info("removed a one-off container of a previous run", "container", st.Name, "kind", st.Labels[LabelOneOff],
			"job_execution_id", st.Labels[LabelJobExecution])
	}
}

// errJobTimeout ends a job run that passed its timeout.
var errJobTimeout = errors.New("job timeout")

// runJobContainer runs an execution in a one-off container of its
// release's image: its command, or the image's CMD when it has none,
// with the service's variables (env, less the host's basics), under its
// timeout. The container is removed when the run ends, however it ends.
func (e *Engine) runJobContainer(ctx context.Context, x liftoff.JobExecution, rel target.Release, env []string,
	timeout time.Duration, out io.Writer) (liftoff.JobStatus, *int, string) {
	if e.Containers == nil {
		return liftoff.JobFailed, nil, "the job runs in a container of " + rel.Image +
			", and this Liftoff has no container CLI: install podman, or name one with liftoff serve --container-cli"
	}
	var cmd []string
	what := "the image's CMD"
	if !x.Command.IsBlank() {
		cmd, what = x.Command.Argv("/bin/sh"), "startCommand "+strconv.Quote(x.Command.String())
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, timeout, errJobTimeout)
	defer cancel()
	labels := e.oneOffLabels(map[string]string{LabelProject: rel.Instance.ProjectID, LabelEnvironment: rel.Instance.EnvGivenID,
		LabelPR: strconv.Itoa(rel.Instance.PRNumber), LabelService: rel.Service.ID, LabelServiceDeployment: rel.ID,
		LabelJobExecution: x.ID}, "job")
	err := e.Containers.RunOnce(runCtx, container.RunSpec{Name: "liftoff-job-" + strings.ToLower(x.ID), Image: rel.Image, Command: cmd,
		Env: steps.ContainerEnv(env), Labels: labels, TempDir: e.cfg.DataDir}, out)
	var exit *container.ExitError
	switch {
	case err == nil:
		zero := 0
		return liftoff.JobCompleted, &zero, ""
	case errors.Is(context.Cause(runCtx), errJobTimeout) && ctx.Err() == nil:
		return liftoff.JobTimedOut, nil, fmt.Sprintf("the run passed its timeout of %v: its container was killed", timeout)
	case ctx.Err() != nil:
		cause := context.Cause(ctx)
		if cause == nil || errors.Is(cause, context.Canceled) {
			cause = errShutdown
		}
		return liftoff.JobFailed, nil, cause.Error()
	case errors.As(err, &exit):
		code := exit.Code
		return liftoff.JobFailed, &code, fmt.Sprintf("%s exited with status %d in a container of %s", what, code, rel.Image)
	}
	return liftoff.JobFailed, nil, redact.Secrets(err.Error())
}
