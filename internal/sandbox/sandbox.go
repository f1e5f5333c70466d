// Package sandbox is the one place that knows how a user's command runs:
// build steps, deploy steps, the command target's deployCommand and the
// start command of a release all go through Sandbox.Start.
//
// With bubblewrap (mode bwrap) a command runs in namespaces of its own: a
// user namespace without capabilities, its own pid, IPC and UTS namespaces
// (and cgroup namespace where the kernel has one), the host's network. Its
// filesystem is built from nothing: the system directories (/usr, /bin,
// /lib..., /etc without what other users may not read, /opt) and the
// directories of Liftoff's PATH and of Config.Binds read-only, a fresh
// /proc, /dev and /tmp, and read-write only the command's tree (a build's
// checkout, a release's directory) and its home. Liftoff's data
// dir (database, mirrors, other projects' builds, logs), /root, /home, /run
// and /var are not there. bwrap itself starts with an empty environment:
// the sandbox's pid 1 is bwrap, so /proc/1/environ inside shows nothing,
// and no variable from a repository's config can change how bwrap runs on
// the host (LD_PRELOAD and the like reach only the command).
//
// A sandbox lives exactly as long as its command's first process: when
// that exits, bwrap exits, and the kernel kills whatever is left in the pid
// namespace, daemons that left the process group with setsid included.
// When Liftoff dies, the parent-death signal takes bwrap, and the sandbox,
// with it.
//
// Without bubblewrap (mode none) a command runs as it always did: as
// Liftoff's user, in a process group of its own (see procgroup).
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Mode says how commands run.
type Mode string

const (
	// Auto uses bubblewrap when it works on this host and runs commands
	// unsandboxed otherwise (New says why in Sandbox.Fallback).
	Auto Mode = "auto"
	// Bwrap runs every command in a bubblewrap sandbox; New fails when
	// bwrap cannot run.
	Bwrap Mode = "bwrap"
	// None runs commands as Liftoff's user, without isolation.
	None Mode = "none"
)

// ParseMode reads a mode as written on the command line.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case Auto, Bwrap, None:
		return m, nil
	case "":
		return Auto, nil
	}
	return "", fmt.Errorf("%q is not a sandbox mode: use auto, bwrap or none", s)
}

// Config configures a Sandbox. Zero fields get the documented defaults.
type Config struct {
	// Mode is auto, bwrap or none. Default auto.
	Mode Mode
	// DataDir is Liftoff's data dir. Nothing of it is visible in the
	// sandbox except the directories a command is given; it holds the
	// homes of the commands (see Home). Required.
	DataDir string
	// Binds are more host paths made visible read-only in the sandbox, at
	// the same path: toolchains installed outside the system directories
	// (/nix, ~/.pyenv ...). Each must be absolute, exist and not be inside
	// DataDir. Default none.
	Binds []string
	// Path is the PATH whose directories are made visible read-only.
	// It is Liftoff's own: the PATH a repository's config sets for a
	// service changes where the shell looks, never what the sandbox shows.
	// Default: Liftoff's $PATH.
	Path string
	// Bwrap is the bubblewrap binary. Default "bwrap", looked up in PATH.
	Bwrap string
}

// Sandbox runs commands as its mode says. A nil *Sandbox runs them
// unsandboxed, as mode none does. It is safe for concurrent use.
type Sandbox struct {
	bwrap    string   // absolute path of bwrap; empty when unsandboxed
	dataDir  string   // absolute, symlinks resolved
	args     []string // bwrap's arguments shared by every command
	fallback error    // why mode auto runs unsandboxed
}

// probeTimeout bounds the trial run of bwrap at start.
const probeTimeout = 30 * time.Second

// New checks cfg and, unless the mode is none, finds bwrap and runs one
// command in a sandbox exactly as it will run the users' (true, with the
// same arguments), so that a host where bubblewrap cannot work is found at
// start, not at the first build. In mode bwrap that failure is New's
// error; in mode auto New returns an unsandboxed Sandbox whose Fallback
// says why.
func New(ctx context.Context, cfg Config) (*Sandbox, error) {
	mode := cfg.Mode
	if mode == "" {
		mode = Auto
	}
	if _, err := ParseMode(string(mode)); err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		return nil, errors.New("sandbox: Config.DataDir is required")
	}
	dataDir, err := realPath(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: data dir: %w", err)
	}
	binds, err := checkBinds(cfg.Binds, dataDir)
	if err != nil {
		return nil, err
	}
	if mode == None {
		return &Sandbox{dataDir: dataDir}, nil
	}
	path := cfg.Path
	if path == "" {
		path = os.Getenv("PATH")
	}
	s := &Sandbox{dataDir: dataDir, args: bwrapArgs(dataDir, binds, path, os.Geteuid() == 0)}
	err = s.setBwrap(ctx, cfg.Bwrap)
	switch {
	case err == nil:
		return s, nil
	case mode == Bwrap:
		return nil, fmt.Errorf("%w\n%s", err, Advice)
	}
	return &Sandbox{dataDir: dataDir, fallback: err}, nil
}

// Advice says what makes bubblewrap work, after a failure to run it.
const Advice = `Builds and releases run in a bubblewrap sandbox: install it (apt-get install bubblewrap) and allow user namespaces (Debian: sysctl kernel.unprivileged_userns_clone=1; Ubuntu 24.04 and later: sysctl kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap; in a container: one that may create user namespaces). Or run without isolation with --sandbox none.`

// setBwrap finds bwrap and probes it.
func (s *Sandbox) setBwrap(ctx context.Context, name string) error {
	if name == "" {
		name = "bwrap"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return fmt.Errorf("bubblewrap not found: %w", err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return fmt.Errorf("bubblewrap: %w", err)
	}
	s.bwrap = bin
	if err := s.probe(ctx); err != nil {
		s.bwrap = ""
		return fmt.Errorf("bubblewrap (%s) cannot run a sandbox here: %w", bin, err)
	}
	return nil
}

// probe runs true in a sandbox, as Start runs the users' commands.
func (s *Sandbox) probe(ctx context.Context) error {
	base := filepath.Join(s.dataDir, "sandbox")
	if err := os.MkdirAll(base, 0o700); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(base, "probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out, err := os.CreateTemp(base, "probe-output-")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()

	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	p, err := s.Start(Command{Args: []string{"true"}, Dir: dir, Home: dir, Env: []string{"PATH=/usr/bin:/bin"}, Output: out})
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, p.Kill)
	defer stop()
	state, err := p.Wait()
	switch {
	case err != nil:
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("a trial command did not finish within %v", probeTimeout)
	case !state.Success():
		b, _ := os.ReadFile(out.Name())
		return fmt.Errorf("a trial command (true) %v: %s", state, strings.TrimSpace(string(b)))
	}
	return nil
}

// Mode is how the sandbox runs commands: Bwrap or None (never Auto).
func (s *Sandbox) Mode() Mode {
	if s == nil || s.bwrap == "" {
		return None
	}
	return Bwrap
}

// Fallback is why mode auto runs commands unsandboxed; nil otherwise.
func (s *Sandbox) Fallback() error {
	if s == nil {
		return nil
	}
	return s.fallback
}

// safeID is what a project or environment id may hold to name a directory.
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// Home returns the home directory of the commands of a project's
// environment in the sandbox, DataDir/sandbox/home/<projectID>/<environment>
// (the environment's id in liftoff.json), created if missing: it keeps
// their caches (Go, npm ...) from one build to the next. It is never shared
// with another project, nor between environments, so that a pull
// request's preview build cannot poison the caches of production's.
// Unsandboxed, it returns "" and commands keep the HOME of their
// environment.
func (s *Sandbox) Home(projectID, environment string) (string, error) {
	if s.Mode() == None {
		return "", nil
	}
	for _, id := range []string{projectID, environment} {
		if !safeID.MatchString(id) {
			return "", fmt.Errorf("sandbox: id %q cannot name a directory", id)
		}
	}
	dir := filepath.Join(s.dataDir, "sandbox", "home", projectID, environment)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("sandbox: create the home of %s/%s: %w", projectID, environment, err)
	}
	return dir, nil
}

// realPath is p absolute with its symlinks resolved.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// within reports whether path is dir or inside it; both are clean and
// absolute.
func within(path, dir string) bool {
	if dir == "/" {
		return true
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// checkBinds checks Config.Binds and returns them clean, each with its
// resolved source.
func checkBinds(paths []string, dataDir string) ([]bind, error) {
	var out []bind
	var errs []error
	for _, p := range paths {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("sandbox bind %q: use an absolute path", p))
			continue
		}
		src, err := filepath.EvalSymlinks(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("sandbox bind %q: %w", p, err))
			continue
		}
		if src == "/" {
			errs = append(errs, fmt.Errorf("sandbox bind %q would show the whole host: bind the directories the builds need", p))
			continue
		}
		if within(src, dataDir) {
			errs = append(errs, fmt.Errorf("sandbox bind %q is inside the data dir %s, which the sandbox hides: bind a directory outside it", p, dataDir))
			continue
		}
		out = append(out, bind{src: src, dest: filepath.Clean(p)})
	}
	return out, errors.Join(errs...)
}
