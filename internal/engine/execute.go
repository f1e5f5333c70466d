package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/logstream"
	"github.com/liftoffhq/liftoff/internal/prfilter"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
)

// failure ends a deployment with a status and a sentence a person can act on.
type failure struct {
	status liftoff.Status
	msg    string
}

func (f *failure) Error() string { return f.msg }

func fail(status liftoff.Status, format string, args ...any) error {
	return &failure{status: status, msg: fmt.Sprintf(format, args...)}
}

// deployment is the state of one running deployment.
type deployment struct {
	e       *Engine
	d       liftoff.Deployment
	log     *logstream.Writer
	project liftoff.Project
	env     liftoff.Environment
	mirror  *gitsource.Mirror
	commit  string
	file    *config.File
	envCfg  *config.Environment
	inst    target.Instance
	home    string               // the environment's home in the sandbox; "" unsandboxed
	failed  []liftoff.ErrorEntry // services that could not even start
	// since is when the preview instance's current incarnation started:
	// watch-path bases before it do not count. Zero for environments.
	since time.Time
}

// execute runs the deployment and returns how it ended.
func (e *Engine) execute(ctx context.Context, d liftoff.Deployment, log *logstream.Writer) (liftoff.Status, []liftoff.ErrorEntry) {
	r := &deployment{e: e, d: d, log: log}
	err := r.prepare(ctx)
	var units []*unit
	if err == nil {
		units, err = r.plan(ctx)
	}
	if err == nil && len(units) > 0 {
		return r.deploy(ctx, units)
	}
	if err == nil && len(r.failed) > 0 {
		return liftoff.StatusError, r.failed
	}
	if err == nil {
		log.Printf("==> No service to deploy: NO_CHANGE")
		return liftoff.StatusNoChange, nil
	}
	return r.ended(ctx, err)
}

// ended turns the error that stopped a deployment before its services ran
// into its final status.
func (r *deployment) ended(ctx context.Context, err error) (liftoff.Status, []liftoff.ErrorEntry) {
	var f *failure
	switch {
	case errors.As(err, &f):
	case ctx.Err() != nil:
		f = causeFailure(ctx)
	default:
		r.e.Log.Error("deployment failed", "deployment_id", r.d.ID, "err", err)
		f = &failure{status: liftoff.StatusError, msg: redact.Secrets(err.Error())}
	}
	r.log.Printf("==> %s: %s", f.status, f.msg)
	if f.status == liftoff.StatusNoChange {
		return f.status, nil // a skip, not an error
	}
	return f.status, []liftoff.ErrorEntry{{Status: f.status, Message: f.msg}}
}

// causeFailure says why ctx was cancelled.
func causeFailure(ctx context.Context) *failure {
	cause := context.Cause(ctx)
	if errors.Is(cause, errCancelled) || errors.Is(cause, errTornDown) {
		return &failure{status: liftoff.StatusCancelled, msg: cause.Error()}
	}
	if cause == nil || errors.Is(cause, context.Canceled) {
		cause = errShutdown
	}
	return &failure{status: liftoff.StatusError, msg: cause.Error()}
}

// prepare fetches the repository, resolves the commit and reads the config
// at it.
func (r *deployment) prepare(ctx context.Context) error {
	st := r.e.Store
	var err error
	if r.project, err = st.GetProject(ctx, store.GetProjectParams{ID: r.d.ProjectID}); err != nil {
		return fmt.Errorf("load project: %w", err)
	}
	if r.env, err = st.GetEnvironment(ctx, store.GetEnvironmentParams{ID: r.d.EnvironmentID}); err != nil {
		return fmt.Errorf("load environment: %w", err)
	}
	if r.env.Deleted() {
		return fail(liftoff.StatusError, "environment %s was deleted: it left the project's config", r.env.GivenID)
	}
	if r.home, err = r.e.Sandbox.Home(r.project.ID, r.env.GivenID); err != nil {
		return err
	}
	r.inst = target.Instance{ProjectID: r.project.ID, EnvironmentID: r.env.ID, EnvGivenID: r.env.GivenID, PRNumber: r.d.PRNumber}
	repo := gitsource.RedactURL(r.project.RepoURL)
	r.log.Printf("==> Fetching %s", repo)
	remote, err := project.Remote(ctx, st, r.e.Variables.Keys, r.project)
	if err != nil {
		return err
	}
	if r.mirror, err = r.e.Git.Mirror(ctx, r.project.ID, remote); err != nil {
		return r.gitFailure(ctx, "open the repository "+repo, err)
	}
	if err := r.mirror.Fetch(ctx); err != nil {
		return r.gitFailure(ctx, "fetch "+repo, err)
	}
	if err := r.resolve(ctx); err != nil {
		return err
	}
	if err := st.UpdateRunningDeployment(ctx, store.UpdateRunningParams{ID: r.d.ID, GitCommit: r.commit}); err != nil {
		return err
	}
	if err := r.readConfig(ctx); err != nil {
		return err
	}
	if r.d.PRNumber > 0 {
		detail := r.d.TriggerDetail
		if filter := prfilter.OfWatchPaths(detail.FilterWatchPaths); filter.NeedsFiles() {
			if err := r.checkPRFiles(ctx, detail.BaseBranch, filter); err != nil {
				return err
			}
		}
		// The first deployment of a PR (or of one torn down before) creates
		// its instance; its history of watch-path bases starts then.
		inst, err := st.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: r.env.ID, PRNumber: r.d.PRNumber,
			HeadBranch: detail.HeadBranch, At: r.e.now()})
		if err != nil {
			return err
		}
		r.since = inst.CreatedAt
		// A hook call names no branch; the instance knows its pull
		// request's when a GitHub event told it.
		if r.d.GitBranch == "" && inst.HeadBranch != "" {
			r.d.GitBranch = inst.HeadBranch
			if err := st.UpdateRunningDeployment(ctx, store.UpdateRunningParams{ID: r.d.ID, GitBranch: inst.HeadBranch}); err != nil {
				return err
			}
		}
	}
	return nil
}

// gitFailure is an ERROR naming what git could not do, unless the
// deployment was cancelled meanwhile.
func (r *deployment) gitFailure(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return causeFailure(ctx)
	}
	return fail(liftoff.StatusError, "could not %s: %s", what, redact.Secrets(gitsource.RedactURL(err.Error())))
}

// resolve finds the commit to deploy.
func (r *deployment) resolve(ctx context.Context) error {
	repo := gitsource.RedactURL(r.project.RepoURL)
	switch {
	case r.d.RedeployOf != "":
		orig, err := r.e.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: r.d.RedeployOf})
		if err != nil {
			return fmt.Errorf("load the deployment to redeploy: %w", err)
		}
		r.commit = orig.GitCommit
	case r.d.PRNumber > 0:
		sha := r.d.RequestedCommit
		if ok, err := r.mirror.HasCommit(ctx, sha); err != nil || !ok {
			if err := r.mirror.FetchCommit(ctx, sha, r.d.PRNumber); err != nil && !errors.Is(err, gitsource.ErrRevisionNotFound) {
				return r.gitFailure(ctx, fmt.Sprintf("fetch commit %s of PR #%d", sha, r.d.PRNumber), err)
			}
		}
		commit, err := r.mirror.ResolveCommit(ctx, sha)
		if err != nil {
			return r.revisionFailure(ctx, err, fmt.Sprintf("commit %s (PR #%d) was not found in %s", sha, r.d.PRNumber, repo))
		}
		r.commit = commit
	case r.d.RequestedCommit != "":
		commit, err := r.mirror.ResolveCommit(ctx, r.d.RequestedCommit)
		if err != nil {
			return r.revisionFailure(ctx, err, fmt.Sprintf("commit %s was not found in %s", r.d.RequestedCommit, repo))
		}
		on, err := r.mirror.BranchContains(ctx, r.d.GitBranch, commit)
		if err != nil {
			return r.revisionFailure(ctx, err, fmt.Sprintf("branch %s was not found in %s", r.d.GitBranch, repo))
		}
		if !on {
			return fail(liftoff.StatusError, "commit %s is not on branch %s", short(commit), r.d.GitBranch)
		}
		r.commit = commit
		if detail := r.d.TriggerDetail; r.d.TriggerType == liftoff.TriggerGitHub && detail.Event == "push" {
			if err := r.resolvePush(ctx, detail); err != nil {
				return err
			}
		}
	default:
		// Only refs/heads/<branch>: a hook's ?branch= naming a tag, a SHA
		// or refs/pull/N/head must not deploy it.
		commit, err := r.mirror.ResolveBranch(ctx, r.d.GitBranch)
		if err != nil {
			return r.revisionFailure(ctx, err, fmt.Sprintf("branch %s was not found in %s", r.d.GitBranch, repo))
		}
		r.commit = commit
	}
	branch := r.d.GitBranch
	if r.d.PRNumber > 0 {
		branch = fmt.Sprintf("PR #%d", r.d.PRNumber)
	}
	r.log.Printf("==> Deploying %s (%s) to %s", short(r.commit), branch, r.inst.Key())
	return nil
}

// checkPRFiles ends an automatic preview deployment NO_CHANGE when no file
// the pull request changes (since it left its base branch) matches the
// preview environment's filter.watchPaths.
func (r *deployment) checkPRFiles(ctx context.Context, baseBranch string, filter prfilter.Filter) error {
	baseTip, err := r.mirror.ResolveBranch(ctx, baseBranch)
	if err != nil {
		return r.gitFailure(ctx, "find the pull request's base branch "+baseBranch, err)
	}
	base, err := r.mirror.MergeBase(ctx, baseTip, r.commit)
	if err != nil {
		return r.gitFailure(ctx, "find where the pull request left "+baseBranch, err)
	}
	files, err := r.mirror.ChangedFiles(ctx, base, r.commit)
	if err != nil {
		return r.gitFailure(ctx, "list the files the pull request changes", err)
	}
	ok, why, err := filter.MatchFiles(files, short(base))
	if err != nil {
		return fail(liftoff.StatusError, "the preview filter's watchPaths: %v", err)
	}
	if !ok {
		return fail(liftoff.StatusNoChange, "%s", why)
	}
	return nil
}

// revisionFailure is ERROR with notFound when git does not know the
// revision, and says so when a short SHA is ambiguous.
func (r *deployment) revisionFailure(ctx context.Context, err error, notFound string) error {
	switch {
	case errors.Is(err, gitsource.ErrAmbiguous):
		return fail(liftoff.StatusError, "%s; use more characters of the SHA", redact.Secrets(err.Error()))
	case errors.Is(err, gitsource.ErrRevisionNotFound), errors.Is(err, gitsource.ErrInvalidRevision):
		return fail(liftoff.StatusError, "%s", notFound)
	}
	return r.gitFailure(ctx, "resolve the commit", err)
}

// readConfig reads and validates the config at the commit, and keeps it
// with the deployment. A redeploy reuses the config of what it redeploys.
func (r *deployment) readConfig(ctx context.Context) error {
	var read project.ConfigFile
	var err error
	if r.d.RedeployOf != "" {
		orig, getErr := r.e.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: r.d.RedeployOf})
		if getErr != nil {
			return fmt.Errorf("load the deployment to redeploy: %w", getErr)
		}
		read, err = project.ParseConfig("the config of "+orig.ID, []byte(orig.Config), r.e.parser.Parse)
	} else {
		searched := project.ConfigSearchPath(r.project.ConfigPath)
		read, err = project.ReadConfigAt(ctx, r.mirror, r.commit, searched, r.e.parser.Parse)
		if errors.Is(err, project.ErrConfigNotFound) {
			return fail(liftoff.StatusError, "%s was not found at commit %s", strings.Join(project.ConfigCandidates(searched), " or "), short(r.commit))
		}
	}
	var readErr *project.ConfigReadError
	var invalidErr *project.ConfigInvalidError
	switch {
	case errors.As(err, &readErr):
		return r.gitFailure(ctx, "read "+readErr.Path, readErr.Err)
	case errors.As(err, &invalidErr):
		return fail(liftoff.StatusError, "%s at %s is not valid: %s", invalidErr.Path, short(r.commit), strings.Join(invalidErr.Errors(), "; "))
	case err != nil:
		return err
	}
	envCfg, ok := read.File.Environment(r.env.GivenID)
	if !ok {
		return fail(liftoff.StatusError, "environment %q is not in %s at %s", r.env.GivenID, read.Path, short(r.commit))
	}
	if envCfg.IsPreview() != r.env.IsPreview {
		return fail(liftoff.StatusError, "environment %q changed between a preview and a normal environment at %s; sync the project", r.env.GivenID, short(r.commit))
	}
	r.file, r.envCfg = read.File, envCfg
	if r.d.RedeployOf == "" {
		if err := r.e.Store.UpdateRunningDeployment(ctx, store.UpdateRunningParams{ID: r.d.ID, Config: string(read.Data)}); err != nil {
			return err
		}
	}
	return nil
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
