package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Mode
		wantErr bool
	}{
		{in: "", want: Auto},
		{in: "auto", want: Auto},
		{in: "BWRAP", want: Bwrap},
		{in: " none ", want: None},
		{in: "docker", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMode(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseMode(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "auto, bwrap or none") {
				t.Errorf("error %q does not say what to use", err)
			}
		})
	}
}

// fakeBwrap writes a script that behaves as bwrap does on a host without
// user namespaces.
func fakeBwrap(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bwrap")
	script := "#!/bin/sh\necho 'bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNewWhenBwrapCannotRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, bwrap string
		wantReason  string
	}{
		{name: "not installed", bwrap: "/nonexistent/bwrap", wantReason: "bubblewrap not found"},
		{name: "no user namespaces", bwrap: fakeBwrap(t), wantReason: "No permissions to create new namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dataDir := t.TempDir()

			// auto runs commands unsandboxed, and says why.
			s, err := New(t.Context(), Config{Mode: Auto, DataDir: dataDir, Bwrap: tt.bwrap})
			if err != nil {
				t.Fatalf("New(auto) = %v, want an unsandboxed Sandbox", err)
			}
			if s.Mode() != None || s.Fallback() == nil || !strings.Contains(s.Fallback().Error(), tt.wantReason) {
				t.Errorf("New(auto): Mode %s, Fallback %v; want none, because %q", s.Mode(), s.Fallback(), tt.wantReason)
			}
			if home, err := s.Home("cproject", "production"); home != "" || err != nil {
				t.Errorf("Home unsandboxed = %q, %v; want \"\"", home, err)
			}

			// bwrap refuses to start, saying why and how to fix it.
			_, err = New(t.Context(), Config{Mode: Bwrap, DataDir: dataDir, Bwrap: tt.bwrap})
			if err == nil {
				t.Fatal("New(bwrap) = nil, want an error")
			}
			for _, want := range []string{tt.wantReason, "apt-get install bubblewrap", "--sandbox none"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("New(bwrap) = %q, want it to say %q", err, want)
				}
			}
		})
	}
}

func TestNewNone(t *testing.T) {
	t.Parallel()
	s, err := New(t.Context(), Config{Mode: None, DataDir: t.TempDir(), Bwrap: "/nonexistent/bwrap"})
	if err != nil || s.Mode() != None || s.Fallback() != nil {
		t.Fatalf("New(none) = %v, %v (mode %s, fallback %v)", s, err, s.Mode(), s.Fallback())
	}
	var nilSandbox *Sandbox
	if nilSandbox.Mode() != None {
		t.Errorf("a nil Sandbox's mode is %s, want none", nilSandbox.Mode())
	}
}

func TestNewChecksBinds(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	inside := filepath.Join(dataDir, "tools")
	if err := os.Mkdir(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bind, want string
	}{
		{name: "relative", bind: "tools/bin", want: `sandbox bind "tools/bin": use an absolute path`},
		{name: "missing", bind: "/nonexistent/liftoff-tools", want: `sandbox bind "/nonexistent/liftoff-tools": lstat /nonexistent: no such file or directory`},
		{name: "inside the data dir", bind: inside, want: "is inside the data dir"},
		{name: "the root", bind: "/", want: "would show the whole host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(t.Context(), Config{Mode: None, DataDir: dataDir, Binds: []string{tt.bind}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want %q", err, tt.want)
			}
		})
	}
}

// argPairs lists bwrap's mount operations in args as "op src dest" (or
// "op dest" for those with one path).
func argPairs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--ro-bind", "--bind", "--symlink":
			out = append(out, args[i]+" "+args[i+1]+" "+args[i+2])
			i += 2
		case "--tmpfs", "--proc", "--dev":
			out = append(out, args[i]+" "+args[i+1])
			i++
		}
	}
	return out
}

func TestBwrapArgs(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	mkdir := func(p string) string {
		t.Helper()
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	srv := mkdir(filepath.Join(tmp, "srv"))
	dataDir := mkdir(filepath.Join(srv, "liftoff"))
	toolBin := mkdir(filepath.Join(tmp, "tools", "bin"))
	linked := filepath.Join(tmp, "linked-bin")
	if err := os.Symlink(toolBin, linked); err != nil {
		t.Fatal(err)
	}
	dataBin := mkdir(filepath.Join(dataDir, "bin"))
	path := strings.Join([]string{"/usr/bin", "/bin", toolBin, linked, dataBin, "relative/bin", "", "/nonexistent/bin"}, ":")

	args := bwrapArgs(dataDir, []bind{{src: srv, dest: srv}}, path, true)
	ops := argPairs(args)
	index := func(op string) int { return slices.Index(ops, op) }

	for _, want := range []string{
		"--ro-bind /usr /usr",
		"--proc /proc", "--dev /dev", "--tmpfs /tmp",
		"--ro-bind " + srv + " " + srv,
		"--ro-bind " + toolBin + " " + toolBin,
		"--ro-bind " + toolBin + " " + linked,
		"--tmpfs " + dataDir, // under the bound srv
	} {
		if index(want) < 0 {
			t.Errorf("no %q in %q", want, ops)
		}
	}
	for _, op := range ops {
		if strings.Contains(op, "/usr/bin") || strings.HasSuffix(op, " /bin /bin") {
			t.Errorf("%q: a PATH dir in a system dir is shown twice", op)
		}
		if strings.HasPrefix(op, "--ro-bind") && strings.Contains(op, dataBin) {
			t.Errorf("%q: a PATH dir in the data dir is shown", op)
		}
		if strings.Contains(op, "relative") || strings.Contains(op, "nonexistent") {
			t.Errorf("%q: a PATH entry that is not an existing absolute dir is shown", op)
		}
	}
	if index("--tmpfs /tmp") > index("--ro-bind "+srv+" "+srv) {
		t.Errorf("a bind comes before the /tmp it may be in: %q", ops)
	}
	if index("--tmpfs "+dataDir) < index("--ro-bind "+srv+" "+srv) {
		t.Errorf("the data dir is hidden before the bind that shows it: %q", ops)
	}
	if !slices.Contains(args, "--cap-drop") {
		t.Errorf("root keeps its capabilities: %q", args)
	}
	if fi, err := os.Lstat("/bin"); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, _ := os.Readlink("/bin")
		if index("--symlink "+target+" /bin") < 0 {
			t.Errorf("merged /usr: no /bin symlink in %q", ops)
		}
	}
	if _, err := os.Stat("/etc/shadow"); err == nil && index("--ro-bind /dev/null /etc/shadow") < 0 {
		t.Errorf("/etc/shadow is not hidden: %q", ops)
	}
}

func TestEtcMasks(t *testing.T) {
	t.Parallel()
	etc := t.TempDir()
	files := map[string]os.FileMode{
		"passwd":                       0o644,
		"shadow":                       0o640,
		"ssh/ssh_config":               0o644,
		"ssh/ssh_host_ed25519_key":     0o600,
		"ssh/ssh_host_ed25519_key.pub": 0o644,
		"ssl/private/snakeoil.key":     0o640,
		"redis/redis.conf":             0o640,
	}
	for name, mode := range files {
		p := filepath.Join(etc, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(etc, "ssl/private"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent", filepath.Join(etc, "dangling")); err != nil {
		t.Fatal(err)
	}
	got := etcMasks(etc)
	want := []mask{
		{path: filepath.Join(etc, "redis/redis.conf")},
		{path: filepath.Join(etc, "shadow")},
		{path: filepath.Join(etc, "ssh/ssh_host_ed25519_key")},
		{path: filepath.Join(etc, "ssl/private"), dir: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("etcMasks = %v, want %v", got, want)
	}
}

func TestHome(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := &Sandbox{bwrap: "/usr/bin/bwrap", dataDir: dataDir} // Home needs no bwrap
	prod, err := s.Home("cproject1", "production")
	if err != nil || prod != filepath.Join(dataDir, "sandbox", "home", "cproject1", "production") {
		t.Fatalf("Home = %q, %v", prod, err)
	}
	if fi, err := os.Stat(prod); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("the home is %v, %v; want a directory of mode 0700", fi, err)
	}
	again, _ := s.Home("cproject1", "production")
	preview, _ := s.Home("cproject1", "preview")
	other, _ := s.Home("cproject2", "production")
	if again != prod || preview == prod || other == prod {
		t.Errorf("homes: production %q again %q, preview %q, other project %q: want one per project and environment", prod, again, preview, other)
	}
	for _, bad := range [][2]string{{"../x", "production"}, {"cproject1", ".."}, {"", "production"}, {"cproject1", "a/b"}} {
		if _, err := s.Home(bad[0], bad[1]); err == nil {
			t.Errorf("Home(%q, %q) = nil error", bad[0], bad[1])
		}
	}
}
