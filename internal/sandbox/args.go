package sandbox

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// bind is a host path (src, symlinks resolved) shown read-only at dest.
type bind struct{ src, dest string }

// systemDirs are shown read-only when they exist. One that is a symlink
// (merged /usr: /bin -> usr/bin) is recreated as the same symlink.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"}

// hostEtc is the /etc that is shown, and searched for what to hide.
const hostEtc = "/etc"

// bwrapArgs are the arguments of bwrap shared by every command: the
// namespaces and the read-only part of the filesystem. The command's own
// tree and home come after them (see Start).
func bwrapArgs(dataDir string, binds []bind, path string, root bool) []string {
	// No --unshare-net: builds download dependencies, and releases listen
	// on 127.0.0.1:$PORT for the proxy and the health checks.
	a := []string{
		"--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--die-with-parent",
		// The command gets a session of its own, and with it a process
		// group apart from bwrap's: SIGTERM reaches the command's
		// processes without killing bwrap, whose death would SIGKILL them
		// all at once. It also takes away Liftoff's controlling
		// terminal, if any (no TIOCSTI into the operator's shell).
		"--new-session",
	}
	if root {
		// Root keeps its capabilities in its user namespace unless told.
		a = append(a, "--cap-drop", "ALL")
	}
	var shown []bind   // read-only, so far
	var links []string // system dirs recreated as symlinks
	for _, d := range systemDirs {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&fs.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				a = append(a, "--symlink", target, d)
				links = append(links, d)
			}
		case fi.IsDir():
			a = append(a, "--ro-bind", d, d)
			shown = append(shown, bind{src: d, dest: d})
		}
	}
	for _, m := range etcMasks(hostEtc) {
		if m.dir {
			a = append(a, "--tmpfs", m.path)
		} else {
			// Opening it fails (binds are nodev): Permission denied.
			a = append(a, "--ro-bind", "/dev/null", m.path)
		}
	}
	// A resolv.conf managed by systemd-resolved or NetworkManager is a
	// symlink into /run, which is not shown: show its target alone.
	if target, err := filepath.EvalSymlinks(filepath.Join(hostEtc, "resolv.conf")); err == nil && !shownAt(target, shown) {
		a = append(a, "--ro-bind", target, target)
		shown = append(shown, bind{src: target, dest: target})
	}
	a = append(a, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")
	a = append(a, procCovers()...)

	// Parents before children, or a parent's bind would hide a child's.
	extra := append(slices.Clone(binds), pathBinds(path, dataDir)...)
	slices.SortStableFunc(extra, func(x, y bind) int { return strings.Compare(x.dest, y.dest) })
	for _, b := range extra {
		visible := slices.ContainsFunc(shown, func(s bind) bool { return within(b.dest, s.dest) }) ||
			slices.ContainsFunc(links, func(l string) bool { return within(b.dest, l) })
		switch {
		case visible && shownAt(b.src, shown):
			continue // already there, or a symlink inside leads there
		case visible:
			// dest is a symlink in a shown tree: show where it leads.
			b.dest = b.src
		}
		a = append(a, "--ro-bind", b.src, b.dest)
		shown = append(shown, b)
	}
	// A shown directory that holds the data dir (/opt/liftoff/data, a
	// --sandbox-bind of /srv) gets an empty directory over it.
	for _, b := range shown {
		if within(dataDir, b.src) {
			a = append(a, "--tmpfs", filepath.Join(b.dest, strings.TrimPrefix(dataDir, b.src)))
		}
	}
	return a
}

// The kernel lets the host's uid 0 write kernel settings without any
// capability, and bwrap maps a sandbox started by root to the host's uid
// 0: a build could set kernel.core_pattern to a program of its own, which
// the kernel would run as root at the next crash. bwrap covers these only
// when it finds them writable, which it does not when it runs without
// capabilities: cover them ourselves, as container runtimes do.
var (
	// procReadOnly are shown read-only: kernel and device settings.
	procReadOnly = []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/proc/acpi", "/proc/scsi"}
	// procHidden are files that say too much about the host (the keys
	// of the host's users, timers and scheduling of every process).
	procHidden = []string{"/proc/keys", "/proc/kcore", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats"}
)

// procCovers are the arguments that cover procReadOnly and procHidden in
// the sandbox's /proc, where the host has them.
func procCovers() []string {
	var a []string
	for _, p := range procReadOnly {
		a = append(a, "--ro-bind-try", p, p)
	}
	for _, p := range procHidden {
		if _, err := os.Stat(p); err == nil {
			a = append(a, "--ro-bind", "/dev/null", p)
		}
	}
	return a
}

// shownAt reports whether the host path src is shown at the same path.
func shownAt(src string, shown []bind) bool {
	for _, b := range shown {
		if within(src, b.src) && b.dest == b.src {
			return true
		}
	}
	return false
}

// pathBinds are the directories of path that exist and are not in the data
// dir, each shown where PATH names it.
func pathBinds(path, dataDir string) []bind {
	var out []bind
	for _, p := range filepath.SplitList(path) {
		if !filepath.IsAbs(p) {
			continue // "" and "." mean the working directory
		}
		p = filepath.Clean(p)
		src, err := filepath.EvalSymlinks(p)
		if err != nil || within(src, dataDir) || within(p, dataDir) {
			continue
		}
		if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
			continue
		}
		out = append(out, bind{src: src, dest: p})
	}
	return out
}

// mask is a path of /etc to hide.
type mask struct {
	path string
	dir  bool
}

// etcMasks lists what etc holds that other users may not read: a file or
// directory without the read permission for others (/etc/shadow,
// /etc/gshadow, SSH host keys, /etc/ssl/private, database and service
// configs with passwords). Liftoff may be able to read them (as root, or
// as their owner); a build may not. What every user of the host may read
// stays visible, which is what builds need from /etc.
func etcMasks(etc string) []mask {
	var out []mask
	_ = filepath.WalkDir(etc, func(path string, d fs.DirEntry, err error) error {
		if path == etc {
			return nil
		}
		if d == nil {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // its target is hidden, or not, where it lives
		}
		info, ierr := d.Info()
		if ierr != nil {
			return nil
		}
		unreadable := info.Mode().Perm()&0o004 == 0
		if d.IsDir() {
			if unreadable || info.Mode().Perm()&0o001 == 0 {
				out = append(out, mask{path: path, dir: true})
				return fs.SkipDir
			}
			if err != nil {
				return fs.SkipDir
			}
			return nil
		}
		if unreadable && info.Mode().IsRegular() {
			out = append(out, mask{path: path})
		}
		return nil
	})
	return out
}
