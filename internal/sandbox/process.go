package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/liftoffhq/liftoff/internal/procgroup"
)

// Command is one command to run.
type Command struct {
	// Args is the command line. Args[0] without a slash is looked up in
	// the PATH of Env. Required.
	Args []string
	// Dir is the working directory; it must exist. In the sandbox it is
	// writable and at the same path as on the host, so that paths in the
	// output are true. Required.
	Dir string
	// Root is the tree Dir is part of (a build's checkout, when Dir is a
	// service's basePath in it), also writable in the sandbox. Empty: Dir.
	Root string
	// Home is HOME in the sandbox, writable: the environment's home
	// (Sandbox.Home). Empty: HOME is /tmp, which lasts as long as the
	// command. Unsandboxed, Home is ignored: HOME is Env's.
	Home string
	// Writable are more host directories the command may write, each at
	// its path: a build's cache (package buildcache). Each must be
	// absolute and exist. Unsandboxed, they are ignored.
	Writable []string
	// Env is the command's complete environment, as KEY=VALUE. In the
	// sandbox HOME is Home and TMPDIR is unset (the sandbox's /tmp is its
	// own).
	Env []string
	// Output receives the command's stdout and stderr. Required.
	Output *os.File
}

// trampoline is run by the sandbox's shell: bwrap's own stderr is a pipe
// of ours, so that a failure of bwrap is told apart from the command's
// output; the command gets stderr on Output, as unsandboxed.
const trampoline = `exec 2>&1; exec "$@"`

// Start starts c, unsandboxed or in a sandbox, as the leader of a process
// group of its own that the kernel kills when Liftoff dies (see
// procgroup.Attr). Stdin is /dev/null. The caller must call Wait.
func (s *Sandbox) Start(c Command) (*Process, error) {
	if len(c.Args) == 0 || c.Output == nil || c.Dir == "" {
		return nil, errors.New("sandbox: Command needs Args, Dir and Output")
	}
	closeInherited()
	if s.Mode() == None {
		return startPlain(c)
	}
	return s.startBwrap(c)
}

// closeInherited marks every descriptor from 3 on close-on-exec. Go opens
// its own that way, but one Liftoff inherited from whatever started it (a
// supervisor's pipe, a shell's `7<secrets.env`, systemd's sockets) is not,
// and a command would get it, sandbox or not. os/exec dups what it hands a
// child on purpose in the child, so marking everything is safe.
func closeInherited() {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		// Linux before 5.11: mark them one by one.
		entries, _ := os.ReadDir("/proc/self/fd")
		for _, e := range entries {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				unix.CloseOnExec(fd)
			}
		}
	}
}

func startPlain(c Command) (*Process, error) {
	// exec.Command would look the program up in Liftoff's own PATH; the
	// command's is the one that counts, as in the sandbox.
	path, err := lookPath(c.Args[0], c.Env, c.Dir)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: path, Args: c.Args}
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // nil would be Liftoff's own environment
	}
	cmd.Stdout, cmd.Stderr = c.Output, c.Output
	cmd.SysProcAttr = procgroup.Attr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := newProcess(cmd)
	p.group = p.pid
	return p, nil
}

// Fds of bwrap beyond stdio, as ExtraFiles puts them.
const (
	statusFd = "3" // --json-status-fd: the sandbox's pid 1, then the command's exit
	argsFd   = "4" // --args: the command's environment, out of sight of ps
)

func (s *Sandbox) startBwrap(c Command) (*Process, error) {
	setenv, err := envArgs(c.Env, c.Home)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return nil, err
	}
	writable := []string{dir}
	if c.Root != "" {
		root, err := filepath.Abs(c.Root)
		if err != nil {
			return nil, err
		}
		if within(dir, root) {
			writable[0] = root
		} else {
			writable = append(writable, root)
		}
	}
	if c.Home != "" {
		writable = append(writable, c.Home)
	}
	for _, w := range c.Writable {
		if !filepath.IsAbs(w) {
			return nil, fmt.Errorf("sandbox: writable directory %q is not absolute", w)
		}
		writable = append(writable, filepath.Clean(w))
	}
	args := append([]string(nil), s.args...)
	for _, w := range writable {
		args = append(args, "--bind", w, w)
	}
	args = append(args, "--chdir", dir, "--json-status-fd", statusFd, "--args", argsFd,
		"--", "/bin/sh", "-c", trampoline, "sh")
	args = append(args, c.Args...)

	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	argsR, argsW, err := os.Pipe()
	if err != nil {
		statusR.Close()
		statusW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		statusR.Close()
		statusW.Close()
		argsR.Close()
		argsW.Close()
		return nil, err
	}
	cmd := exec.Command(s.bwrap, args...)
	// Nothing: bwrap runs on the host, where LD_PRELOAD or GLIBC_TUNABLES
	// from a repository's config must not reach it. The command gets its
	// environment through --setenv.
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = c.Output, errW
	cmd.ExtraFiles = []*os.File{statusW, argsR}
	cmd.SysProcAttr = procgroup.Attr()
	err = cmd.Start()
	statusW.Close()
	argsR.Close()
	errW.Close()
	if err != nil {
		statusR.Close()
		argsW.Close()
		errR.Close()
		return nil, err
	}
	go func() {
		// bwrap reads it all before anything else; if it died first, the
		// write fails, and Wait says why it died.
		_, _ = argsW.Write(setenv)
		argsW.Close()
	}()

	p := newProcess(cmd)
	p.sandboxed = true
	p.status = make(chan struct{})
	p.stderrDone = make(chan struct{})
	go func() {
		defer close(p.stderrDone)
		defer errR.Close()
		_, _ = io.Copy(&p.stderr, errR)
	}()
	childPid := make(chan int, 1)
	go p.readStatus(statusR, childPid)
	select {
	case pid := <-childPid:
		p.setGroup(pid)
	case <-p.status:
		// bwrap ended before it made the sandbox: Wait reports why.
		select {
		case pid := <-childPid:
			p.setGroup(pid)
		default:
		}
	}
	return p, nil
}

// envArgs is env as bwrap's --setenv arguments, NUL-separated for --args.
func envArgs(env []string, home string) ([]byte, error) {
	if home == "" {
		home = "/tmp"
	}
	var b bytes.Buffer
	add := func(k, v string) {
		for _, s := range []string{"--setenv", k, v} {
			b.WriteString(s)
			b.WriteByte(0)
		}
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if strings.IndexByte(kv, 0) >= 0 {
			// It would end the argument early and start another one.
			return nil, fmt.Errorf("sandbox: environment variable %s holds a NUL byte", strconv.Quote(k))
		}
		if !ok || k == "" || k == "HOME" || k == "TMPDIR" {
			continue
		}
		add(k, v)
	}
	add("HOME", home)
	return b.Bytes(), nil
}

// Process is a started command. Its methods may be called from any
// goroutine, except Wait, which one goroutine calls once.
type Process struct {
	cmd    *exec.Cmd
	pid    int // the leader: bwrap, or the command; its group's id
	exited chan struct{}

	// group is the process group of the command's processes: pid
	// unsandboxed, the sandbox's pid 1 (the session bwrap made) in it.
	// Zero when bwrap failed before it made the sandbox.
	group int

	// The rest is only used in a sandbox.
	sandboxed  bool
	status     chan struct{} // closed when bwrap's status pipe is at its end
	ran        bool          // bwrap reported the command's exit; read after status
	stderr     limitedBuffer // what bwrap said
	stderrDone chan struct{}
	mu         sync.Mutex
	initFd     int  // pidfd of the sandbox's pid 1; -1 without one
	initGone   bool // pid 1 was gone before its pidfd could be opened
}

func newProcess(cmd *exec.Cmd) *Process {
	p := &Process{cmd: cmd, pid: cmd.Process.Pid, exited: make(chan struct{}), initFd: -1}
	go func() {
		// Not reaped: the leader's pid, its group's id, stays ours until
		// Wait, so signalling the group cannot hit a stranger.
		procgroup.WaitExited(p.pid)
		close(p.exited)
	}()
	return p
}

// readStatus reads bwrap's --json-status-fd: {"child-pid": N} once the
// sandbox's pid 1 exists, {"exit-code": N} once the command, having
// started, exited.
func (p *Process) readStatus(r *os.File, childPid chan<- int) {
	defer close(p.status)
	defer r.Close()
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			ChildPid *int `json:"child-pid"`
			ExitCode *int `json:"exit-code"`
		}
		if err := dec.Decode(&msg); err != nil {
			return
		}
		if msg.ChildPid != nil {
			childPid <- *msg.ChildPid
		}
		if msg.ExitCode != nil {
			p.ran = true
		}
	}
}

func (p *Process) setGroup(pid int) {
	p.group = pid
	fd, err := unix.PidfdOpen(pid, 0)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err == nil:
		p.initFd = fd
	case errors.Is(err, syscall.ESRCH):
		p.initGone = true
	}
}

// Pid is the leader's pid, which is also its process group's id: bwrap's
// in a sandbox, else the command's.
func (p *Process) Pid() int { return p.pid }

// Group is the process group of the command's processes: Pid unsandboxed,
// the group of the sandbox's pid 1 in a sandbox (it ignores SIGTERM; only
// SIGKILL ends it, and with it the sandbox). Zero when the sandbox failed
// before it existed.
func (p *Process) Group() int { return p.group }

// Exited is closed when the leader has exited (it is reaped by Wait). In
// a sandbox the leader exits with the command's first process, and the
// kernel then kills whatever is left in the sandbox.
func (p *Process) Exited() <-chan struct{} { return p.exited }

func (p *Process) leaderExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Terminate sends SIGTERM to the command's processes (its process group),
// so they can clean up and exit. bwrap is left alone: its death would kill
// them at once.
func (p *Process) Terminate() {
	if p.sandboxed && p.leaderExited() {
		// bwrap is gone, so the sandbox is being killed, and its pid 1,
		// whose pid is the group's id, may already have been reaped.
		return
	}
	procgroup.Signal(p.group, syscall.SIGTERM)
}

// Kill sends SIGKILL to everything of the command: its process group and,
// in a sandbox, bwrap and the sandbox's pid 1, whose death takes every
// process of the sandbox with it (daemons that left the group too).
func (p *Process) Kill() {
	if p.sandboxed && !p.leaderExited() {
		procgroup.Signal(p.group, syscall.SIGKILL)
	}
	procgroup.Signal(p.pid, syscall.SIGKILL)
}

// Gone reports whether the leader has exited and nothing of the command
// is left: unsandboxed, no live process in its group (a process that left
// the group is not seen); in a sandbox, no process at all in it.
func (p *Process) Gone() bool {
	if !p.leaderExited() {
		return false
	}
	if !p.sandboxed {
		return len(procgroup.Members(p.pid)) == 0
	}
	return p.sandboxGone(0)
}

// sandboxGone waits up to timeout for the sandbox's pid 1 to be gone. Its
// pidfd is readable once it has exited, and a pid namespace's first
// process exits only after the kernel has killed and reaped every other
// process in it.
func (p *Process) sandboxGone(timeout time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.initGone || p.group == 0:
		return true
	case p.initFd < 0:
		// No pidfd (a kernel before 5.3): the group is all we can see.
		return len(procgroup.Members(p.group)) == 0
	}
	fds := []unix.PollFd{{Fd: int32(p.initFd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		n, err := unix.Poll(fds, max(0, int(time.Until(deadline).Milliseconds())))
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return len(procgroup.Members(p.group)) == 0
		case n == 0:
			return false // timed out
		}
		p.initGone = true
		unix.Close(p.initFd)
		p.initFd = -1
		return true
	}
}

// killWait bounds how long Wait waits for a sandbox to disappear once
// bwrap has exited; the kernel kills it at once, so only a process stuck
// in the kernel takes that long.
const killWait = 5 * time.Second

// Wait waits until the leader has exited and, in a sandbox, every process
// of it is gone, reaps the leader and returns its state. The error is nil
// when the command exited with status 0, an *exec.ExitError when it did
// not (in a sandbox the state is bwrap's, which exits with the command's
// status, or 128+N when the command was killed by signal N), or an *Error
// when the sandbox failed before the command started.
func (p *Process) Wait() (*os.ProcessState, error) {
	<-p.exited
	err := p.cmd.Wait()
	state := p.cmd.ProcessState
	if !p.sandboxed {
		return state, err
	}
	<-p.status // bwrap, its only writer, is gone
	if !p.sandboxGone(killWait) {
		procgroup.Signal(p.group, syscall.SIGKILL)
		p.sandboxGone(killWait)
	}
	p.mu.Lock()
	if p.initFd >= 0 {
		unix.Close(p.initFd)
		p.initFd = -1
	}
	p.mu.Unlock()
	select {
	case <-p.stderrDone:
	case <-time.After(killWait):
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); !p.ran && ok && !ws.Signaled() {
		return state, &Error{ExitCode: state.ExitCode(), Message: p.stderr.String()}
	}
	return state, err
}

// Error is a failure of the sandbox, not of the command: bwrap could not
// build the sandbox or start the command in it (user namespaces refused,
// a directory to show that vanished, no /bin/sh).
type Error struct {
	ExitCode int    // bwrap's
	Message  string // what bwrap said
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = "bwrap exited with status " + strconv.Itoa(e.ExitCode)
	}
	return "the sandbox (bubblewrap) failed before the command started: " + msg
}

// limitedBuffer keeps the first 4 KiB written to it: bwrap says what went
// wrong in a line.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const stderrLimit = 4 << 10

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := stderrLimit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// defaultExecPath is where execvp(3) looks when the environment has no PATH.
const defaultExecPath = "/bin:/usr/bin"

// lookPath finds name as a shell would for a command with environment env
// started in dir: a name with a slash is a path (relative to dir), one
// without is searched in env's PATH, whose relative entries are relative
// to dir. The result is name itself or an absolute path.
func lookPath(name string, env []string, dir string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathList := defaultExecPath
	for _, kv := range slices.Backward(env) { // the last entry wins, as in exec
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathList = v
			break
		}
	}
	for _, d := range filepath.SplitList(pathList) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
			if abs, err := filepath.Abs(p); err == nil {
				p = abs
			}
		}
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}
