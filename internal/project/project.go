// Package project creates projects from git repositories and keeps their
// environments and services in step with the config file on the default
// branch (liftoff.json, else flightcontrol.json).
package project

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
)

// githubRepoPattern is GitHub's owner/name.
var githubRepoPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)

// Service is the projects domain.
type Service struct {
	// Changed, when set, is called after a sync stored the project's
	// environments and services again, so what keeps them in memory (the
	// hook targets) reads them anew.
	Changed func()

	store store.Store
	git   *gitsource.Manager
	keys  *secretbox.Keyring
	log   *slog.Logger
	newID func() string
	now   func() time.Time
}

// NewService returns the projects domain; keys seal the credentials of
// repositories.
func NewService(s store.Store, git *gitsource.Manager, keys *secretbox.Keyring, log *slog.Logger, newID func() string) *Service {
	return &Service{store: s, git: git, keys: keys, log: log, newID: newID, now: time.Now}
}

// View is a project with its live environments and the warnings of its
// config (fields and types that do not apply on Liftoff).
type View struct {
	Project      liftoff.Project
	Environments []liftoff.Environment
	Warnings     []string
}

// CreateParams are the arguments of Create.
type CreateParams struct {
	Name string
	// Slug is the label of the project's host names
	// (<service>.<environment>.<slug>.localhost). Optional: derived from
	// Name by default. Unique among projects.
	Slug       string
	RepoURL    string
	ConfigPath string // optional: default liftoff.json, falling back to flightcontrol.json
	// GitHubRepository ("owner/name") links the project to GitHub webhooks
	// when RepoURL does not say it (a mirror, an ssh alias). Optional.
	GitHubRepository string
}

// invalid refuses what the caller sent or the repository holds: a bad name
// or URL, a repository that cannot be cloned, a missing or invalid config
// file. Its message says what to fix.
func invalid(format string, args ...any) error { return fail.Invalidf(format, args...) }

// Create clones the repository, reads and validates its config on the
// default branch, and stores the project with its environments and services.
func (s *Service) Create(ctx context.Context, p CreateParams) (View, error) {
	var ok bool
	if p.Name, ok = liftoff.CleanName(p.Name); !ok {
		return View{}, invalid("%s", liftoff.NameRule)
	}
	if strings.TrimSpace(p.RepoURL) == "" {
		return View{}, invalid("repoUrl is required: a local path, file://, https:// or ssh:// URL of a git repository")
	}
	if r := p.GitHubRepository; r != "" && !githubRepoPattern.MatchString(r) {
		return View{}, invalid("githubRepository %q must be owner/name, e.g. octo-org/shop", r)
	}
	if p.Slug == "" {
		p.Slug = SlugOf(p.Name)
	} else if err := checkSlug(p.Slug); err != nil {
		return View{}, err
	}
	// Checked before cloning, to refuse early; the unique index decides.
	if err := s.ensureSlugFree(ctx, p.Slug, p.Name); err != nil {
		return View{}, err
	}
	if p.ConfigPath != "" {
		clean, err := cleanConfigPath(p.ConfigPath)
		if err != nil {
			return View{}, err
		}
		p.ConfigPath = clean
	}
	// Stored as normalized (a relative path made absolute against today's
	// working directory, not a later start's) and without its credential,
	// which is kept apart and never shown.
	remote, err := gitsource.ParseRemote(p.RepoURL)
	if err != nil {
		return View{}, invalid("repoUrl: %s", userError(err))
	}
	id := s.newID()
	cred, err := sealCredential(s.keys, id, remote.Credential.Userinfo())
	if err != nil {
		return View{}, err
	}
	mirror, err := s.git.Mirror(ctx, id, remote)
	if err != nil {
		return View{}, gitInvalid("clone the repository", err)
	}
	view, err := s.load(ctx, mirror, p.ConfigPath, func(q store.Queries, read readResult) (liftoff.Project, error) {
		return q.CreateProject(ctx, store.CreateProjectParams{ID: id, Name: p.Name, Slug: p.Slug, RepoURL: remote.URL,
			RepoCredential: cred,
			ConfigPath:     read.path, DefaultBranch: read.branch, ConfigCommit: read.commit, GitHubRepository: p.GitHubRepository,
			At: s.now()})
	})
	if errors.Is(err, store.ErrConflict) {
		// Another project took the slug meanwhile.
		if taken := s.ensureSlugFree(context.WithoutCancel(ctx), p.Slug, p.Name); taken != nil {
			err = taken
		}
	}
	if err != nil {
		if rmErr := s.git.Remove(context.WithoutCancel(ctx), id); rmErr != nil {
			s.log.Warn("remove mirror of a project that was not created", "project_id", id, "err", rmErr)
		}
		return View{}, err
	}
	return view, nil
}

// Sync fetches the repository and re-reads the config from its default
// branch: new environments get new ids, existing ones keep theirs, removed
// ones are marked deleted.
func (s *Service) Sync(ctx context.Context, id string) (View, error) {
	p, err := s.store.GetProject(ctx, store.GetProjectParams{ID: id})
	if err != nil {
		return View{}, err
	}
	remote, err := Remote(ctx, s.store, s.keys, p)
	if err != nil {
		return View{}, err
	}
	mirror, err := s.git.Mirror(ctx, p.ID, remote)
	if err != nil {
		return View{}, gitInvalid("open the repository", err)
	}
	if err := mirror.Fetch(ctx); err != nil {
		return View{}, gitInvalid("fetch the repository", err)
	}
	mirror.RefreshHead(ctx)
	v, err := s.load(ctx, mirror, ConfigSearchPath(p.ConfigPath), func(q store.Queries, read readResult) (liftoff.Project, error) {
		return q.UpdateProjectConfig(ctx, store.UpdateProjectConfigParams{ID: p.ID, ConfigPath: read.path,
			DefaultBranch: read.branch, ConfigCommit: read.commit, At: s.now()})
	})
	if err == nil && s.Changed != nil {
		// Environments and services may have changed or left.
		s.Changed()
	}
	return v, err
}

type readResult struct {
	path, branch, commit string
	file                 *config.File
	warnings             []string
}

// load reads the config from the mirror's default branch and stores the
// project (through save) and its environments in one transaction.
func (s *Service) load(ctx context.Context, mirror *gitsource.Mirror, configPath string,
	save func(store.Queries, readResult) (liftoff.Project, error)) (View, error) {
	read, err := readConfig(ctx, mirror, configPath)
	if err != nil {
		return View{}, err
	}
	specs := environmentSpecs(read.file)
	var view View
	err = s.store.Tx(ctx, func(q store.Queries) error {
		p, err := save(q, read)
		if err != nil {
			return err
		}
		envs, err := q.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, Environments: specs,
			At: s.now(), NewServiceID: s.newID})
		if err != nil {
			return err
		}
		view = View{Project: p, Environments: envs, Warnings: read.warnings}
		return nil
	})
	if err != nil {
		return View{}, err
	}
	return view, nil
}

func readConfig(ctx context.Context, mirror *gitsource.Mirror, configPath string) (readResult, error) {
	branch, err := mirror.DefaultBranch(ctx)
	if err != nil {
		return readResult{}, gitInvalid("find the default branch", err)
	}
	commit, err := mirror.ResolveBranch(ctx, branch)
	if err != nil {
		return readResult{}, gitInvalid("resolve the default branch "+branch, err)
	}
	read, err := ReadConfigAt(ctx, mirror, commit, configPath, config.Parse)
	var readErr *ConfigReadError
	var invalidErr *ConfigInvalidError
	switch {
	case errors.Is(err, ErrConfigNotFound) && configPath != "":
		return readResult{}, invalid("%s was not found on the default branch %s", configPath, branch)
	case errors.Is(err, ErrConfigNotFound):
		return readResult{}, invalid("neither %s nor %s was found at the root of the default branch %s; add one, or set configPath",
			config.DefaultPath, config.FallbackPath, branch)
	case errors.As(err, &readErr):
		return readResult{}, gitInvalid("read "+readErr.Path, readErr.Err)
	case errors.As(err, &invalidErr):
		return readResult{}, invalid("%s on branch %s is not valid:\n%s", invalidErr.Path, branch, formatProblems(invalidErr))
	case err != nil:
		return readResult{}, err
	}
	var warnings []string
	for _, p := range read.Problems {
		warnings = append(warnings, p.String())
	}
	return readResult{path: read.Path, branch: branch, commit: commit, file: read.File, warnings: warnings}, nil
}

func formatProblems(e *ConfigInvalidError) string {
	var lines []string
	for _, l := range e.Errors() {
		lines = append(lines, "  "+l)
	}
	// The warnings too, as liftoff config validate shows them: a
	// misspelled field ("did you mean ...") is often why a required one
	// is missing.
	for _, p := range e.Problems {
		if p.Severity != config.SeverityError {
			lines = append(lines, "  warning: "+p.String())
		}
	}
	return strings.Join(lines, "\n")
}

// environmentSpecs turns the config into what the store keeps. Services of
// types Liftoff does not run (rds, s3 ...) are not kept as services: they
// were reported as warnings, and the environment's config, which is kept,
// shows them as not deployed (NotRunServices).
func environmentSpecs(f *config.File) []store.EnvironmentSpec {
	specs := make([]store.EnvironmentSpec, 0, len(f.Environments))
	for _, env := range f.Environments {
		spec := store.EnvironmentSpec{GivenID: env.ID, Name: env.Name, IsPreview: env.IsPreview(), Config: env}
		if !spec.IsPreview {
			spec.Branch = env.Source.Branch
		}
		// The services Liftoff runs, and those it makes on the
		// operator's servers (rds, elasticache).
		for _, svc := range env.Services {
			if svc.Runnable() || svc.Managed() != "" {
				spec.Services = append(spec.Services, store.ServiceSpec{GivenID: svc.ID, Name: svc.Name, Type: svc.Type, Config: svc})
			}
		}
		specs = append(specs, spec)
	}
	return specs
}

// gitInvalid turns a git failure the user can fix (bad URL, unreachable or
// empty repository, one the access policy refuses) into an Invalid error;
// anything else stays an internal error.
func gitInvalid(what string, err error) error {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, gitsource.ErrNotAllowed), errors.Is(err, gitsource.ErrInvalidRepoURL):
		return fail.Wrap(fail.Invalid, err, userError(err))
	}
	return fail.Wrap(fail.Invalid, err, "could not "+what+": "+err.Error())
}

// userError is err's message with a credential in any URL redacted.
func userError(err error) string { return gitsource.RedactURL(err.Error()) }

// Remote is where git reads a project's repository: its URL, and its
// credential from the store, opened with keys. The credential is read
// here, for git, and nowhere else.
func Remote(ctx context.Context, st store.ProjectQueries, keys *secretbox.Keyring, p liftoff.Project) (gitsource.Remote, error) {
	cred, err := st.GetRepoCredential(ctx, store.GetRepoCredentialParams{ProjectID: p.ID})
	if err != nil {
		return gitsource.Remote{}, fmt.Errorf("repository credential of project %s: %w", p.ID, err)
	}
	userinfo := cred.Userinfo
	if secretbox.IsSealedText(userinfo) {
		if userinfo, err = keys.OpenText(userinfo, liftoff.RepoCredentialAAD(p.ID)); err != nil {
			return gitsource.Remote{}, fmt.Errorf("repository credential of project %s: %w", p.ID, err)
		}
	}
	c, err := gitsource.ParseUserinfo(userinfo)
	if err != nil {
		return gitsource.Remote{}, fmt.Errorf("project %s: %w", p.ID, err)
	}
	return gitsource.Remote{URL: p.RepoURL, Credential: c}, nil
}

// sealCredential is a repository's credential as the store keeps it:
// sealed, bound to its project; zero for none.
func sealCredential(keys *secretbox.Keyring, projectID, userinfo string) (liftoff.RepoCredential, error) {
	if userinfo == "" {
		return liftoff.RepoCredential{}, nil
	}
	sealed, err := keys.SealText(userinfo, liftoff.RepoCredentialAAD(projectID))
	if err != nil {
		return liftoff.RepoCredential{}, fmt.Errorf("seal the repository credential: %w", err)
	}
	return liftoff.RepoCredential{Userinfo: sealed}, nil
}

// SealCredentials seals the repository credentials stored in clear (by a
// Liftoff from before they were sealed) and returns how many it sealed.
func (s *Service) SealCredentials(ctx context.Context) (int, error) {
	projects, err := s.store.ListProjects(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range projects {
		cred, err := s.store.GetRepoCredential(ctx, store.GetRepoCredentialParams{ProjectID: p.ID})
		if err != nil {
			return n, err
		}
		if cred.IsZero() || secretbox.IsSealedText(cred.Userinfo) {
			continue
		}
		sealed, err := sealCredential(s.keys, p.ID, cred.Userinfo)
		if err != nil {
			return n, err
		}
		ok, err := s.store.ReplaceRepoCredential(ctx, store.ReplaceRepoCredentialParams{ProjectID: p.ID, Old: cred, New: sealed})
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

func cleanConfigPath(p string) (string, error) {
	c := path.Clean(strings.TrimPrefix(strings.TrimPrefix(p, "./"), "/"))
	if c == "." || c == ".." || strings.HasPrefix(c, "../") || strings.ContainsAny(c, "\x00\n") || !strings.HasSuffix(c, ".json") {
		return "", invalid("configPath %q must be a path to a .json file inside the repository", p)
	}
	return c, nil
}

// Get returns a project with its environments.
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	p, err := s.store.GetProject(ctx, store.GetProjectParams{ID: id})
	if err != nil {
		return View{}, err
	}
	envs, err := s.store.ListEnvironments(ctx, store.ListEnvironmentsParams{ProjectID: id})
	if err != nil {
		return View{}, err
	}
	return View{Project: p, Environments: envs}, nil
}

// List returns every project with its environments.
func (s *Service) List(ctx context.Context) ([]View, error) {
	ps, err := s.store.ListProjects(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(ps))
	for _, p := range ps {
		envs, err := s.store.ListEnvironments(ctx, store.ListEnvironmentsParams{ProjectID: p.ID})
		if err != nil {
			return nil, err
		}
		out = append(out, View{Project: p, Environments: envs})
	}
	return out, nil
}

// EnvironmentView is an environment with its services.
type EnvironmentView struct {
	Environment liftoff.Environment
	Services    []liftoff.Service
	// NotRun are the services of the environment's config (at the last
	// sync) that Liftoff does not deploy, in file order.
	NotRun []NotRunService
}

// NotRunService is a service of the config that Liftoff does not deploy.
type NotRunService struct {
	GivenID string
	Name    string
	Type    string
	Reason  string // config.Service.NotRunReason
}

// NotRunServices lists the services of an environment's config that
// Liftoff does not deploy, with why. Managed resources (rds, elasticache)
// are not among them: they are stored services, made when the operator
// gave Liftoff their server.
func NotRunServices(env config.Environment) []NotRunService {
	var out []NotRunService
	for _, s := range env.Services {
		if why := s.NotRunReason(); why != "" && s.Managed() == "" {
			out = append(out, NotRunService{GivenID: s.ID, Name: s.Name, Type: s.Type, Reason: why})
		}
	}
	return out
}

// Environment returns a live environment with its services.
func (s *Service) Environment(ctx context.Context, id int64) (EnvironmentView, error) {
	env, err := s.store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: id})
	if err != nil {
		return EnvironmentView{}, err
	}
	if env.Deleted() {
		return EnvironmentView{}, fmt.Errorf("environment %d was deleted: %w", id, store.ErrNotFound)
	}
	svcs, err := s.store.ListServices(ctx, store.ListServicesParams{EnvironmentID: id})
	if err != nil {
		return EnvironmentView{}, err
	}
	return EnvironmentView{Environment: env, Services: svcs, NotRun: NotRunServices(env.Config)}, nil
}
