package packaging_test

import (
	"bufio"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// root is the repository's root, from this package's directory.
const root = ".."

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dockerfile is the Dockerfile's instructions, continuation lines joined,
// comments dropped.
func dockerfile(t *testing.T) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(read(t, "Dockerfile")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, strings.Join(strings.Fields(cur.String()), " "))
		cur.Reset()
	}
	return out
}

// serveFlags are the flags of liftoff serve as README's configuration
// table lists them (cmd/liftoff's TestServeFlagDefaults keeps the table
// equal to the flags), by their environment variable: LIFTOFF_DATA_DIR.
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	_, section, ok := strings.Cut(read(t, "README.md"), "\n## Configuration\n")
	if !ok {
		t.Fatal("README has no Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	env := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| *(`--[a-z-]+`(?:, `--[a-z-]+`)*)").FindAllStringSubmatch(section, -1) {
		for f := range strings.SplitSeq(m[1], ", ") {
			name := strings.TrimPrefix(strings.Trim(f, "`"), "--")
			env["LIFTOFF_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = true
		}
	}
	if !env["LIFTOFF_DATA_DIR"] || !env["LIFTOFF_DATABASE_URL"] {
		t.Fatalf("README's configuration table: read %v", env)
	}
	return env
}

// checkEnvNames fails for each LIFTOFF_ variable in text that is no flag
// of liftoff serve: a typo there is silently ignored at run time.
func checkEnvNames(t *testing.T, file, text string) {
	t.Helper()
	flags := serveFlags(t)
	names := regexp.MustCompile(`LIFTOFF_[A-Z0-9_]+`).FindAllString(text, -1)
	if len(names) == 0 {
		t.Fatalf("%s sets no LIFTOFF_ variable", file)
	}
	for _, n := range names {
		if !flags[n] {
			t.Errorf("%s: %s is not the variable of a flag of liftoff serve", file, n)
		}
	}
}

// TestDockerfile: the image builds the binary CI builds, statically, with
// the Go of go.mod; runs as the user liftoff with git, bubblewrap and CA
// certificates, the data dir a volume, both ports exposed, and checks its
// health with liftoff healthcheck. The image itself is not built here.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	lines := dockerfile(t)
	has := func(prefix string) []string {
		var out []string
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				out = append(out, l)
			}
		}
		return out
	}

	goMod := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(read(t, "go.mod"))
	from := has("FROM ")
	if len(from) != 2 || from[0] != "FROM golang:"+goMod[1]+" AS build" || from[1] != "FROM debian:bookworm-slim" {
		t.Errorf("stages %q: want golang:%s as build, then debian:bookworm-slim", from, goMod[1])
	}

	// CI (.ci/run) and make build build ./cmd/liftoff; so does the image.
	for _, f := range []string{"Makefile", ".ci/run"} {
		if !regexp.MustCompile(`(go|\$\(GO\)) build .*\./cmd/liftoff\b`).MatchString(read(t, f)) {
			t.Errorf("%s no longer builds ./cmd/liftoff: update the Dockerfile's build with it", f)
		}
	}
	var build string
	for _, l := range has("RUN ") {
		if strings.Contains(l, "go build") {
			build = l
		}
	}
	if !regexp.MustCompile(`^RUN CGO_ENABLED=0 go build (-[a-z]+(=\S+)? )*-o /out/liftoff \./cmd/liftoff$`).MatchString(build) {
		t.Errorf("the build %q: want RUN CGO_ENABLED=0 go build ... -o /out/liftoff ./cmd/liftoff", build)
	}
	if c := has("COPY --from=build "); len(c) != 1 || c[0] != "COPY --from=build /out/liftoff /usr/local/bin/liftoff" {
		t.Errorf("the binary is copied by %q", c)
	}
	// Statically linked needs every package to build without cgo.
	list := exec.Command("go", "list", "-e", "-deps", "-f", "{{.ImportPath}} {{.CgoFiles}} {{.Error}}", "../cmd/liftoff")
	list.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for l := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasSuffix(l, " [] <nil>") {
			t.Errorf("with CGO_ENABLED=0: %s", l)
		}
	}

	var install string
	for _, l := range has("RUN ") {
		if strings.Contains(l, "apt-get install") {
			install = l
		}
	}
	for _, pkg := range []string{"git", "bubblewrap", "ca-certificates"} {
		if !slices.Contains(strings.Fields(install), pkg) {
			t.Errorf("the image does not install %s: %q", pkg, install)
		}
	}
	if !strings.Contains(install, "useradd --system") || !strings.Contains(install, " liftoff ") ||
		!strings.Contains(install, "install -d -o liftoff -g liftoff -m 0700 /var/lib/liftoff") {
		t.Errorf("the user liftoff and its data dir are not made: %q", install)
	}
	for _, want := range []string{
		"USER liftoff",
		`VOLUME ["/var/lib/liftoff"]`,
		"EXPOSE 8080 8000",
		`HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["liftoff", "healthcheck"]`,
		`ENTRYPOINT ["liftoff"]`,
		`CMD ["serve"]`,
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("the Dockerfile lacks %s", want)
		}
	}
	env := strings.Join(has("ENV "), " ")
	for _, want := range []string{"LIFTOFF_DATA_DIR=/var/lib/liftoff", "LIFTOFF_ADDR=0.0.0.0:8080", "LIFTOFF_PROXY_ADDR=0.0.0.0:8000"} {
		if !strings.Contains(env, want) {
			t.Errorf("the image's environment lacks %s: %q", want, env)
		}
	}
	checkEnvNames(t, "Dockerfile", env)
}

// TestDockerignore: the build context keeps every directory and embedded
// file the build needs.
func TestDockerignore(t *testing.T) {
	t.Parallel()
	var patterns []string
	for l := range strings.SplitSeq(read(t, ".dockerignore"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.TrimPrefix(l, "/"))
		}
	}
	ignored := func(rel string) bool {
		for _, p := range patterns {
			// A pattern matches the path or one of its parents, as
			// Docker's does; ** matches any number of directories.
			for dir := rel; dir != "." && dir != "/"; dir = path.Dir(dir) {
				if ok, _ := path.Match(p, dir); ok {
					return true
				}
				if rest, ok := strings.CutPrefix(p, "**/"); ok {
					if ok, _ := path.Match(rest, path.Base(dir)); ok {
						return true
					}
				}
			}
		}
		return false
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if eq .Module.Path "github.com/liftoffhq/liftoff"}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`,
		"../cmd/liftoff").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	needed := []string{"go.mod", "go.sum"}
	for l := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		dir, err := filepath.Rel(abs, f[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range f[1:] {
			needed = append(needed, filepath.ToSlash(filepath.Join(dir, name)))
		}
	}
	if len(needed) < 50 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, n := range needed {
		if ignored(n) {
			t.Errorf(".dockerignore leaves %s out of the build context, and the build needs it", n)
		}
	}
	for _, n := range []string{".git/HEAD", "liftoff-data/liftoff.db", "bin/liftoff", "docs/operations.md", "internal/x/x.test"} {
		if !ignored(n) {
			t.Errorf(".dockerignore sends %s to the build", n)
		}
	}
}

// TestCompose: docker-compose.yml parses, runs PostgreSQL 16, migrates
// once before two Liftoff replicas that share the database, the secret key
// file (one volume) and the public URL, one of them with the engine. It is
// not run here: no image registry.
func TestCompose(t *testing.T) {
	t.Parallel()
	text := read(t, "docker-compose.yml")
	var c struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			SecurityOpt []string `yaml:"security_opt"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal([]byte(text), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if pg := c.Services["postgres"]; pg.Image != "postgres:16" {
		t.Errorf("postgres service: image %q, want postgres:16", pg.Image)
	}
	m := c.Services["migrate"]
	if !slices.Equal(m.Command, []string{"migrate"}) || m.DependsOn["postgres"].Condition != "service_healthy" {
		t.Errorf("migrate service: %+v", m)
	}
	replicas := []string{"liftoff-1", "liftoff-2"}
	engines := 0
	for _, name := range replicas {
		r, ok := c.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if r.Image != "liftoff:local" || r.Build != "." {
			t.Errorf("%s: image %q, build %v", name, r.Image, r.Build)
		}
		if r.DependsOn["migrate"].Condition != "service_completed_successfully" {
			t.Errorf("%s does not wait for the migration: %+v", name, r.DependsOn)
		}
		for _, k := range []string{"LIFTOFF_DATABASE_URL", "LIFTOFF_SECRET_KEY_FILE", "LIFTOFF_PUBLIC_URL"} {
			if v := r.Environment[k]; v == "" || v != c.Services[replicas[0]].Environment[k] {
				t.Errorf("%s: %s %q, not the other replica's", name, k, v)
			}
		}
		if r.Environment["LIFTOFF_DATABASE_URL"] != m.Environment["LIFTOFF_DATABASE_URL"] ||
			!strings.HasPrefix(r.Environment["LIFTOFF_DATABASE_URL"], "postgres://liftoff:${POSTGRES_PASSWORD") {
			t.Errorf("%s: the database %q is not the one migrated", name, r.Environment["LIFTOFF_DATABASE_URL"])
		}
		keyDir := path.Dir(r.Environment["LIFTOFF_SECRET_KEY_FILE"])
		if !slices.Contains(r.Volumes, "liftoff-key:"+keyDir) {
			t.Errorf("%s: the key's directory %s is not the shared volume: %v", name, keyDir, r.Volumes)
		}
		if !slices.Contains(r.Volumes, name+"-data:/var/lib/liftoff") {
			t.Errorf("%s: no data dir volume of its own: %v", name, r.Volumes)
		}
		if r.Environment["LIFTOFF_WORKERS"] != "-1" && r.Environment["LIFTOFF_ROLE"] != "api" {
			engines++
		}
		if !slices.Contains(r.SecurityOpt, "seccomp=unconfined") {
			t.Errorf("%s: bubblewrap cannot create namespaces under the default seccomp profile: %v", name, r.SecurityOpt)
		}
		checkEnvNames(t, "docker-compose.yml", strings.Join(slices.Collect(mapKeys(r.Environment)), " "))
	}
	if engines != 1 {
		t.Errorf("%d replicas run the engine, want 1 (services on the local target run where they were deployed)", engines)
	}
	for _, v := range []string{"postgres", "liftoff-key", "liftoff-1-data", "liftoff-2-data"} {
		if _, ok := c.Volumes[v]; !ok {
			t.Errorf("volume %s is not declared", v)
		}
	}
	// The volume of the key is the image's directory, made for the user.
	if !strings.Contains(read(t, "Dockerfile"), "/var/lib/liftoff-key") {
		t.Error("the image does not make /var/lib/liftoff-key for the user liftoff: a new volume there would be root's")
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestSystemdUnit: systemd-analyze verify finds nothing to say of the unit
// (skipped where it is not installed), and the unit keeps what bubblewrap
// needs: user and mount namespaces allowed, no read-only or hidden parts of
// /proc. The environment file names only flags of liftoff serve.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	unit := read(t, "packaging/liftoff.service")
	settings := map[string]string{}
	for l := range strings.SplitSeq(unit, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			settings[k] = v
		}
	}
	for k, want := range map[string]string{
		"User": "liftoff", "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/liftoff", "PrivateTmp": "yes",
		"NoNewPrivileges": "yes", "StateDirectory": "liftoff", "ExecStart": "/usr/local/bin/liftoff serve",
	} {
		if settings[k] != want {
			t.Errorf("%s=%q, want %q", k, settings[k], want)
		}
	}
	ns := strings.Fields(settings["RestrictNamespaces"])
	for _, n := range []string{"user", "mnt", "pid", "ipc", "uts"} {
		if !slices.Contains(ns, n) {
			t.Errorf("RestrictNamespaces=%s refuses bubblewrap the %s namespace", settings["RestrictNamespaces"], n)
		}
	}
	// Each makes the kernel refuse bubblewrap a new /proc.
	for _, k := range []string{"ProtectKernelTunables", "ProtectKernelLogs", "ProcSubset", "SystemCallFilter"} {
		if v, ok := settings[k]; ok {
			t.Errorf("%s=%s breaks the sandbox (see the unit's comments)", k, v)
		}
	}
	checkEnvNames(t, "packaging/liftoff.env", read(t, "packaging/liftoff.env"))
	checkEnvNames(t, "packaging/liftoff.service", unit)

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit is not verified here")
	}
	// verify wants ExecStart's program to exist: the test's own binary
	// stands in for /usr/local/bin/liftoff.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyUnit := filepath.Join(dir, "liftoff.service")
	if err := os.WriteFile(copyUnit, []byte(strings.ReplaceAll(unit, "/usr/local/bin/liftoff", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copyUnit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
