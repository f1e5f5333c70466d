package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Manager owns the mirrors of all projects, one bare repository per project
// at <dir>/<projectID>.git. It serialises the clones and fetches of each
// mirror within this process; two Managers (or two processes) must not share
// a directory.
type Manager struct {
	dir    string
	logger *slog.Logger
	policy Policy

	mu      sync.Mutex
	mirrors map[string]*mirrorState // by project id; entries are never removed
}

// mirrorState is what the Manager keeps per mirror.
type mirrorState struct {
	// lock is a mutex whose acquisition can be abandoned when a context
	// ends: holding it means having sent into the channel.
	lock chan struct{}
	// url is the origin URL known to be configured in the mirror, "" until
	// checked. Guarded by lock.
	url string
}

func newMirrorState() *mirrorState {
	return &mirrorState{lock: make(chan struct{}, 1)}
}

func (s *mirrorState) acquire(ctx context.Context) error {
	select {
	case s.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *mirrorState) release() { <-s.lock }

// Policy decides which repositories git may fetch from.
type Policy interface {
	// Allow returns nil when git may contact the repository at repoURL (a
	// URL as ParseRemote returns it, without credentials) now, or an error
	// saying why not and how to allow it. It is asked before every git
	// command that reads from the repository (clone, fetch, ls-remote), so
	// that a host whose name now resolves elsewhere is judged again.
	Allow(ctx context.Context, repoURL string) error
}

// NewManager returns a Manager keeping its mirrors in dir, which is created
// on first use. A nil logger discards messages; a nil policy allows every
// repository.
func NewManager(dir string, logger *slog.Logger, policy Policy) *Manager {
	if abs, err := filepath.Abs(dir); err == nil {
		// git runs with its working directory in the mirror, so paths must
		// not be relative.
		dir = abs
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{dir: dir, logger: logger, policy: policy, mirrors: make(map[string]*mirrorState)}
}

// Mirror returns the mirror of a project, cloning the remote (see
// ParseRemote for the accepted forms) on first use. The clone is made in a
// temporary directory and renamed into place, so a crash never leaves a
// partial mirror. When the remote's URL differs from the one the mirror was
// cloned from, the mirror's origin is repointed; the next Fetch brings it
// in line. Mirror does not fetch an existing mirror: call Fetch for fresh
// refs.
//
// Credentials in remote.URL's user information are taken out of it, as
// ParseRemote does; remote.Credential, when set, wins over them. The
// mirror's config (and so `git remote -v`) only ever holds the URL without
// them.
func (m *Manager) Mirror(ctx context.Context, projectID string, remote Remote) (*Mirror, error) {
	if err := validateProjectID(projectID); err != nil {
		return nil, err
	}
	parsed, err := ParseRemote(remote.URL)
	if err != nil {
		return nil, err
	}
	u, cred := parsed.URL, parsed.Credential
	if !remote.Credential.IsZero() {
		cred = remote.Credential
	}
	st := m.state(projectID)
	if err := st.acquire(ctx); err != nil {
		return nil, err
	}
	defer st.release()

	mir := &Mirror{dir: m.mirrorDir(projectID), url: u, cred: cred, policy: m.policy, state: st,
		logger: m.logger.With("project", projectID)}
	switch _, err := os.Stat(filepath.Join(mir.dir, "HEAD")); {
	case errors.Is(err, fs.ErrNotExist):
		if err := m.clone(ctx, projectID, mir); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("opening mirror of project %s: %w", projectID, err)
	case st.url != u:
		current, err := output(ctx, mir.dir, "config", "--get", "remote.origin.url")
		if err != nil {
			return nil, fmt.Errorf("reading origin of mirror %s: %w", mir.dir, err)
		}
		if current != u {
			// Also takes credentials out of the config of a mirror cloned
			// before Liftoff kept them apart.
			if err := run(ctx, mir.dir, "", nil, nil, "remote", "set-url", "origin", u); err != nil {
				return nil, fmt.Errorf("repointing mirror %s: %w", mir.dir, err)
			}
			m.logger.Info("gitsource: repository URL changed", "project", projectID,
				"from", RedactURL(current), "to", RedactURL(u))
		}
	}
	st.url = u
	return mir, nil
}

// Remove deletes the mirror of a project, if there is one. It waits for a
// fetch in progress on it.
func (m *Manager) Remove(ctx context.Context, projectID string) error {
	if err := validateProjectID(projectID); err != nil {
		return err
	}
	st := m.state(projectID)
	if err := st.acquire(ctx); err != nil {
		return err
	}
	defer st.release()
	st.url = ""

	dir := m.mirrorDir(projectID)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// Move it aside first so that a crash halfway through the removal
	// cannot leave something that looks like a mirror.
	trash, err := os.MkdirTemp(m.dir, tempPrefix(projectID))
	if err != nil {
		return fmt.Errorf("removing mirror of project %s: %w", projectID, err)
	}
	if err := os.Rename(dir, filepath.Join(trash, "repo.git")); err != nil {
		_ = os.Remove(trash)
		return fmt.Errorf("removing mirror of project %s: %w", projectID, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("removing mirror of project %s: %w", projectID, err)
	}
	return nil
}

// clone creates the mirror at mir.dir. The caller holds the mirror's lock.
func (m *Manager) clone(ctx context.Context, projectID string, mir *Mirror) error {
	url, dir := mir.url, mir.dir
	if err := mir.allow(ctx); err != nil {
		return err
	}
	start := time.Now()
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return fmt.Errorf("creating mirror directory: %w", err)
	}
	m.removeStale(projectID)
	tmp, err := os.MkdirTemp(m.dir, tempPrefix(projectID))
	if err != nil {
		return fmt.Errorf("cloning %s: %w", RedactURL(url), err)
	}
	defer os.RemoveAll(tmp)

	repo := filepath.Join(tmp, "repo.git")
	if err := mir.runRemote(ctx, "", tmp, nil, "clone", "--mirror", "--quiet", "--", url, repo); err != nil {
		return fmt.Errorf("cloning %s: %w", RedactURL(url), err)
	}
	// info/attributes overrides the repository's own .gitattributes:
	// git archive must export the tree as it is, like a checkout would,
	// not drop export-ignore files or expand export-subst placeholders.
	attrs := filepath.Join(repo, "info", "attributes")
	if err := os.MkdirAll(filepath.Dir(attrs), 0o755); err != nil {
		return fmt.Errorf("cloning %s: %w", RedactURL(url), err)
	}
	if err := os.WriteFile(attrs, []byte("* -export-ignore -export-subst\n"), 0o644); err != nil {
		return fmt.Errorf("cloning %s: %w", RedactURL(url), err)
	}
	if err := os.Rename(repo, dir); err != nil {
		return fmt.Errorf("cloning %s: %w", RedactURL(url), err)
	}
	m.logger.Info("gitsource: cloned mirror", "project", projectID, "url", RedactURL(url),
		"duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// removeStale deletes what an interrupted clone or removal of the project
// left behind. The caller holds the mirror's lock, so none is in progress.
func (m *Manager) removeStale(projectID string) {
	stale, _ := filepath.Glob(filepath.Join(m.dir, tempPrefix(projectID)+"*"))
	for _, dir := range stale {
		if err := os.RemoveAll(dir); err != nil {
			m.logger.Warn("gitsource: removing stale temporary directory", "dir", dir, "err", err)
		}
	}
}

func (m *Manager) state(projectID string) *mirrorState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.mirrors[projectID]
	if !ok {
		st = newMirrorState()
		m.mirrors[projectID] = st
	}
	return st
}

func (m *Manager) mirrorDir(projectID string) string {
	return filepath.Join(m.dir, projectID+".git")
}

// tempPrefix names the temporary directories of a project. "+" cannot occur
// in a project id, so one project's prefix never matches another's.
func tempPrefix(projectID string) string { return ".tmp-" + projectID + "+" }

// validateProjectID accepts ids that are safe as one file name: letters,
// digits, '_', '-' and '.', not starting with '.' or '-'.
func validateProjectID(id string) error {
	bad := id == "" || len(id) > 128 || id[0] == '.' || id[0] == '-'
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("gitsource: invalid project id %q", id)
	}
	return nil
}
