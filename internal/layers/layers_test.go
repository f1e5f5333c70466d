package layers

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/liftoffhq/liftoff/"

// layers lists the module's packages from the bottom up. A package imports
// only packages of lower layers: never one of its own layer, never one
// above. So the HTTP layer calls the use cases and never the other way,
// hook and GitHub dispatch cannot reach the engine, and the store knows
// nothing of the use cases that call it.
var layers = [][]string{
	// Leaves: nothing of ours. watch is a pure decision; config the
	// model of liftoff.json; gitsource the git binary; container the
	// podman or docker binary; staticsite the static sites' handler.
	{"client", "clientaddr", "config", "confine", "container", "examples", "fail", "github", "examples/monorepo/api", "gitsource", "gittest",
		"https", "keylimit", "layers", "lifecycle", "metrics", "testclock", "procgroup", "resources/resourcestest", "secretbox", "staticsite", "store/pgnote", "token", "watch"},
	// The vocabulary and the small helpers over the leaves; imagepack
	// packs built services into images in a registry;
	// kubetest starts its control plane's processes with procgroup.
	{"liftoff", "prfilter", "redact", "repoaccess", "sandbox", "container/containertest", "imagepack", "kubetest"},
	// The persistence seam, the shell-step runner, and the API's views of
	// the records (what the API and the notifications both send).
	{"store", "steps", "sandbox/sandboxtest", "view"},
	// One SQL implementation; the release seam; certmagic's storage on
	// the store.
	{"store/sqlstore", "target", "certstore"},
	// The two dialects; the local runtime; the Kubernetes target; the
	// managed databases and Redis users on the operator's servers.
	{"store/sqlite", "store/postgres", "target/local", "target/kube", "resources"},
	// The use cases every replica runs, and the store's conformance suite.
	{"deployment", "job", "project", "apikey", "logstream", "store/storetest", "variables", "supervision", "protect", "notify"},
	// What starts deployments (hook calls, GitHub events) and what runs
	// them (the engine): peers, so neither imports the other. The
	// dashboard's users, whose roles are apikey's scopes.
	{"hook", "github/dispatch", "github/report", "github/report/reporttest", "engine", "user"},
	// The demo project, made through the use cases.
	{"demo"},
	// HTTP: the API and the dashboard, peers.
	{"api", "dashboard"},
	// The wiring.
	{"server"},
	// The binary, and the tests that drive it.
	{"cmd/liftoff", "e2e", "bench", "packaging"},
}

// forbidden are imports no package of a layer may have, whatever its
// rank: the store knows no HTTP, git or processes.
var forbidden = map[string][]string{
	"store":          {"net/http", "os/exec", module + "internal/gitsource"},
	"store/sqlstore": {"net/http", "os/exec", module + "internal/gitsource"},
	"store/sqlite":   {"net/http", "os/exec", module + "internal/gitsource"},
	"store/postgres": {"net/http", "os/exec", module + "internal/gitsource"},
	"liftoff":        {"net/http", "os/exec", "database/sql"},
	"watch":          {"os/exec", "net/http"},
}

// short names a package of the module as the table does.
func short(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, module)
	if !ok {
		return "", false
	}
	return strings.TrimPrefix(rest, "internal/"), true
}

func TestImportsPointDown(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command in PATH: the import rules need `go list`")
	}
	rank := map[string]int{}
	for i, layer := range layers {
		for _, p := range layer {
			if _, dup := rank[p]; dup {
				t.Fatalf("%s is in two layers", p)
			}
			rank[p] = i
		}
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		pkg, _ := short(fields[0])
		r, known := rank[pkg]
		if !known {
			t.Errorf("package %s is in no layer: add it to the table in internal/layers and to docs/architecture.md", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if slices.Contains(forbidden[pkg], imp) {
				t.Errorf("%s imports %s, which it must not", pkg, imp)
			}
			dep, ours := short(imp)
			if !ours {
				continue
			}
			if d, known := rank[dep]; known && d >= r {
				t.Errorf("%s (layer %d) imports %s (layer %d): a package imports only lower layers", pkg, r, dep, d)
			}
		}
	}
}
